// BatchNorm on each ILGPU device against MiniNet's CPU backend: training and eval forward with every
// gradient (affine and not; [N, C], [N, C, L], [N, C, H, W]; both kernel layouts; shapes that take the
// two-level reduction), the running statistics (momentum and the cumulative average read on the device),
// the seam's optional outputs, the variance of a channel with a large mean, and the BatchNorm2d layer moved
// to the device.
using MiniNet.Layers;

namespace MiniNet.Gpu.Tests;

public class BatchNormTests
{
    const float Tol = 1e-4f;

    // s = 1, 7 and 3 take the rows layout (37 and 20 channels span several tiles); s = 13, 42, 25 and 9 the
    // planar one.
    static readonly int[][] Shapes = [[6, 3], [7, 37], [5, 4, 7], [4, 6, 3], [3, 20, 2], [5, 4, 13], [3, 5, 6, 7], [2, 3, 5, 5], [2, 3, 3, 3]];

    static IlgpuBackend Backend(string name) => (IlgpuBackend)TestDevices.Get(name).Backend;

    static Tensor Positive(int seed, int length) =>
        Tensor.FromArray([.. Parity.Randn(seed, false, length).ToArray().Select(v => 0.5f + Math.Abs(v))], length);

    static Tensor WithGrad(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Training_forward_and_gradients_match_the_cpu(string name)
    {
        int seed = 10;
        foreach (var shape in Shapes)
        {
            int c = shape[1];
            var x = Parity.Randn(seed++, true, shape);
            Parity.Check(name, t => Functional.BatchNorm(t[0], null, null, null, null, training: true), [x], Tol);
            var weight = WithGrad(Positive(seed++, c));
            var bias = Parity.Randn(seed++, true, c);
            Parity.Check(name, t => Functional.BatchNorm(t[0], null, null, t[1], t[2], training: true), [x, weight, bias], Tol, seed: seed++);
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Eval_forward_and_gradients_match_the_cpu(string name)
    {
        int seed = 100;
        foreach (var shape in Shapes)
        {
            int c = shape[1];
            var x = Parity.Randn(seed++, true, shape);
            var runningMean = Parity.Randn(seed++, false, c);
            var runningVar = Positive(seed++, c);
            Parity.Check(name, t => Functional.BatchNorm(t[0], t[1], t[2], null, null, training: false), [x, runningMean, runningVar], Tol);
            var weight = Parity.Randn(seed++, true, c);
            var bias = Parity.Randn(seed++, true, c);
            Parity.Check(name, t => Functional.BatchNorm(t[0], t[1], t[2], t[3], t[4], training: false, eps: 1e-3), [x, runningMean, runningVar, weight, bias], Tol, seed: seed++);
        }
    }

    // The smallest shape [n, c, s] (growing n or s) whose launch on this device cuts each channel into at least
    // three chunks, each bigger than one group: the two-level reduction.
    static int[] ChunkedShape(IlgpuBackend backend, int n, int c, int s, bool growRows)
    {
        for (int step = 0; step < 20; step++)
        {
            var launch = backend.BatchNormPlanFor(n, c, s);
            if (launch.Plan.Chunks >= 3)
            {
                Assert.Equal(s <= 8, launch.Plan.IsRows);
                Assert.True((long)n * s / launch.Plan.Chunks > launch.Threads, "each chunk holds more values than one group has threads");
                return s == 1 ? [n, c] : [n, c, s];
            }
            if (growRows) n *= 2;
            else s *= 2;
        }
        throw new InvalidOperationException("no shape found that takes the two-level reduction");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Channels_larger_than_one_chunk_take_the_two_level_reduction(string name)
    {
        var backend = Backend(name);
        int[][] shapes = [ChunkedShape(backend, 3, 2, 65, growRows: false), ChunkedShape(backend, 9, 5, 1, growRows: true), ChunkedShape(backend, 11, 3, 3, growRows: true)];
        int seed = 200;
        foreach (var shape in shapes)
        {
            int c = shape[1];
            var x = Parity.Randn(seed++, true, shape);
            var weight = WithGrad(Positive(seed++, c));
            var bias = Parity.Randn(seed++, true, c);
            Parity.Check(name, t => Functional.BatchNorm(t[0], null, null, t[1], t[2], training: true), [x, weight, bias], Tol, seed: seed++);
            var runningMean = Parity.Randn(seed++, false, c);
            var runningVar = Positive(seed++, c);
            Parity.Check(name, t => Functional.BatchNorm(t[0], t[3], t[4], t[1], t[2], training: false), [x, weight, bias, runningMean, runningVar], Tol, seed: seed++);
        }
    }

    // Fixed reduction order, no atomics: the same inputs give the same bits, run after run.
    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Results_are_bitwise_repeatable(string name)
    {
        var device = TestDevices.Get(name);
        var backend = Backend(name);
        foreach (var shape in new[] { ChunkedShape(backend, 3, 2, 65, growRows: false), ChunkedShape(backend, 9, 5, 1, growRows: true) })
        {
            var x = Parity.Randn(300, false, shape).To(device);
            var weight = Positive(301, shape[1]).To(device);
            var bias = Parity.Randn(302, false, shape[1]).To(device);
            weight.RequiresGrad = true;
            var g = Parity.Randn(303, false, shape).To(device);
            float[][] Once()
            {
                weight.Grad = null;
                var y = Functional.BatchNorm(x, null, null, weight, bias, training: true);
                y.Backward(g);
                return [y.ToArray(), weight.Grad!.ToArray()];
            }
            var first = Once();
            for (int run = 0; run < 3; run++)
            {
                var again = Once();
                Assert.Equal(first[0], again[0]);
                Assert.Equal(first[1], again[1]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Running_statistics_follow_the_momentum_and_the_cumulative_average(string name)
    {
        var device = TestDevices.Get(name);
        foreach (int[] shape in new[] { new[] { 8, 3, 5 }, new[] { 5, 4 }, new[] { 2, 3, 4, 5 } })
        {
            int c = shape[1];
            var cpuMean = Parity.Randn(1, false, c);
            var cpuVar = Positive(2, c);
            var gpuMean = cpuMean.To(device);
            var gpuVar = cpuVar.To(device);
            for (int step = 1; step <= 3; step++)
            {
                var x = Tensor.Randn(new Generator(10 + step), shape);
                if (step == 1)
                {
                    Functional.BatchNorm(x, cpuMean, cpuVar, null, null, training: true, momentumFactor: 0.1);
                    Functional.BatchNorm(x.To(device), gpuMean, gpuVar, null, null, training: true, momentumFactor: 0.1);
                }
                else
                {
                    // momentum = null: factor 1/count, the count read on the device; momentumFactor is ignored.
                    var count = Tensor.Scalar(step);
                    Functional.BatchNorm(x, cpuMean, cpuVar, null, null, training: true, momentumFactor: 0.7, cumulativeCount: count);
                    Functional.BatchNorm(x.To(device), gpuMean, gpuVar, null, null, training: true, momentumFactor: 0.7, cumulativeCount: count.To(device));
                }
                Parity.AssertClose(cpuMean.ToArray(), gpuMean.ToArray(), 1e-5f, $"running mean after step {step}");
                Parity.AssertClose(cpuVar.ToArray(), gpuVar.ToArray(), 1e-5f, $"running variance after step {step}");
            }
        }
    }

    // Calls the backward seam methods on both backends with each subset of outputs requested (the rest null);
    // requested outputs start dirty, so they must be overwritten, not accumulated.
    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Backward_seam_computes_exactly_the_requested_outputs(string name)
    {
        var cpu = Device.Cpu.Backend;
        var gpu = TestDevices.Get(name).Backend;
        foreach (var (n, c, s) in new[] { (5, 3, 11), (9, 4, 1) })
        {
            int size = n * c * s;
            float[] x = Parity.Randn(1, false, size).ToArray(), dy = Parity.Randn(2, false, size).ToArray();
            float[] weight = Positive(3, c).ToArray(), runningMean = Parity.Randn(4, false, c).ToArray(), runningVar = Positive(5, c).ToArray();
            // Batch statistics from the CPU forward, given to both backends.
            var mean = cpu.Allocate(c);
            var invStd = cpu.Allocate(c);
            cpu.BatchNormForwardTraining(cpu.FromHost(x), n, c, s, null, null, 1e-5f, cpu.Allocate(size), mean, invStd, cpu.Allocate(c));
            float[] meanHost = Host(cpu, mean), invStdHost = Host(cpu, invStd);
            for (int mask = 1; mask < 16; mask++)
            {
                bool wantDx = (mask & 1) != 0, wantDw = (mask & 2) != 0, wantDb = (mask & 4) != 0, affine = (mask & 8) != 0;
                foreach (bool training in new[] { true, false })
                {
                    float[]?[] expected = Backward(cpu, training), actual = Backward(gpu, training);
                    string what = $"[{n}, {c}, {s}] training={training} affine={affine}";
                    for (int k = 0; k < 3; k++)
                    {
                        Assert.Equal(expected[k] is null, actual[k] is null);
                        if (expected[k] is not null) Parity.AssertClose(expected[k], actual[k], Tol, $"{what} output {k}");
                    }
                }

                float[]?[] Backward(Backend b, bool training)
                {
                    Storage? dx = wantDx ? b.FromHost(Enumerable.Repeat(7f, size).ToArray()) : null;
                    Storage? dw = wantDw ? b.FromHost(Enumerable.Repeat(7f, c).ToArray()) : null;
                    Storage? db = wantDb ? b.FromHost(Enumerable.Repeat(7f, c).ToArray()) : null;
                    var w = affine ? b.FromHost(weight) : null;
                    if (training)
                        b.BatchNormBackwardTraining(b.FromHost(dy), b.FromHost(x), n, c, s, b.FromHost(meanHost), b.FromHost(invStdHost), w, dx, dw, db);
                    else
                        b.BatchNormBackwardInference(b.FromHost(dy), b.FromHost(x), n, c, s, b.FromHost(runningMean), b.FromHost(runningVar), w, 1e-5f, dx, dw, db);
                    return [dx is null ? null : Host(b, dx), dw is null ? null : Host(b, dw), db is null ? null : Host(b, db)];
                }
            }
        }
    }

    static float[] Host(Backend backend, Storage storage)
    {
        var host = new float[storage.Length];
        backend.ToHost(storage, host);
        return host;
    }

    // Mean 1000, std 1: a float sum of squares would lose the variance entirely; Welford/Chan keeps it.
    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Variance_of_a_channel_with_a_large_mean_is_accurate(string name)
    {
        var gpu = TestDevices.Get(name).Backend;
        foreach (var (n, c, s) in new[] { (10, 1, 10_000), (50_000, 2, 1) })
        {
            int size = n * c * s;
            var random = new Generator(42);
            var x = new float[size];
            for (int i = 0; i < size; i++) x[i] = (float)(1000 + random.NextNormal());
            var mean = gpu.Allocate(c);
            var invStd = gpu.Allocate(c);
            var variance = gpu.Allocate(c);
            gpu.BatchNormForwardTraining(gpu.FromHost(x), n, c, s, null, null, 1e-5f, gpu.Allocate(size), mean, invStd, variance);
            float[] gotMean = Host(gpu, mean), gotVar = Host(gpu, variance);
            for (int ch = 0; ch < c; ch++)
            {
                var values = Enumerable.Range(0, n).SelectMany(i => Enumerable.Range(0, s).Select(j => (double)x[(i * c + ch) * s + j])).ToArray();
                double refMean = values.Average(), refVar = values.Sum(v => (v - refMean) * (v - refMean)) / values.Length;
                Assert.True(Math.Abs(gotMean[ch] - refMean) <= 1e-6 * refMean, $"[{n}, {c}, {s}] channel {ch}: mean {gotMean[ch]}, expected {refMean}");
                Assert.True(Math.Abs(gotVar[ch] - refVar) <= 1e-3 * refVar, $"[{n}, {c}, {s}] channel {ch}: variance {gotVar[ch]}, expected {refVar}");
            }
        }
    }

    // Two training steps (the first with backward) and an eval forward of the same BatchNorm2d on the CPU and,
    // moved with To, on the device: outputs, gradients, running statistics and the batch count agree.
    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void BatchNorm2d_moved_to_the_device_trains_and_evaluates_as_on_the_cpu(string name)
    {
        var device = TestDevices.Get(name);
        foreach (double? momentum in new double?[] { 0.1, null })
        {
            var onCpu = new BatchNorm2d(3, momentum: momentum);
            var onDevice = new BatchNorm2d(3, momentum: momentum);
            using (Autograd.NoGrad())
            {
                foreach (var layer in new[] { onCpu, onDevice })
                {
                    layer.Weight!.CopyFrom(Positive(1, 3));
                    layer.Bias!.CopyFrom(Parity.Randn(2, false, 3));
                }
            }
            onDevice.To(device);
            string what = $"momentum={momentum?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}";
            for (int step = 1; step <= 2; step++)
            {
                var x = Tensor.Randn(new Generator(20 + step), 4, 3, 5, 6) * 2f + 0.5f;
                var yCpu = onCpu.Forward(x);
                var yDevice = onDevice.Forward(x.To(device));
                Assert.Equal(device, yDevice.Device);
                Parity.AssertClose(yCpu.ToArray(), yDevice.ToArray(), Tol, $"{what} output of step {step}");
                if (step != 1) continue;
                var g = Tensor.Randn(new Generator(30), 4, 3, 5, 6);
                yCpu.Backward(g);
                yDevice.Backward(g.To(device).Detach());
                Parity.AssertClose(onCpu.Weight!.Grad!.ToArray(), onDevice.Weight!.Grad!.ToArray(), Tol, $"{what} weight gradient");
                Parity.AssertClose(onCpu.Bias!.Grad!.ToArray(), onDevice.Bias!.Grad!.ToArray(), Tol, $"{what} bias gradient");
                onCpu.ZeroGrad();
                onDevice.ZeroGrad();
            }
            Parity.AssertClose(onCpu.RunningMean!.ToArray(), onDevice.RunningMean!.ToArray(), 1e-5f, $"{what} running mean");
            Parity.AssertClose(onCpu.RunningVar!.ToArray(), onDevice.RunningVar!.ToArray(), 1e-5f, $"{what} running variance");
            Assert.Equal(2f, onDevice.NumBatchesTracked!.Item());
            Assert.Equal(device, onDevice.RunningMean!.Device);

            onCpu.Eval();
            onDevice.Eval();
            var xEval = Tensor.Randn(new Generator(40), 2, 3, 5, 6);
            Parity.AssertClose(onCpu.Forward(xEval).ToArray(), onDevice.Forward(xEval.To(device)).ToArray(), Tol, $"{what} eval output");
        }
    }
}
