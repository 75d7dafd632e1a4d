// A device names where a tensor's storage lives and which backend runs its ops.
// Devices are compared by reference: one Device object per accelerator.
namespace MiniNet;

/// <summary>Where a tensor lives (as <c>torch.device</c>): the plain CPU backend, or a backend such as ILGPU's.</summary>
public sealed class Device
{
    /// <summary>The plain CPU backend: managed arrays and vectorised kernels.</summary>
    public static Device Cpu { get; } = new("cpu", Backends.CpuBackend.Instance);

    /// <summary>Creates a device served by <paramref name="backend"/> (used by backends such as MiniNet.Gpu).</summary>
    public Device(string name, Backend backend)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(backend);
        Name = name;
        Backend = backend;
    }

    /// <summary>The device's name, e.g. "cpu" or "cuda:0".</summary>
    public string Name { get; }

    /// <summary>The backend that owns this device's memory and runs its kernels.</summary>
    public Backend Backend { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
