// Devices served by ILGPU, and their lifetime.
//
// One ILGPU Context per process, made on first use with CUDA, OpenCL and CPU accelerators enabled.
// Each device gets one accelerator, one IlgpuBackend and one Device object, made on first use and
// kept until the process exits (Devices compare by reference, so there must be exactly one each).
// Names, as torch.device: "cpu" (MiniNet's plain CPU backend), "cuda" / "cuda:N", "opencl" /
// "opencl:N", "ilgpu-cpu" (ILGPU's CPU accelerator: the GPU kernels run on the CPU, for tests and
// machines without a GPU), and "best": CUDA, then OpenCL, then ILGPU's CPU accelerator, then cpu.
//
// The static members below extend MiniNet.Device (C# 14 extension members), so user code writes
// Device.Best(), Device.Cuda(), Device.Get("opencl:1") with a reference to MiniNet.Gpu and no
// ILGPU type in sight; MiniNet.Core itself never references ILGPU.
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using MiniNet.Gpu;

namespace MiniNet;

/// <summary>ILGPU's devices as MiniNet devices: <c>Device.Best()</c>, <c>Device.Cuda()</c>, <c>Device.Get("cuda:0")</c>.</summary>
public static class GpuDevices
{
    static readonly Lock Gate = new();
    static readonly Dictionary<string, Device> Made = [];
    static Context? _context;
    static Exception? _contextError;

    /// <summary>The names accepted by <c>Device.Get</c> besides indexed forms: cpu, cuda, opencl, ilgpu-cpu, best.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["cpu", "cuda", "opencl", "ilgpu-cpu", "best"];

    extension(Device)
    {
        /// <summary>The fastest device present: CUDA, then OpenCL, then ILGPU's CPU accelerator, then the plain CPU backend.</summary>
        public static Device Best()
        {
            var context = TryContext();
            if (context is null) return Device.Cpu;
            foreach (var (kind, count) in new[] { ("cuda", CudaDevices(context).Count), ("opencl", UsableOpenCL(context).Count) })
            {
                for (int i = 0; i < count; i++)
                {
                    try { return Open(kind, i); }
                    catch (InvalidOperationException) { }   // a device that fails to start: try the next
                }
            }
            try { return Open("ilgpu-cpu", 0); }
            catch (InvalidOperationException) { return Device.Cpu; }
        }

        /// <summary>CUDA device <paramref name="index"/> (as <c>torch.device("cuda:N")</c>); a clear error listing what is present when there is none.</summary>
        public static Device Cuda(int index = 0) => Open("cuda", index);

        /// <summary>OpenCL device <paramref name="index"/> among those ILGPU can use.</summary>
        public static Device OpenCL(int index = 0) => Open("opencl", index);

        /// <summary>ILGPU's CPU accelerator: the GPU kernels, run on the CPU's threads.</summary>
        public static Device IlgpuCpu() => Open("ilgpu-cpu", 0);

        /// <summary>A device by name: cpu, cuda, cuda:N, opencl, opencl:N, ilgpu-cpu or best.</summary>
        public static Device Get(string name) => Parse(name);

        /// <summary>The devices present on this machine, by name (cpu first).</summary>
        public static IReadOnlyList<string> Available() => ListAvailable();
    }

    static Device Parse(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        string n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return Device.Cpu;
        if (n == "best") return Device.Best();
        if (n == "ilgpu-cpu") return Open("ilgpu-cpu", 0);
        string kind = n;
        int index = 0;
        int colon = n.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            kind = n[..colon];
            if (!int.TryParse(n.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index))
                throw new ArgumentException($"Device.Get: '{name}' has no device index after ':' (expected e.g. cuda:0).", nameof(name));
        }
        if (kind is "cuda" or "opencl") return Open(kind, index);
        throw new ArgumentException($"Device.Get: unknown device '{name}'; expected one of {string.Join(", ", Kinds)} (or cuda:N, opencl:N). Present here: {string.Join(", ", ListAvailable())}.", nameof(name));
    }

    static Context? TryContext()
    {
        lock (Gate)
        {
            if (_context is not null || _contextError is not null) return _context;
            try
            {
                _context = Context.Create(b => b.Default().EnableAlgorithms().Optimize(OptimizationLevel.O1));
                AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _contextError = e;
            }
            return _context;
        }
    }

    static Context RequireContext() => TryContext() ?? throw new InvalidOperationException(
        $"ILGPU could not start on this machine ({_contextError?.Message}); only the 'cpu' device is available.", _contextError);

    static List<CudaDevice> CudaDevices(Context context)
    {
        var list = new List<CudaDevice>();
        foreach (var d in context.GetCudaDevices()) list.Add(d);
        return list;
    }

    // OpenCL devices ILGPU can compile for (PoCL, for one, lacks the generic address space ILGPU needs).
    static List<CLDevice> UsableOpenCL(Context context)
    {
        var list = new List<CLDevice>();
        foreach (var d in context.GetCLDevices())
        {
            if (d.Capabilities.GenericAddressSpace) list.Add(d);
        }
        return list;
    }

    static CPUDevice? FirstCpu(Context context)
    {
        foreach (var d in context.GetCPUDevices()) return d;
        return null;
    }

    static List<string> ListAvailable()
    {
        var names = new List<string> { "cpu" };
        var context = TryContext();
        if (context is null) return names;
        names.AddRange(CudaDevices(context).Select((_, i) => $"cuda:{i}"));
        names.AddRange(UsableOpenCL(context).Select((_, i) => $"opencl:{i}"));
        names.Add("ilgpu-cpu");
        return names;
    }

    // The one Device for (kind, index), made on first use.
    static Device Open(string kind, int index)
    {
        var context = RequireContext();
        string name = kind == "ilgpu-cpu" ? kind : $"{kind}:{index}";
        lock (Gate)
        {
            if (Made.TryGetValue(name, out var made)) return made;
            ILGPU.Runtime.Device? found = kind switch
            {
                "cuda" => index >= 0 && index < CudaDevices(context).Count ? CudaDevices(context)[index] : null,
                "opencl" => index >= 0 && index < UsableOpenCL(context).Count ? UsableOpenCL(context)[index] : null,
                _ => FirstCpu(context),
            };
            if (found is null)
            {
                string what = kind == "cuda" ? "CUDA" : kind == "opencl" ? "OpenCL (usable by ILGPU)" : "ILGPU CPU";
                throw new InvalidOperationException($"Device '{name}': no such {what} device on this machine. Available: {string.Join(", ", ListAvailable())}.");
            }
            Accelerator accelerator;
            try
            {
                accelerator = found.CreateAccelerator(context);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException($"Device '{name}' ({found.Name}) failed to start: {e.Message}. Available: {string.Join(", ", ListAvailable())}.", e);
            }
            var backend = new IlgpuBackend(accelerator, name);
            var device = new Device(name, backend);
            backend.Attach(device);
            Made[name] = device;
            return device;
        }
    }

    // Frees every device at exit (buffers first, then accelerators, then the context).
    static void Shutdown()
    {
        lock (Gate)
        {
            foreach (var device in Made.Values)
            {
                var backend = (IlgpuBackend)device.Backend;
                try
                {
                    backend.Dispose();
                    backend.Accelerator.Dispose();
                }
                catch (Exception e) when (e is not OutOfMemoryException) { }   // the process is ending
            }
            Made.Clear();
            _context?.Dispose();
            _context = null;
        }
    }
}
