// The ILGPU backend: MiniNet's kernel seam (MiniNet.Backend) implemented over one ILGPU accelerator,
// CUDA, OpenCL or ILGPU's CPU accelerator, from one kernel source.
//
// This file holds memory (allocation through the pool, host copies, fill) and the launch discipline
// every partial file follows:
// - Kernels are static methods in MiniNet.Gpu.Kernels (value-type arguments only, bounds check first).
//   Each is loaded once per backend, i.e. per accelerator, into a cached delegate field.
// - Every operation runs under the backend's lock, with the accelerator bound to the calling thread,
//   through Run(kernelName, ...). All work goes to the accelerator's default stream, in order, so
//   nothing waits for the device except copies to the host (ToHost, ArgMaxRows) and FromHost.
// - Group sizes come from the accelerator (GroupSize: the largest power of two ≤ its
//   MaxNumThreadsPerGroup and ≤ MaxGroupSize), never from a constant only a GPU allows: ILGPU's CPU
//   accelerator allows 16 threads per group.
// - Failures name the kernel: a launch that throws is rethrown as a GpuKernelException naming it; a
//   fault that surfaces later, at the next copy to the host, names the last kernel launched (set
//   MININET_GPU_SYNC=1 to synchronise after every kernel and pin a fault to its kernel).
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace MiniNet.Gpu;

/// <summary>An ILGPU kernel (or a copy around it) failed on a device.</summary>
public sealed class GpuKernelException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GpuKernelException() { }
    /// <summary>Creates the exception with a message.</summary>
    public GpuKernelException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and its cause.</summary>
    public GpuKernelException(string message, Exception innerException) : base(message, innerException) { }

    internal GpuKernelException(string kernel, string device, Exception innerException)
        : base($"{device}: kernel '{kernel}' failed: {innerException.Message}", innerException) => Kernel = kernel;

    /// <summary>The kernel that failed (or the last one launched before the failure surfaced).</summary>
    public string? Kernel { get; }
}

/// <summary>MiniNet's backend on one ILGPU accelerator.</summary>
public sealed partial class IlgpuBackend : Backend, IDisposable
{
    /// <summary>The largest group any kernel uses; shared-memory kernels size their arrays by it.</summary>
    public const int MaxGroupSize = 256;

    readonly Lock _gate = new();
    readonly BufferPool<float> _floats;
    readonly BufferPool<int> _ints;
    readonly bool _syncEachKernel = Environment.GetEnvironmentVariable("MININET_GPU_SYNC") == "1";
    readonly BufferPool<float>.Lease _empty;   // behind FOrEmpty, never returned
    string _lastKernel = "(none yet)";
    Device? _device;

    internal IlgpuBackend(Accelerator accelerator, string deviceName)
    {
        Accelerator = accelerator;
        DeviceName = deviceName;
        _floats = new BufferPool<float>(accelerator, deviceName);
        _ints = new BufferPool<int>(accelerator, deviceName);
        _empty = _floats.Rent(0);
        int limit = Math.Min(accelerator.MaxNumThreadsPerGroup, MaxGroupSize);
        GroupSize = 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)limit));
    }

    /// <summary>The ILGPU accelerator this backend runs on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The name of this backend's device, e.g. "cuda:0".</summary>
    public string DeviceName { get; }

    /// <summary>The device served by this backend.</summary>
    public Device Device => _device ?? throw new InvalidOperationException($"{DeviceName}: the backend has no device yet.");

    internal void Attach(Device device) => _device = device;

    /// <summary>Threads per group for shared-memory kernels: a power of two ≤ the accelerator's limit and ≤ <see cref="MaxGroupSize"/>.</summary>
    public int GroupSize { get; }

    /// <summary>Bytes of device memory held by MiniNet's pool (in use and cached).</summary>
    public long BytesAllocated
    {
        get { lock (_gate) return _floats.BytesAllocated + _ints.BytesAllocated; }
    }

    /// <summary>Frees the cached device buffers that no tensor uses (as <c>torch.cuda.empty_cache()</c>).</summary>
    public void EmptyCache()
    {
        lock (_gate)
        {
            Accelerator.Bind();
            Accelerator.Synchronize();
            _floats.Trim();
            _ints.Trim();
        }
    }

    /// <summary>Waits for every queued kernel and copy (as <c>torch.cuda.synchronize()</c>); surfaces a failed kernel.</summary>
    public void Synchronize() => Run("Synchronize", () => SyncChecked());

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            _floats.Dispose();
            _ints.Dispose();
        }
    }

    // ---- the launch discipline ----

    // Runs one operation under the lock with the accelerator bound, naming the kernel on failure.
    internal void Run(string kernel, Action launch)
    {
        lock (_gate)
        {
            Accelerator.Bind();
            try
            {
                launch();
                _lastKernel = kernel;
                if (_syncEachKernel) Accelerator.Synchronize();
            }
            catch (Exception e) when (e is not (ArgumentException or GpuKernelException or OutOfMemoryException))
            {
                throw new GpuKernelException(kernel, DeviceName, e);
            }
        }
    }

    // Synchronises; a fault raised by earlier asynchronous work names the last kernel launched.
    void SyncChecked()
    {
        try
        {
            Accelerator.Synchronize();
        }
        catch (Exception e) when (e is not (ArgumentException or GpuKernelException))
        {
            throw new GpuKernelException(_lastKernel, DeviceName, new InvalidOperationException($"the device failed at or after this kernel: {e.Message}", e));
        }
    }

    internal static ArrayView<float> F(Storage s) => ((IlgpuStorage)s).View;
    internal static ArrayView<int> I(Storage s) => ((IlgpuIntStorage)s).View;

    // An optional buffer as a view: null becomes a valid view of length 0 (kernels test Length > 0).
    internal ArrayView<float> FOrEmpty(Storage? s) => s is null ? _empty.View : F(s);

    // A group count for `work` items at `perGroup` items each, at least 1.
    internal static int Groups(long work, int perGroup) => (int)Math.Max(1, (work + perGroup - 1) / perGroup);

    // ---- memory ----

    // Uninitialised buffers (scratch space, outputs a kernel overwrites). Call inside Run.
    internal IlgpuStorage RentFloat(int length) => new(this, _floats.Rent(length));
    internal IlgpuIntStorage RentInt(int length) => new(this, _ints.Rent(length));

    /// <inheritdoc/>
    public override Storage Allocate(int length)
    {
        IlgpuStorage s = null!;
        Run("Allocate", () =>
        {
            s = RentFloat(length);
            if (length > 0) s.View.MemSetToZero();
        });
        return s;
    }

    /// <inheritdoc/>
    public override Storage AllocateUninitialized(int length) => RentFloatLocked(length);

    /// <inheritdoc/>
    public override Storage AllocateInt(int length)
    {
        IlgpuIntStorage s = null!;
        Run("AllocateInt", () =>
        {
            s = RentInt(length);
            if (length > 0) s.View.MemSetToZero();
        });
        return s;
    }

    /// <inheritdoc/>
    public override Storage FromHost(ReadOnlySpan<float> data)
    {
        var s = RentFloatLocked(data.Length);
        if (data.Length == 0) return s;
        var copy = data.ToArray();   // a lambda cannot capture a span
        Run("FromHost", () => s.View.CopyFromCPU(ref MemoryMarshal.GetArrayDataReference(copy), copy.Length));
        return s;
    }

    /// <inheritdoc/>
    public override Storage FromHost(ReadOnlySpan<int> data)
    {
        IlgpuIntStorage s = null!;
        int length = data.Length;
        Run("AllocateInt", () => s = RentInt(length));
        if (data.Length == 0) return s;
        var copy = data.ToArray();
        Run("FromHost", () => s.View.CopyFromCPU(ref MemoryMarshal.GetArrayDataReference(copy), copy.Length));
        return s;
    }

    IlgpuStorage RentFloatLocked(int length)
    {
        IlgpuStorage s = null!;
        Run("Allocate", () => s = RentFloat(length));
        return s;
    }

    /// <inheritdoc/>
    public override void ToHost(Storage source, Span<float> destination)
    {
        var view = F(source);
        if (destination.Length != view.Length)
            throw new ArgumentException($"ToHost: the destination holds {destination.Length} elements but the buffer has {view.Length}.", nameof(destination));
        if (view.Length == 0) return;
        var host = new float[view.Length];
        Run("ToHost", () =>
        {
            SyncChecked();
            view.CopyToCPU(ref MemoryMarshal.GetArrayDataReference(host), host.Length);
        });
        host.CopyTo(destination);
    }

    // Copies an int buffer to the host (ArgMaxRows and tests).
    internal int[] ToHostInt(Storage source)
    {
        var view = I(source);
        var host = new int[view.Length];
        if (host.Length == 0) return host;
        Run("ToHost", () =>
        {
            SyncChecked();
            view.CopyToCPU(ref MemoryMarshal.GetArrayDataReference(host), host.Length);
        });
        return host;
    }

    /// <inheritdoc/>
    public override void Copy(Storage source, Storage destination)
    {
        var from = F(source);
        var to = F(destination);
        if (from.Length != to.Length)
            throw new ArgumentException($"Copy: the source has {from.Length} elements but the destination {to.Length}.", nameof(destination));
        if (from.Length == 0) return;
        Run("Copy", () => from.CopyTo(to));
    }
}
