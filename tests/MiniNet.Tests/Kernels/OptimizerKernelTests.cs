// OptimizerKernels: one hand-computed step each, then three steps of every option against a float64
// re-implementation of PyTorch's formulas (torch.optim.SGD, torch.optim.Adam / AdamW docs), whose
// hyperparameters are float64 as in Python (0.999, not 0.999f).
// Length 37 exercises the vector loop and its scalar tail.
using MiniNet.Kernels;

namespace MiniNet.Tests.Kernels;

public class OptimizerKernelTests
{
    private const int Length = 37;

    [Fact]
    public void Sgd_HandComputedSteps()
    {
        float[] p = [1, -2], g = [0.5f, 0.25f];
        OptimizerKernels.SgdStep(p, g, [], 0.1, 0, 0, 0, false, true);
        Assert.Equal(0.95f, p[0], 1e-6f);                            // 1 − 0.1·0.5
        Assert.Equal(-2.025f, p[1], 1e-6f);

        float[] q = [1], buf = [0];
        OptimizerKernels.SgdStep(q, [0.5f], buf, 0.1, 0.9, 0, 0, false, true);
        Assert.Equal(0.5f, buf[0]);                                  // first step: buf = g
        Assert.Equal(0.95f, q[0], 1e-6f);
        OptimizerKernels.SgdStep(q, [0.5f], buf, 0.1, 0.9, 0, 0, false, false);
        Assert.Equal(0.95f, buf[0], 1e-6f);                          // 0.9·0.5 + 0.5
        Assert.Equal(0.855f, q[0], 1e-6f);                           // 0.95 − 0.1·0.95
    }

    [Theory]
    [InlineData(0.0, 0.0, 0.0, false)]
    [InlineData(0.0, 0.0, 0.1, false)]
    [InlineData(0.9, 0.0, 0.0, false)]
    [InlineData(0.9, 0.5, 0.0, false)]
    [InlineData(0.9, 0.0, 0.01, false)]
    [InlineData(0.9, 0.0, 0.01, true)]
    [InlineData(0.5, 0.1, 0.05, true)]
    public void Sgd_MatchesFloat64Reference(double momentum, double dampening, double weightDecay, bool nesterov)
    {
        const double lr = 0.05;
        var rng = new Random(1);
        float[] p = Uniform(rng, -2, 2), buf = momentum == 0 ? [] : new float[Length];
        double[] pRef = Array.ConvertAll(p, v => (double)v), bufRef = new double[Length];
        for (int step = 1; step <= 3; step++)
        {
            float[] g = Uniform(rng, -1, 1);
            OptimizerKernels.SgdStep(p, g, buf, lr, momentum, dampening, weightDecay, nesterov, step == 1);
            for (int i = 0; i < Length; i++)
            {
                double d = g[i] + weightDecay * pRef[i];
                if (momentum != 0)
                {
                    bufRef[i] = step == 1 ? d : momentum * bufRef[i] + (1 - dampening) * d;
                    d = nesterov ? d + momentum * bufRef[i] : bufRef[i];
                }
                pRef[i] -= lr * d;
            }
            AssertRelative(pRef, p, 1e-6);
            if (momentum != 0) AssertRelative(bufRef, buf, 1e-5);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Adam_FirstStepMovesByLrTimesSign(bool decoupled)
    {
        const float lr = 0.01f, weightDecay = 0.1f;
        float[] p = [1, -2, 3], g = [0.5f, -3, 1e-3f], m = new float[3], v = new float[3];
        OptimizerKernels.AdamStep(p, g, m, v, lr, 0.9, 0.999, 1e-8, decoupled ? weightDecay : 0, decoupled, 1);
        // m/bc1 = g and sqrt(v/bc2) = |g| after one step, so p moves by lr·g/(|g| + eps) ≈ lr·sign(g).
        double shrink = decoupled ? 1 - (double)lr * weightDecay : 1;
        Assert.Equal(1 * shrink - lr, p[0], 1e-6);
        Assert.Equal(-2 * shrink + lr, p[1], 1e-6);
        Assert.Equal(3 * shrink - lr * (1e-3 / (1e-3 + 1e-8)), p[2], 1e-6);
        Assert.Equal(0.05f, m[0], 1e-7f);                            // (1 − 0.9)·0.5
        Assert.Equal(0.009f, v[1], 1e-8f);                           // (1 − 0.999)·9
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.1, true)]
    public void Adam_MatchesFloat64Reference(double weightDecay, bool decoupled)
    {
        const double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        var rng = new Random(2);
        float[] p = Uniform(rng, -2, 2), m = new float[Length], v = new float[Length];
        double[] pRef = Array.ConvertAll(p, x => (double)x), mRef = new double[Length], vRef = new double[Length];
        for (int step = 1; step <= 3; step++)
        {
            float[] g = Uniform(rng, -1, 1);
            OptimizerKernels.AdamStep(p, g, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step);
            double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
            for (int i = 0; i < Length; i++)
            {
                double gi = g[i];
                if (decoupled) pRef[i] *= 1 - lr * weightDecay;
                else gi += weightDecay * pRef[i];
                mRef[i] = beta1 * mRef[i] + (1 - beta1) * gi;
                vRef[i] = beta2 * vRef[i] + (1 - beta2) * gi * gi;
                pRef[i] -= lr / bc1 * mRef[i] / (Math.Sqrt(vRef[i]) / Math.Sqrt(bc2) + eps);
            }
            AssertRelative(pRef, p, 1e-6);
            AssertRelative(mRef, m, 1e-6);
            AssertRelative(vRef, v, 1e-6);
        }
    }

    [Fact]
    public void BadArgumentsThrow()
    {
        float[] three = new float[3];
        Assert.Throws<ArgumentException>(() => OptimizerKernels.SgdStep(three, new float[2], [], 0.1, 0, 0, 0, false, true));
        Assert.Throws<ArgumentException>(() => OptimizerKernels.SgdStep(three, three, [], 0.1, 0.9, 0, 0, false, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerKernels.AdamStep(three, three, three, three, 0.1, 0.9, 0.999, 1e-8, 0, false, 0));
    }

    private static float[] Uniform(Random rng, float low, float high)
    {
        var values = new float[Length];
        for (int i = 0; i < Length; i++) values[i] = low + (high - low) * (float)rng.NextDouble();
        return values;
    }

    // |expected − actual| <= tol·|expected| + 1e-9 elementwise.
    private static void AssertRelative(double[] expected, float[] actual, double tol)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Abs(expected[i]) + 1e-9, $"index {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    // The CPU backend splits a large parameter's update across the cores: the same bits as one pass.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backend_split_update_equals_one_pass(bool adam)
    {
        const int length = (1 << 18) + 37;
        var rng = new Random(9);
        float[] Random() => Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] p = Random(), g = Random(), a = Random(), b = Random().Select(Math.Abs).ToArray();
        float[] p1 = (float[])p.Clone(), a1 = (float[])a.Clone(), b1 = (float[])b.Clone();
        var backend = MiniNet.Device.Cpu.Backend;
        Storage sp = backend.FromHost(p), sg = backend.FromHost(g), sa = backend.FromHost(a), sb = backend.FromHost(b);
        if (adam)
        {
            OptimizerKernels.AdamStep(p1, g, a1, b1, 1e-3, 0.9, 0.999, 1e-8, 0.01, true, 3);
            backend.AdamStep(sp, sg, sa, sb, 1e-3, 0.9, 0.999, 1e-8, 0.01, true, 3);
        }
        else
        {
            OptimizerKernels.SgdStep(p1, g, a1, 0.1, 0.9, 0.1, 1e-4, true, false);
            backend.SgdStep(sp, sg, sa, 0.1, 0.9, 0.1, 1e-4, true, false);
        }

        float[] Host(Storage s)
        {
            var result = new float[length];
            backend.ToHost(s, result);
            return result;
        }

        Assert.Equal(p1, Host(sp));
        Assert.Equal(a1, Host(sa));
        if (adam) Assert.Equal(b1, Host(sb));
    }

}
