// Element-wise ops on each ILGPU device against the CPU backend: broadcasting binary ops, unary ops
// (with the special values the CPU defines), in-place adds, sums over dims, permutes, argmax and the
// dropout mask (bit for bit). Values and gradients through the Tensor API (Parity.Check); the seam
// directly where the API does not reach (special values, errors, determinism).
using System.Globalization;

namespace MiniNet.Gpu.Tests;

public class ElementwiseTests
{
    // ---- helpers shared by the GPU test classes ----

    /// <summary>Theory rows: every test device crossed with every case.</summary>
    internal static TheoryData<string, string> DevicesTimes(params string[] cases)
    {
        var data = new TheoryData<string, string>();
        foreach (var row in TestDevices.Names)
        {
            foreach (var c in cases) data.Add(row.Data, c);
        }
        return data;
    }

    /// <summary>"3,1,5" → [3, 1, 5]; "" → [] (a 0-d tensor).</summary>
    internal static int[] Shape(string text) =>
        text.Length == 0 ? [] : [.. text.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];

    /// <summary>A buffer's values on the host.</summary>
    internal static float[] Read(Backend backend, Storage storage)
    {
        var values = new float[storage.Length];
        backend.ToHost(storage, values);
        return values;
    }

    /// <summary>Like Parity.AssertClose, and infinities must match exactly (|∞ − ∞| is NaN there).</summary>
    internal static void AssertSame(float[] expected, float[] actual, float tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            bool same = float.IsNaN(e) ? float.IsNaN(a) : float.IsInfinity(e) ? e == a : Math.Abs(e - a) <= tol * (1 + Math.Abs(e));
            if (!same)
                Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"{what}: element {i} is {a:G9}, expected {e:G9}."));
        }
    }

    // ---- Fill ----

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Fill_sets_every_element(string name)
    {
        var device = TestDevices.Get(name);
        foreach (int n in new[] { 0, 1, 17, 1000 })
            Assert.All(Tensor.Full(2.5f, device, n).ToArray(), v => Assert.Equal(2.5f, v));
        var t = Tensor.Zeros(3, 7).To(device).FillInPlace(-1f);
        Assert.All(t.ToArray(), v => Assert.Equal(-1f, v));
    }

    // ---- Binary ----

    public static TheoryData<string, string> BroadcastCases => DevicesTimes(
        "37|37", "3,1,5|4,1", "|2,3", "2,3|", "5,1|1,7", "2,3,4,5|3,1,5", "33,17|17", "1|40", "4,1,6|1,5,1", "2,1,3,1,2|1,4,1,5,1", "0,3|3");

    [Theory]
    [MemberData(nameof(BroadcastCases))]
    public void Arithmetic_broadcasts_as_on_the_cpu(string name, string shapes)
    {
        var parts = shapes.Split('|');
        var a = Parity.Randn(1, true, Shape(parts[0]));
        var b = Parity.Randn(2, true, Shape(parts[1]));
        var positive = Tensor.Rand(new Generator(3), Shape(parts[1])) + 0.5f;
        positive.RequiresGrad = true;
        Parity.Check(name, t => t[0] + t[1], [a, b]);
        Parity.Check(name, t => t[0] - t[1], [a, b]);
        Parity.Check(name, t => t[0] * t[1], [a, b]);
        Parity.Check(name, t => t[0] / t[1], [a, positive]);
        Parity.Check(name, t => Tensor.Maximum(t[0], t[1]), [a, b]);
        Parity.Check(name, t => Tensor.Minimum(t[0], t[1]), [a, b]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Comparisons_and_ties_split_gradients_as_on_the_cpu(string name)
    {
        // Integer values make ties (Maximum/Minimum split the gradient there through Gt and Eq).
        var a = Tensor.FromArray([.. Enumerable.Range(0, 24).Select(i => (float)(i % 3))], 4, 6);
        var b = Tensor.FromArray([.. Enumerable.Range(0, 6).Select(i => (float)(i % 2 + 1))], 6);
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        Parity.Check(name, t => t[0].Gt(t[1]), [a, b], backward: false);
        Parity.Check(name, t => t[0].Eq(t[1]), [a, b], backward: false);
        Parity.Check(name, t => Tensor.Maximum(t[0], t[1]), [a, b]);
        Parity.Check(name, t => Tensor.Minimum(t[0], t[1]), [a, b]);
        Parity.Check(name, t => (t[0] - 1f).Relu(), [a]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Binary_specials_and_in_place_aliasing_match_the_cpu(string name)
    {
        float[] u = [float.NaN, 1f, 0f, -0f, float.PositiveInfinity, -3f, 2f, float.NaN];
        float[] v = [1f, float.NaN, -0f, 0f, float.PositiveInfinity, 0f, 2f, float.NaN];
        var gpu = TestDevices.Get(name).Backend;
        var cpu = Device.Cpu.Backend;
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            var yc = cpu.Allocate(u.Length);
            cpu.Binary(op, cpu.FromHost(u), [u.Length], cpu.FromHost(v), [v.Length], yc, [u.Length]);
            var ag = gpu.FromHost(u);
            gpu.Binary(op, ag, [u.Length], gpu.FromHost(v), [v.Length], ag, [u.Length]);   // y aliases a
            AssertSame(Read(cpu, yc), Read(gpu, ag), 1e-6f, op.ToString());
        }
        // y aliases a on the broadcast path too: a [4, 3] op= b [3].
        var a43 = Tensor.Randn(new Generator(40), 4, 3).ToArray();
        var b3 = Tensor.Randn(new Generator(41), 3).ToArray();
        var expected = cpu.Allocate(12);
        cpu.Binary(BinaryOp.Sub, cpu.FromHost(a43), [4, 3], cpu.FromHost(b3), [3], expected, [4, 3]);
        var inPlace = gpu.FromHost(a43);
        gpu.Binary(BinaryOp.Sub, inPlace, [4, 3], gpu.FromHost(b3), [3], inPlace, [4, 3]);
        Assert.Equal(Read(cpu, expected), Read(gpu, inPlace));
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Binary_refuses_bad_shapes_and_too_many_dims(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var e = Assert.Throws<ArgumentException>(() => backend.Binary(BinaryOp.Add, backend.Allocate(6), [2, 3], backend.Allocate(4), [4], backend.Allocate(6), [2, 3]));
        Assert.Contains("Binary Add", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4]", e.Message, StringComparison.Ordinal);
        // Broadcast patterns that alternate in every dim cannot merge: 10 dims.
        int[] aShape = [2, 1, 2, 1, 2, 1, 2, 1, 2, 1], bShape = [1, 2, 1, 2, 1, 2, 1, 2, 1, 2], yShape = [2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
        var n = Assert.Throws<NotSupportedException>(() => backend.Binary(BinaryOp.Mul, backend.Allocate(32), aShape, backend.Allocate(32), bShape, backend.Allocate(1024), yShape));
        Assert.Contains("Binary Mul", n.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 1, 2, 1, 2, 1, 2, 1, 2, 1]", n.Message, StringComparison.Ordinal);
        Assert.Contains("10 dims", n.Message, StringComparison.Ordinal);
        // Eight alternating dims still run.
        var a8 = Tensor.Randn(new Generator(4), 3, 1, 3, 1, 3, 1, 3, 1);
        var b8 = Tensor.Randn(new Generator(5), 1, 2, 1, 2, 1, 2, 1, 2);
        Parity.Check(name, t => t[0] * t[1], [a8, b8]);
    }

    // ---- Unary ----

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Unary_ops_and_gradients_match_the_cpu(string name)
    {
        var x = Parity.Randn(6, true, 5, 37);                   // odd, more than a group
        var positive = Tensor.Rand(new Generator(7), 5, 37) + 0.1f;
        positive.RequiresGrad = true;
        Parity.Check(name, t => -t[0], [x]);
        Parity.Check(name, t => t[0].Exp(), [x]);
        Parity.Check(name, t => t[0].Log(), [positive]);
        Parity.Check(name, t => t[0].Sqrt(), [positive]);
        Parity.Check(name, t => t[0].Abs(), [x]);
        Parity.Check(name, t => t[0].Sign(), [x], backward: false);
        Parity.Check(name, t => t[0].Relu(), [x]);
        Parity.Check(name, t => t[0].Sigmoid(), [x]);
        Parity.Check(name, t => t[0].Tanh(), [x]);
        Parity.Check(name, t => t[0].Pow(2f), [x]);
        Parity.Check(name, t => t[0].Pow(3f), [x]);
        Parity.Check(name, t => t[0].Pow(0.5f), [positive]);
        Parity.Check(name, t => t[0].Pow(-1.5f), [positive]);
        Parity.Check(name, t => 1f / t[0], [positive]);
        Parity.Check(name, t => (t[0] + 2f) * 3f - 1f, [x]);
        Parity.Check(name, t => Tensor.Zeros(0, 4).To(t[0].Device).Exp(), [x], backward: false);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Unary_special_values_match_the_cpu(string name)
    {
        float[] x = [0f, -0f, 1f, -1f, 2.5f, -2.5f, 1e-8f, -1e-8f, 1e-3f, -0.05f, 0.2f, -0.7f, 10f, -10f, 50f, -50f, 100f, -100f, 1e30f, -1e30f,
            float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon];
        var gpu = TestDevices.Get(name).Backend;
        var cpu = Device.Cpu.Backend;
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            float[] scalars = op == UnaryOp.PowScalar ? [2f, 3f, -1f, -2f, 0f, 1f, 0.5f, 1.5f, -0.5f, 70f, float.NaN] : [1.5f];
            foreach (float s in scalars)
            {
                var yc = cpu.Allocate(x.Length);
                cpu.Unary(op, cpu.FromHost(x), s, yc);
                var xg = gpu.FromHost(x);
                gpu.Unary(op, xg, s, xg);                                   // y aliases x
                // 1e-5: CUDA's exp and log come from ex2/lg2.approx, whose error grows with |x·log2 e|
                // (about 3e-6 relative at x = ±50); the CPU's are within an ulp or two.
                AssertSame(Read(cpu, yc), Read(gpu, xg), 1e-5f, $"{op}({s})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Unary_edge_cases_the_cpu_defines(string name)
    {
        var device = TestDevices.Get(name);
        var x = Tensor.FromArray([0f, -0f, -2f, 3f], 4).To(device);
        Assert.Equal([0f, 0f, -1f, 1f], x.Sign().ToArray());
        Assert.Equal(float.NegativeInfinity, x.Log().ToArray()[0]);
        Assert.True(float.IsNaN(x.Log().ToArray()[2]));
        Assert.Equal([0f, 0f, 4f, 9f], x.Pow(2f).ToArray());
        Assert.Equal([1f, 1f, 1f, 1f], x.Pow(0f).ToArray());
        Assert.Equal(-8f, x.Pow(3f).ToArray()[2]);
        Assert.True(float.IsNaN(x.Pow(0.5f).ToArray()[2]));
        Assert.Equal(float.PositiveInfinity, x.Pow(-1f).ToArray()[0]);
        Assert.Equal([1f, -1f], Tensor.FromArray([1000f, -1000f], 2).To(device).Tanh().ToArray());
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void AddInPlace_adds_a_scaled_tensor(string name)
    {
        var device = TestDevices.Get(name);
        foreach (int n in new[] { 0, 1, 37, 300 })
        {
            foreach (float alpha in new[] { 1f, -0.5f })
            {
                var y = Tensor.Randn(new Generator(n), n);
                var x = Tensor.Randn(new Generator(n + 1), n);
                var yg = y.To(device);
                yg.AddInPlace(x.To(device), alpha);
                y.AddInPlace(x, alpha);
                Parity.AssertClose(y.ToArray(), yg.ToArray(), 1e-6f, $"n = {n}, alpha = {alpha}");
            }
        }
    }

    // ---- SumTo ----

    public static TheoryData<string, string> SumCases => DevicesTimes(
        "3,4,5|0", "3,4,5|1", "3,4,5|2", "3,4,5|0,1", "3,4,5|0,2", "3,4,5|1,2", "3,4,5|0,1,2",
        "2,3,4,5|0,2", "2,3,4,5|1,3", "2,3,4,5|0,1,3", "5,3,7|0,2", "100,2,50|0,2", "3000,3|0", "33,1,17|0", "0,3|0", "0,3|1");

    [Theory]
    [MemberData(nameof(SumCases))]
    public void Sum_and_Mean_over_dims_match_the_cpu(string name, string shapeAndDims)
    {
        var parts = shapeAndDims.Split('|');
        var x = Parity.Randn(8, true, Shape(parts[0]));
        var dims = Shape(parts[1]);
        Parity.Check(name, t => t[0].Sum(dims), [x]);
        Parity.Check(name, t => t[0].Sum(dims, keepDim: true), [x]);
        Parity.Check(name, t => t[0].Mean(dims, keepDim: true), [x]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Large_sums_are_right_and_repeat_to_the_bit(string name)
    {
        var device = TestDevices.Get(name);
        var bias = Parity.Randn(9, true, 64, 1000);             // the bias gradient of a [64, 1000] output
        Parity.Check(name, t => t[0].SumToShape([1000]), [bias], tol: 1e-5f);
        var big = Tensor.Randn(new Generator(10), 100_000);
        var onDevice = big.To(device);
        float sum = onDevice.Sum().Item();
        double exact = big.ToArray().Sum(v => (double)v);
        Assert.True(Math.Abs(sum - exact) < 1e-3 * (1 + Math.Abs(exact)), $"sum {sum}, exact {exact}");
        Assert.Equal(sum, onDevice.Sum().Item());
        Assert.Equal(onDevice.Mean().Item(), onDevice.Mean().Item());
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void SumTo_through_the_seam_checks_shapes_and_fills_from_empty(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var y = backend.FromHost([7f, 7f, 7f]);
        backend.SumTo(backend.Allocate(0), [0, 3], y, [1, 3]);
        Assert.Equal([0f, 0f, 0f], Read(backend, y));
        var e = Assert.Throws<ArgumentException>(() => backend.SumTo(backend.Allocate(6), [2, 3], backend.Allocate(2), [2, 1, 1]));
        Assert.Contains("SumTo", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => backend.SumTo(backend.Allocate(6), [2, 3], backend.Allocate(2), [1, 2]));
    }

    // ---- Permute ----

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Permute_and_Transpose_match_the_cpu(string name)
    {
        var x = Parity.Randn(11, true, 3, 4, 5);
        foreach (int[] perm in new[] { new[] { 0, 1, 2 }, [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0] })
            Parity.Check(name, t => t[0].Permute(perm), [x]);
        Parity.Check(name, t => t[0].Transpose(0, 1), [Parity.Randn(12, true, 17, 33)]);
        Parity.Check(name, t => t[0].T, [Parity.Randn(13, true, 1, 20)]);
        Parity.Check(name, t => t[0].Permute(4, 2, 0, 3, 1), [Parity.Randn(14, true, 2, 3, 1, 4, 2)]);
        Parity.Check(name, t => t[0].Permute(1, 0), [Parity.Randn(15, true, 0, 4)]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Permute_beyond_eight_merged_dims_is_refused_by_name(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        int[] shape = [2, 2, 2, 2, 2, 2, 2, 2, 2], reverse = [8, 7, 6, 5, 4, 3, 2, 1, 0];
        var e = Assert.Throws<NotSupportedException>(() => backend.Permute(backend.Allocate(512), shape, reverse, backend.Allocate(512)));
        Assert.Contains("Permute", e.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 7, 6, 5, 4, 3, 2, 1, 0]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => backend.Permute(backend.Allocate(6), [2, 3], [0, 0], backend.Allocate(6)));
    }

    // ---- ArgMax ----

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void ArgMax_finds_the_first_maximum_as_the_cpu(string name)
    {
        var device = TestDevices.Get(name);
        foreach (var x in new[] { Tensor.Randn(new Generator(16), 37, 21), Tensor.Randn(new Generator(17), 5, 100), Tensor.Randn(new Generator(18), 4, 1) })
            Assert.Equal(x.ArgMax(), x.To(device).ArgMax());
        float n = float.NaN, inf = float.PositiveInfinity;
        var special = Tensor.FromArray([
            1, 3, 3, 0, 3,
            n, 5, n, 1, 2,
            2, 5, 1, n, 5,
            -0f, 0, -0f, 0, -1,
            0, -0f, -1, -2, -3,
            -inf, -inf, -inf, -inf, -inf,
            1, inf, 2, inf, n], 7, 5);
        Assert.Equal(special.ArgMax(), special.To(device).ArgMax());
        Assert.Empty(Tensor.Zeros(0, 3).To(device).ArgMax());
    }

    // ---- Dropout ----

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Dropout_masks_equal_the_cpu_bit_for_bit(string name)
    {
        var device = TestDevices.Get(name);
        var ones = Tensor.Ones(37, 29);
        foreach (double p in new[] { 0.1, 0.5, 0.9, 1.0 })
        {
            var cpu = Functional.Dropout(ones, p, training: true, new Generator(42)).ToArray();
            var gpu = Functional.Dropout(ones.To(device), p, training: true, new Generator(42)).ToArray();
            Assert.Equal(cpu, gpu);
        }
        var backend = device.Backend;
        foreach (ulong seed in new[] { 0UL, 1UL, 0xDEADBEEFCAFEF00DUL, ulong.MaxValue })
        {
            var expected = Device.Cpu.Backend.Allocate(1000);
            Device.Cpu.Backend.DropoutMask(expected, 0.3f, seed);
            var mask = backend.Allocate(1000);
            backend.DropoutMask(mask, 0.3f, seed);
            Assert.Equal(Read(Device.Cpu.Backend, expected), Read(backend, mask));
        }
        Parity.Check(name, t => Functional.Dropout(t[0], 0.3, training: true, new Generator(7)), [Parity.Randn(19, true, 6, 7)]);
    }
}
