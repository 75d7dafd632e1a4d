// Conv2d on every ILGPU device against the CPU backend: through Functional.Conv2d and the Conv2d layer
// (forward and every gradient), and through the seam for what the API does not reach (null outputs,
// overwritten gradients, several batch chunks, no images, errors, bit-for-bit repeats).
using MiniNet.Backends;
using MiniNet.Gpu;

namespace MiniNet.Gpu.Tests;

public class ConvTests
{
    // n, cIn, h, w, cOut, k, stride, padding, bias: odd sizes, stride 2, padding 0/1/2, kernel 1/3/5,
    // and one with more output channels than a CPU-accelerator GEMM tile.
    public static TheoryData<string, int, int, int, int, int, int, int, int, bool> Cases()
    {
        var data = new TheoryData<string, int, int, int, int, int, int, int, int, bool>();
        (int, int, int, int, int, int, int, int, bool)[] shapes =
        [
            (2, 3, 7, 6, 4, 3, 1, 1, true),
            (3, 2, 9, 8, 5, 3, 2, 0, false),
            (1, 1, 5, 5, 2, 5, 1, 2, true),
            (2, 3, 6, 7, 3, 1, 1, 0, true),
            (2, 2, 7, 5, 3, 1, 2, 1, false),
            (2, 2, 7, 7, 3, 5, 2, 2, true),
            (1, 2, 4, 5, 17, 3, 2, 1, true),
        ];
        foreach (var name in TestDevices.Names)
        {
            foreach (var (n, cIn, h, w, cOut, k, stride, padding, bias) in shapes)
                data.Add((string)((ITheoryDataRow)name).GetData()[0]!, n, cIn, h, w, cOut, k, stride, padding, bias);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Functional_conv2d_matches_the_cpu_with_all_gradients(string name, int n, int cIn, int h, int w, int cOut, int k, int stride, int padding, bool bias)
    {
        var x = Parity.Randn(1, true, n, cIn, h, w);
        var weight = Parity.Randn(2, true, cOut, cIn, k, k);
        if (bias)
            Parity.Check(name, t => Functional.Conv2d(t[0], t[1], t[2], stride, padding), [x, weight, Parity.Randn(3, true, cOut)]);
        else
            Parity.Check(name, t => Functional.Conv2d(t[0], t[1], null, stride, padding), [x, weight]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void The_conv2d_layer_matches_the_cpu_after_moving(string name)
    {
        var device = TestDevices.Get(name);
        var cpu = new Layers.Conv2d(3, 4, 3, stride: 2, padding: 1, generator: new Generator(5));
        var moved = new Layers.Conv2d(3, 4, 3, stride: 2, padding: 1, generator: new Generator(5));
        moved.To(device);
        var x = Parity.Randn(6, false, 2, 3, 9, 7);
        var yCpu = cpu.Forward(x);
        var yGpu = moved.Forward(x.To(device));
        Parity.AssertClose(yCpu.ToArray(), yGpu.ToArray(), 1e-4f, "output");
        var g = Parity.Randn(7, false, yCpu.Shape);
        yCpu.Backward(g);
        yGpu.Backward(g.To(device));
        Parity.AssertClose(cpu.Weight.Grad!.ToArray(), moved.Weight.Grad!.ToArray(), 1e-4f, "weight gradient");
        Parity.AssertClose(cpu.Bias!.Grad!.ToArray(), moved.Bias!.Grad!.ToArray(), 1e-4f, "bias gradient");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Backward_computes_only_the_requested_gradients_and_overwrites_them(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        const int n = 2, cIn = 3, h = 6, w = 5, cOut = 4, k = 3, stride = 2, padding = 1;
        var (dy, x, weight) = Inputs(n, cIn, h, w, cOut, k, stride, padding);
        var expected = Backward(Device.Cpu.Backend, dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, true, true, true);
        foreach (bool wantDx in new[] { false, true })
        {
            foreach (bool wantDWeight in new[] { false, true })
            {
                foreach (bool wantDBias in new[] { false, true })
                {
                    var actual = Backward(backend, dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, wantDx, wantDWeight, wantDBias);
                    string what = $"dx={wantDx} dWeight={wantDWeight} dBias={wantDBias}";
                    if (wantDx) Parity.AssertClose(expected.Dx!, actual.Dx!, 1e-4f, $"dx ({what})");
                    else Assert.Null(actual.Dx);
                    if (wantDWeight) Parity.AssertClose(expected.DWeight!, actual.DWeight!, 1e-4f, $"dWeight ({what})");
                    else Assert.Null(actual.DWeight);
                    if (wantDBias) Parity.AssertClose(expected.DBias!, actual.DBias!, 1e-4f, $"dBias ({what})");
                    else Assert.Null(actual.DBias);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Several_batch_chunks_give_the_one_chunk_result(string name)
    {
        var backend = (IlgpuBackend)TestDevices.Get(name).Backend;
        const int n = 5, cIn = 2, h = 5, w = 6, cOut = 3, k = 3, stride = 1, padding = 1;
        var (dy, x, weight) = Inputs(n, cIn, h, w, cOut, k, stride, padding);
        var bias = Values(new Random(4), cOut);
        int perImage = ((2 * cIn * k * k) + cOut) * h * w;   // scratch floats of one image
        foreach (long scratch in new[] { 1L << 24, 2L * perImage, 1 })
        {
            var y = backend.Allocate(n * cOut * h * w);
            backend.Conv2dForward(backend.FromHost(x), backend.FromHost(weight), backend.FromHost(bias), n, cIn, h, w, cOut, k, stride, padding, y, scratch);
            var yExpected = Device.Cpu.Backend.Allocate(n * cOut * h * w);
            Device.Cpu.Backend.Conv2dForward(Device.Cpu.Backend.FromHost(x), Device.Cpu.Backend.FromHost(weight), Device.Cpu.Backend.FromHost(bias), n, cIn, h, w, cOut, k, stride, padding, yExpected);
            Parity.AssertClose(Host(Device.Cpu.Backend, yExpected), Host(backend, y), 1e-4f, $"y with {scratch} scratch floats");

            var dx = backend.Allocate(x.Length);
            var dWeight = backend.Allocate(weight.Length);
            backend.Conv2dBackward(backend.FromHost(dy), backend.FromHost(x), backend.FromHost(weight), n, cIn, h, w, cOut, k, stride, padding, dx, dWeight, null, scratch);
            var expected = Backward(Device.Cpu.Backend, dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, true, true, false);
            Parity.AssertClose(expected.Dx!, Host(backend, dx), 1e-4f, $"dx with {scratch} scratch floats");
            Parity.AssertClose(expected.DWeight!, Host(backend, dWeight), 1e-4f, $"dWeight with {scratch} scratch floats");
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Backward_repeats_to_the_bit(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        const int n = 3, cIn = 2, h = 7, w = 7, cOut = 5, k = 3, stride = 2, padding = 1;
        var (dy, x, weight) = Inputs(n, cIn, h, w, cOut, k, stride, padding);
        var first = Backward(backend, dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, true, true, true);
        var second = Backward(backend, dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, true, true, true);
        Assert.Equal(first.Dx, second.Dx);
        Assert.Equal(first.DWeight, second.DWeight);
        Assert.Equal(first.DBias, second.DBias);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void No_images_give_zero_parameter_gradients(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var weight = backend.FromHost(Values(new Random(1), 2 * 3 * 3 * 3));
        var empty = backend.FromHost(Array.Empty<float>());
        backend.Conv2dForward(empty, weight, null, 0, 3, 5, 5, 2, 3, 1, 1, empty);
        var dWeight = backend.FromHost(Enumerable.Repeat(float.NaN, weight.Length).ToArray());
        var dBias = backend.FromHost([float.NaN, float.NaN]);
        backend.Conv2dBackward(empty, empty, weight, 0, 3, 5, 5, 2, 3, 1, 1, null, dWeight, dBias);
        Assert.All(Host(backend, dWeight), v => Assert.Equal(0f, v));
        Assert.All(Host(backend, dBias), v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void No_input_channels_give_the_bias_and_a_zero_dx(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var empty = backend.FromHost(Array.Empty<float>());
        var y = backend.FromHost(Enumerable.Repeat(float.NaN, 2 * 3 * 4 * 4).ToArray());
        backend.Conv2dForward(empty, empty, backend.FromHost([1f, -2f, 3f]), 2, 0, 4, 4, 3, 3, 1, 1, y);
        Assert.Equal(Enumerable.Range(0, 2).SelectMany(_ => new[] { 1f, -2f, 3f }.SelectMany(b => Enumerable.Repeat(b, 16))), Host(backend, y));
        var dBias = backend.Allocate(3);
        backend.Conv2dBackward(backend.FromHost(Enumerable.Repeat(0.5f, 2 * 3 * 4 * 4).ToArray()), empty, empty, 2, 0, 4, 4, 3, 3, 1, 1, null, null, dBias);
        Assert.Equal([16f, 16f, 16f], Host(backend, dBias));
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Wrong_buffer_sizes_are_refused_with_the_expected_size(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var x = backend.Allocate(2 * 3 * 5 * 5);
        var y = backend.Allocate(2 * 4 * 3 * 3);
        var e = Assert.Throws<ArgumentException>(() => backend.Conv2dForward(x, backend.Allocate(4 * 3 * 3 * 2), null, 2, 3, 5, 5, 4, 3, 1, 0, y));
        Assert.Contains("Conv2d forward: weight has 72 elements, expected cOut·cIn·k·k = 4·3·3·3 = 108", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => backend.Conv2dBackward(y, x, backend.Allocate(108), 2, 3, 5, 5, 4, 3, 1, 0, null, null, backend.Allocate(3)));
        Assert.Contains("dBias has 3 elements", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => backend.Conv2dForward(x, backend.Allocate(4 * 3 * 7 * 7), null, 2, 3, 5, 5, 4, 7, 1, 0, y));
    }

    static (float[] Dy, float[] X, float[] Weight) Inputs(int n, int cIn, int h, int w, int cOut, int k, int stride, int padding)
    {
        int outH = ((h + (2 * padding) - k) / stride) + 1, outW = ((w + (2 * padding) - k) / stride) + 1;
        var random = new Random(n + (10 * cIn) + (100 * k));
        return (Values(random, n * cOut * outH * outW), Values(random, n * cIn * h * w), Values(random, cOut * cIn * k * k));
    }

    // Runs the seam backward with the chosen outputs, each pre-filled with NaN (they must be overwritten).
    static (float[]? Dx, float[]? DWeight, float[]? DBias) Backward(Backend backend, float[] dy, float[] x, float[] weight, int n, int cIn, int h, int w, int cOut, int k, int stride, int padding, bool wantDx, bool wantDWeight, bool wantDBias)
    {
        Storage? Garbage(bool want, int length) => want ? backend.FromHost(Enumerable.Repeat(float.NaN, length).ToArray()) : null;
        var dx = Garbage(wantDx, x.Length);
        var dWeight = Garbage(wantDWeight, weight.Length);
        var dBias = Garbage(wantDBias, cOut);
        backend.Conv2dBackward(backend.FromHost(dy), backend.FromHost(x), backend.FromHost(weight), n, cIn, h, w, cOut, k, stride, padding, dx, dWeight, dBias);
        return (dx is null ? null : Host(backend, dx), dWeight is null ? null : Host(backend, dWeight), dBias is null ? null : Host(backend, dBias));
    }

    static float[] Host(Backend backend, Storage s)
    {
        var data = new float[s.Length];
        backend.ToHost(s, data);
        return data;
    }

    static float[] Values(Random random, int length) => [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1))];
}
