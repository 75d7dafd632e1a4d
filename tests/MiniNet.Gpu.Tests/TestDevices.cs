// The devices every GPU test body runs on: ILGPU's CPU accelerator always (CI has no GPU), and each
// CUDA and OpenCL device ILGPU finds. MININET_GPU_TEST_DEVICES (comma-separated names, e.g.
// "cuda:0") replaces the list, to run the suite on one device.
namespace MiniNet.Gpu.Tests;

public static class TestDevices
{
    static readonly string[] Found = Discover();

    static string[] Discover()
    {
        var chosen = Environment.GetEnvironmentVariable("MININET_GPU_TEST_DEVICES");
        if (!string.IsNullOrWhiteSpace(chosen))
            return chosen.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return [.. Device.Available().Where(n => n != "cpu")];
    }

    /// <summary>Theory data: one row per device name.</summary>
    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in Found) data.Add(name);
            return data;
        }
    }

    public static Device Get(string name) => Device.Get(name);
}
