// Storage is a flat buffer owned by one backend: float32 for tensor data, int32 for indices
// (max-pool argmax, class targets). Tensors are always contiguous and row-major over their storage.
//
// Deterministic release (as PyTorch frees a tensor's block when its last reference goes): a storage
// counts its holders, every Tensor made over it (views and Detach included) and every graph node
// that saved it for backward. Tensor.Dispose and a node that has run its backward each drop one
// hold; when the last hold goes, the storage is released: its buffer returns to the backend's pool at
// once, warm, instead of waiting for a collection. A storage whose holders are never disposed is
// reclaimed by the GC as before, so Dispose is optional, never required.
// Trap: a released storage's buffer may already belong to another tensor, so reading or writing it
// throws ObjectDisposedException (through ThrowIfReleased in each backend's accessor) rather than
// touching someone else's data.
namespace MiniNet;

/// <summary>A flat buffer of <see cref="Length"/> elements living on <see cref="Device"/>.</summary>
public abstract class Storage
{
    static long s_lastSerial;
    int _holds;
    int _released;

    /// <summary>Creation order: each storage made later has a larger serial (for autograd's ownership check).</summary>
    internal long Serial { get; } = Interlocked.Increment(ref s_lastSerial);

    /// <summary>The serial of the storage made most recently.</summary>
    internal static long LastSerial => Volatile.Read(ref s_lastSerial);

    /// <summary>Number of elements.</summary>
    public abstract int Length { get; }

    /// <summary>The device whose backend owns this buffer.</summary>
    public abstract Device Device { get; }

    /// <summary>Whether the last holder let go (<see cref="Tensor.Dispose"/>): the buffer is back in its pool and may not be used.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    internal void Hold() => Interlocked.Increment(ref _holds);

    // Drops one hold; the last one releases the buffer.
    internal void Drop()
    {
        if (Interlocked.Decrement(ref _holds) == 0 && Interlocked.Exchange(ref _released, 1) == 0) OnRelease();
    }

    /// <summary>Hands the buffer back to the backend's pool; called once, when the last holder lets go.</summary>
    protected virtual void OnRelease() { }

    /// <summary>Throws if the buffer was released: backends call this before touching it.</summary>
    protected void ThrowIfReleased()
    {
        if (Volatile.Read(ref _released) != 0)
            throw new ObjectDisposedException(GetType().Name, $"This tensor's storage ({Length} elements on {Device}) was released by Dispose(); it may not be read or written.");
    }
}
