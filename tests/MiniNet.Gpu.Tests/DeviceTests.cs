// Device selection, memory round trips and the errors a user sees.
using System.Runtime.CompilerServices;
using MiniNet.Gpu;

namespace MiniNet.Gpu.Tests;

public class DeviceTests
{
    [Fact]
    public void Available_lists_cpu_first_and_the_ilgpu_cpu_accelerator()
    {
        var names = Device.Available();
        Assert.Equal("cpu", names[0]);
        Assert.Contains("ilgpu-cpu", names);
    }

    [Fact]
    public void Get_returns_one_device_object_per_name()
    {
        Assert.Same(Device.Cpu, Device.Get("cpu"));
        Assert.Same(Device.IlgpuCpu(), Device.Get("ilgpu-cpu"));
        Assert.Same(Device.Get("ILGPU-CPU"), Device.IlgpuCpu());
        Assert.IsType<IlgpuBackend>(Device.IlgpuCpu().Backend);
    }

    [Fact]
    public void Best_picks_a_gpu_before_the_cpu_accelerator()
    {
        var best = Device.Best();
        var names = Device.Available();
        string expected = names.FirstOrDefault(n => n.StartsWith("cuda", StringComparison.Ordinal))
            ?? names.FirstOrDefault(n => n.StartsWith("opencl", StringComparison.Ordinal))
            ?? "ilgpu-cpu";
        Assert.Equal(expected, best.Name);
    }

    [Fact]
    public void Asking_for_an_absent_device_lists_what_is_there()
    {
        int cudaCount = Device.Available().Count(n => n.StartsWith("cuda", StringComparison.Ordinal));
        var e = Assert.Throws<InvalidOperationException>(() => Device.Cuda(cudaCount));
        Assert.Contains($"cuda:{cudaCount}", e.Message, StringComparison.Ordinal);
        Assert.Contains("Available: cpu", e.Message, StringComparison.Ordinal);
        Assert.Contains("ilgpu-cpu", e.Message, StringComparison.Ordinal);
        int clCount = Device.Available().Count(n => n.StartsWith("opencl", StringComparison.Ordinal));
        var cl = Assert.Throws<InvalidOperationException>(() => Device.Get($"opencl:{clCount}"));
        Assert.Contains("OpenCL", cl.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void Unknown_names_are_refused_with_the_accepted_ones(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => Device.Get(name));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Values_round_trip_through_the_device(string name)
    {
        var device = TestDevices.Get(name);
        var data = Enumerable.Range(0, 1001).Select(i => i * 0.5f - 7).ToArray();
        var t = Tensor.FromArray(data, 7, 11, 13).To(device);
        Assert.Equal(device, t.Device);
        Assert.Equal([7, 11, 13], t.Shape);
        Assert.Equal(data, t.ToArray());
        Assert.Equal(data, t.To(Device.Cpu).ToArray());
        Assert.Equal(3.5f, Tensor.Scalar(3.5f).To(device).Item());
        Assert.Empty(Tensor.Zeros(0, 3).To(device).ToArray());
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Allocations_are_zeroed_even_when_a_buffer_is_reused(string name)
    {
        var device = TestDevices.Get(name);
        for (int round = 0; round < 3; round++)
        {
            var dirty = Tensor.FromArray(Enumerable.Repeat(5f, 333).ToArray(), 333).To(device);
            Assert.Equal(5f, dirty.ToArray()[100]);
            dirty = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var clean = Tensor.ZerosLike(Tensor.Zeros(333).To(device));
            Assert.All(clean.ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Mixing_devices_names_the_op_and_both_devices(string name)
    {
        var device = TestDevices.Get(name);
        var a = Tensor.Ones(3).To(device);
        var b = Tensor.Ones(3);
        var e = Assert.Throws<InvalidOperationException>(() => a + b);
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.Contains("cpu", e.Message, StringComparison.Ordinal);
        Assert.Contains("Add", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Gradients_flow_back_across_To(string name)
    {
        var device = TestDevices.Get(name);
        var x = Tensor.FromArray([1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        var y = x.To(device) * 2f;
        y.Sum().Backward();
        Assert.Equal(Device.Cpu, x.Grad!.Device);
        Assert.Equal([2f, 2f, 2f], x.Grad.ToArray());
    }
}

// Alone: BytesAllocated counts the whole device, which tests running beside this one also allocate on.
[CollectionDefinition(nameof(BackendLifetimeTests), DisableParallelization = true)]
public sealed class BackendLifetimeGroup;

[Collection(nameof(BackendLifetimeTests))]
public class BackendLifetimeTests
{
    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void A_failing_launch_names_its_kernel_and_device(string name)
    {
        var backend = (IlgpuBackend)TestDevices.Get(name).Backend;
        var e = Assert.Throws<GpuKernelException>(() => backend.Run("SomeKernel", () => throw new InvalidOperationException("the accelerator said no")));
        Assert.Equal("SomeKernel", e.Kernel);
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.Contains("the accelerator said no", e.Message, StringComparison.Ordinal);
        // the backend still works afterwards
        Assert.Equal([1f, 2f], Tensor.FromArray([1f, 2f], 2).To(TestDevices.Get(name)).ToArray());
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Buffers_of_collected_tensors_are_reused_then_freed_by_EmptyCache(string name)
    {
        var device = TestDevices.Get(name);
        var backend = (IlgpuBackend)device.Backend;
        const int Length = 123_457;   // a length no other test uses
        // Five tensors alive at once, made on the device (no CPU allocation decides when collections
        // run): the first churn leaves five buffers in the pool whatever the GC did meanwhile, and the
        // second needs no more than those five.
        [MethodImpl(MethodImplOptions.NoInlining)]
        static void Churn(Device d)
        {
            var alive = new Tensor[5];
            for (int i = 0; i < alive.Length; i++) alive[i] = Tensor.Full(0f, d, Length);
            foreach (var t in alive) Assert.Equal(0f, t.ToArray()[^1]);
        }
        Churn(device);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = backend.BytesAllocated;
        Churn(device);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(backend.BytesAllocated <= before, $"the pool grew from {before} to {backend.BytesAllocated} bytes: freed buffers were not reused");
        backend.EmptyCache();
        Assert.True(backend.BytesAllocated < before, "EmptyCache freed nothing");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Disposed_tensors_return_their_buffer_at_once_and_refuse_to_be_read(string name)
    {
        var device = TestDevices.Get(name);
        var backend = (IlgpuBackend)device.Backend;
        var x = Tensor.Full(2f, device, 12_345);
        var view = x.Reshape(5, 2469);
        x.Dispose();
        Assert.Equal(2f, view.ToArray()[12_344]);  // the view still holds the buffer
        view.Dispose();
        Assert.True(x.Storage.IsReleased);
        Assert.Throws<ObjectDisposedException>(() => _ = ((IlgpuStorage)x.Storage).View);
        long held = backend.BytesAllocated;
        for (int i = 0; i < 50; i++)
        {
            using var y = Tensor.Full(1f, device, 12_345);  // reuses the disposed buffer, no collection needed
        }
        Assert.Equal(held, backend.BytesAllocated);
    }
}
