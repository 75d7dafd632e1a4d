// Buffers behind tensors on an ILGPU device, and the pool they come from.
//
// A tensor's Storage is a small handle (IlgpuStorage / IlgpuIntStorage) over a device buffer that the
// backend's pool owns. The pool keeps every buffer it ever allocated reachable, so ILGPU's own
// finalizers never free device memory on the finalizer thread (where no CUDA context is current).
// When a handle is released (its last tensor disposed, see Storage.cs) or collected, it hands the
// buffer back to the pool through a concurrent queue; the next allocation of that exact length
// reuses it (a caching allocator, as PyTorch's CUDA one: training steps allocate the same sizes
// every step). Reuse is safe without waiting for the GPU
// because every kernel and copy of a backend runs on one stream, in order.
//
// Each live handle adds its bytes to the GC's memory pressure, so that collections (and with them the
// returns) keep pace with device memory. When an allocation fails, the pool collects, frees every
// cached buffer and tries once more before reporting the device as out of memory.
using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;

namespace MiniNet.Gpu;

/// <summary>Float storage on an ILGPU device.</summary>
public sealed class IlgpuStorage : Storage
{
    readonly BufferPool<float>.Lease _lease;

    internal IlgpuStorage(IlgpuBackend backend, BufferPool<float>.Lease lease)
    {
        Backend = backend;
        _lease = lease;
    }

    ~IlgpuStorage() => _lease.Return();

    internal IlgpuBackend Backend { get; }

    /// <summary>The elements, as an ILGPU view (kernels take it directly).</summary>
    public ArrayView<float> View
    {
        get
        {
            ThrowIfReleased();
            return _lease.View;
        }
    }

    /// <inheritdoc/>
    protected override void OnRelease() => _lease.Return();

    /// <inheritdoc/>
    public override int Length => _lease.Length;

    /// <inheritdoc/>
    public override Device Device => Backend.Device;
}

/// <summary>Int storage on an ILGPU device (max-pool indices, class targets).</summary>
public sealed class IlgpuIntStorage : Storage
{
    readonly BufferPool<int>.Lease _lease;

    internal IlgpuIntStorage(IlgpuBackend backend, BufferPool<int>.Lease lease)
    {
        Backend = backend;
        _lease = lease;
    }

    ~IlgpuIntStorage() => _lease.Return();

    internal IlgpuBackend Backend { get; }

    /// <summary>The elements, as an ILGPU view.</summary>
    public ArrayView<int> View
    {
        get
        {
            ThrowIfReleased();
            return _lease.View;
        }
    }

    /// <inheritdoc/>
    protected override void OnRelease() => _lease.Return();

    /// <inheritdoc/>
    public override int Length => _lease.Length;

    /// <inheritdoc/>
    public override Device Device => Backend.Device;
}

/// <summary>Device buffers by exact length, reused once their handle is collected.</summary>
internal sealed class BufferPool<T>(Accelerator accelerator, string deviceName) : IDisposable where T : unmanaged
{
    readonly Dictionary<long, Stack<MemoryBuffer1D<T, Stride1D.Dense>>> _free = [];
    readonly HashSet<MemoryBuffer1D<T, Stride1D.Dense>> _all = [];          // keeps every buffer reachable
    readonly ConcurrentQueue<MemoryBuffer1D<T, Stride1D.Dense>> _returned = new();
    static readonly int ElementSize = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>A buffer handed out for one storage; returned (once) by the storage's finalizer.</summary>
    internal sealed class Lease(BufferPool<T> pool, MemoryBuffer1D<T, Stride1D.Dense> buffer, int length)
    {
        int _returned;

        public int Length { get; } = length;
        public ArrayView<T> View { get; } = length == 0 ? buffer.View.SubView(0, 0) : buffer.View.SubView(0, length);

        public void Return()
        {
            if (Interlocked.Exchange(ref _returned, 1) != 0) return;
            GC.RemoveMemoryPressure(Math.Max(1L, (long)Length * ElementSize));
            pool._returned.Enqueue(buffer);
        }
    }

    /// <summary>Bytes held by the pool on the device (in use and cached).</summary>
    public long BytesAllocated { get; private set; }

    /// <summary>A buffer of exactly <paramref name="length"/> elements, contents undefined. Call under the backend's lock.</summary>
    public Lease Rent(int length)
    {
        DrainReturned();
        long size = Math.Max(1, length);   // ILGPU allocates no empty buffers; a 0-length view covers none of it
        if (!_free.TryGetValue(size, out var stack) || !stack.TryPop(out var buffer))
            buffer = Allocate(size);
        GC.AddMemoryPressure(Math.Max(1L, (long)length * ElementSize));
        return new Lease(this, buffer, length);
    }

    MemoryBuffer1D<T, Stride1D.Dense> Allocate(long size)
    {
        MemoryBuffer1D<T, Stride1D.Dense> buffer;
        try
        {
            buffer = accelerator.Allocate1D<T>(size);
        }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException or InvalidOperationException)
        {
            // Storages no longer referenced may not have been finalized yet: collect, free the cache, retry.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            DrainReturned();
            Trim();
            try
            {
                buffer = accelerator.Allocate1D<T>(size);
            }
            catch (Exception again) when (again is OutOfMemoryException or AcceleratorException or InvalidOperationException)
            {
                throw new InsufficientMemoryException(
                    $"{deviceName}: could not allocate {size * ElementSize:N0} bytes on the device ({BytesAllocated:N0} bytes held by MiniNet's pool): {again.Message}", again);
            }
        }
        _all.Add(buffer);
        BytesAllocated += size * ElementSize;
        return buffer;
    }

    void DrainReturned()
    {
        while (_returned.TryDequeue(out var buffer))
        {
            long size = buffer.Length;
            if (!_free.TryGetValue(size, out var stack)) _free[size] = stack = new Stack<MemoryBuffer1D<T, Stride1D.Dense>>();
            stack.Push(buffer);
        }
    }

    /// <summary>Frees every cached (unused) buffer. Call under the backend's lock.</summary>
    public void Trim()
    {
        DrainReturned();
        foreach (var stack in _free.Values)
        {
            foreach (var buffer in stack)
            {
                BytesAllocated -= buffer.Length * ElementSize;
                _all.Remove(buffer);
                buffer.Dispose();
            }
        }
        _free.Clear();
    }

    public void Dispose()
    {
        foreach (var buffer in _all) buffer.Dispose();
        _all.Clear();
        _free.Clear();
        BytesAllocated = 0;
    }
}
