// MaxPool2d on every ILGPU device against the CPU backend: values, argmax indices (ties, NaN, −∞) and
// gradients, with overlapping windows (stride < kernel), leftover rows and columns, and indices that
// did not come from this device's forward (the plane-by-plane backward).
using MiniNet.Backends;
using MiniNet.Gpu;

namespace MiniNet.Gpu.Tests;

public class MaxPoolTests
{
    // n, c, h, w, kernel, stride
    public static TheoryData<string, int, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<string, int, int, int, int, int, int>();
        (int, int, int, int, int, int)[] shapes =
        [
            (2, 3, 6, 6, 2, 2),
            (2, 2, 7, 9, 3, 2),
            (1, 2, 5, 8, 2, 1),
            (1, 3, 7, 7, 3, 3),
            (3, 1, 5, 5, 5, 1),
        ];
        foreach (var row in TestDevices.Names)
        {
            var name = (string)((ITheoryDataRow)row).GetData()[0]!;
            foreach (var (n, c, h, w, k, s) in shapes) data.Add(name, n, c, h, w, k, s);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Values_indices_and_gradients_match_the_cpu(string name, int n, int c, int h, int w, int k, int s)
    {
        Parity.Check(name, t => Functional.MaxPool2d(t[0], k, s), [Parity.Randn(n + h, true, n, c, h, w)]);

        // Small integers: many ties, each resolved to the first maximum; overlapping windows then share
        // a winner, whose gradient sums theirs in the CPU's order (so exactly).
        var random = new Random(h * w);
        var x = Enumerable.Range(0, n * c * h * w).Select(_ => (float)random.Next(3)).ToArray();
        var (y, indices) = Forward(Device.Cpu.Backend, x, n, c, h, w, k, s);
        var (yDevice, indicesDevice) = Forward(TestDevices.Get(name).Backend, x, n, c, h, w, k, s);
        Assert.Equal(y, yDevice);
        Assert.Equal(indices, indicesDevice);
        var input = Tensor.FromArray(x, n, c, h, w);
        input.RequiresGrad = true;
        var moved = input.To(TestDevices.Get(name)).Detach();
        moved.RequiresGrad = true;
        var g = Parity.Randn(3, false, y.Length);
        Functional.MaxPool2d(input, k, s).Backward(g.Reshape(n, c, ((h - k) / s) + 1, ((w - k) / s) + 1));
        Functional.MaxPool2d(moved, k, s).Backward(g.Reshape(n, c, ((h - k) / s) + 1, ((w - k) / s) + 1).To(TestDevices.Get(name)));
        Assert.Equal(input.Grad!.ToArray(), moved.Grad!.ToArray());
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void NaN_wins_and_the_last_NaN_is_kept_and_minus_infinity_points_at_the_first(string name)
    {
        float nan = float.NaN, inf = float.NegativeInfinity;
        float[] x =
        [
            1, nan, 2, 3,
            nan, 5, 4, inf,
            inf, inf, 0, 1,
            inf, inf, 2, 9,
        ];
        var (y, indices) = Forward(TestDevices.Get(name).Backend, x, 1, 1, 4, 4, 2, 2);
        var (yCpu, indicesCpu) = Forward(Device.Cpu.Backend, x, 1, 1, 4, 4, 2, 2);
        Assert.Equal([4, 6, 8, 15], indices);
        Assert.Equal(indicesCpu, indices);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal([4f, inf, 9f], y[1..]);
        Assert.Equal(yCpu[1..], y[1..]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Wrong_buffer_sizes_are_refused(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var x = backend.Allocate(2 * 3 * 6 * 6);
        var e = Assert.Throws<ArgumentException>(() => backend.MaxPool2dForward(x, 2, 3, 6, 6, 2, 2, backend.Allocate(2 * 3 * 9), backend.AllocateInt(2 * 3 * 8)));
        Assert.Contains("MaxPool2d forward: indices has 48 elements, expected n·c·outH·outW = 2·3·3·3 = 54", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => backend.MaxPool2dBackward(backend.Allocate(54), backend.AllocateInt(54), 2, 3, 6, 6, 2, 2, backend.Allocate(5)));
        Assert.Contains("dx has 5 elements", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => backend.MaxPool2dForward(x, 2, 3, 6, 6, 7, 1, backend.Allocate(0), backend.AllocateInt(0)));
    }

    static (float[] Y, int[] Indices) Forward(Backend backend, float[] x, int n, int c, int h, int w, int k, int s)
    {
        int count = n * c * (((h - k) / s) + 1) * (((w - k) / s) + 1);
        var y = backend.Allocate(count);
        var indices = backend.AllocateInt(count);
        backend.MaxPool2dForward(backend.FromHost(x), n, c, h, w, k, s, y, indices);
        var values = new float[count];
        backend.ToHost(y, values);
        return (values, Ints(backend, indices));
    }

    static int[] Ints(Backend backend, Storage s) => backend is IlgpuBackend ilgpu ? ilgpu.ToHostInt(s) : ((CpuIntStorage)s).Data.ToArray();
}
