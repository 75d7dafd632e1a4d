// Storage is a flat buffer owned by one backend: float32 for tensor data, int32 for indices
// (max-pool argmax, class targets). Tensors are always contiguous and row-major over their storage.
namespace MiniNet;

/// <summary>A flat buffer of <see cref="Length"/> elements living on <see cref="Device"/>.</summary>
public abstract class Storage
{
    static long s_lastSerial;

    /// <summary>Creation order: each storage made later has a larger serial (for autograd's ownership check).</summary>
    internal long Serial { get; } = Interlocked.Increment(ref s_lastSerial);

    /// <summary>The serial of the storage made most recently.</summary>
    internal static long LastSerial => Volatile.Read(ref s_lastSerial);

    /// <summary>Number of elements.</summary>
    public abstract int Length { get; }

    /// <summary>The device whose backend owns this buffer.</summary>
    public abstract Device Device { get; }
}
