// Test helper: checks an op's gradients against central finite differences.
// The scalar probed is L = Σ f(inputs)·r with a fixed random r, so every output element matters.
// Forward values are float32; differences are taken in float64 over the float32 outputs, with a
// step large enough (1e-3 by default) that float32 rounding stays well under the tolerance.
using MiniNet.Backends;

namespace MiniNet.Tests;

public static class GradCheck
{
    /// <summary>A 1-d leaf tensor holding <paramref name="values"/>, requiring grad.</summary>
    public static Tensor Param(params float[] values)
    {
        var p = Tensor.FromArray(values, values.Length);
        p.RequiresGrad = true;
        return p;
    }

    /// <summary>Random inputs of the given shapes, requiring grad.</summary>
    public static Tensor[] Inputs(int seed, params int[][] shapes)
    {
        var g = new Generator(seed);
        return shapes.Select(s =>
        {
            var t = Tensor.Randn(g, s);
            t.RequiresGrad = true;
            return t;
        }).ToArray();
    }

    /// <summary>Asserts that the autograd gradient of each input that requires grad matches finite differences.</summary>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, int seed = 1, double eps = 1e-3, double atol = 2e-3, double rtol = 2e-2)
    {
        foreach (var t in inputs) t.Grad = null;
        var y = f(inputs);
        var r = Tensor.Randn(new Generator(seed), y.Shape);
        (y * r).Sum().Backward();
        var rData = r.ToArray();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].RequiresGrad) continue;
            Assert.True(inputs[i].Grad is not null, $"input {i} got no gradient");
            var analytic = inputs[i].Grad!.ToArray();
            var data = ((CpuStorage)inputs[i].Storage).Data;
            for (int j = 0; j < data.Length; j++)
            {
                float saved = data[j];
                data[j] = (float)(saved + eps);
                double plus = Probe(f, inputs, rData);
                data[j] = (float)(saved - eps);
                double minus = Probe(f, inputs, rData);
                data[j] = saved;
                double numeric = (plus - minus) / (2 * eps);
                double tol = atol + rtol * Math.Abs(numeric);
                Assert.True(Math.Abs(analytic[j] - numeric) <= tol,
                    $"input {i} element {j}: autograd {analytic[j]:G6} vs finite difference {numeric:G6} (tolerance {tol:G3})");
            }
        }
    }

    static double Probe(Func<Tensor[], Tensor> f, Tensor[] inputs, float[] r)
    {
        using var _ = Autograd.NoGrad();
        var y = f(inputs).ToArray();
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += (double)y[i] * r[i];
        return sum;
    }

    /// <summary>Asserts two arrays agree element-wise within atol + rtol·|expected|.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol = 1e-5, double rtol = 1e-4, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = atol + rtol * Math.Abs(expected[i]);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{what}[{i}]: expected {expected[i]:G7}, got {actual[i]:G7}");
        }
    }
}
