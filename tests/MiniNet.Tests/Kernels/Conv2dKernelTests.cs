// Conv2d kernel tests: the naive forward against a float64 loop written here, the naive backward
// against central finite differences of that float64 forward, then the im2col + GEMM kernels
// against the naive ones on odd shapes (stride 1 / 2, padding 0 / 1 / 2, kernel 1 / 3 / 5,
// non-square images, batch 1 and 3, odd channel counts) and on shapes large enough to thread.
using MiniNet.Kernels;

namespace MiniNet.Tests.Kernels;

public class Conv2dKernelTests
{
    // n, cIn, h, w, cOut, kernelSize, stride, padding
    public static TheoryData<int, int, int, int, int, int, int, int> Shapes => new()
    {
        { 1, 1, 5, 7, 1, 1, 1, 0 },
        { 3, 3, 9, 7, 5, 3, 1, 1 },
        { 3, 2, 10, 13, 3, 3, 2, 1 },
        { 1, 3, 8, 11, 5, 5, 1, 2 },
        { 3, 5, 7, 6, 7, 5, 2, 2 },
        { 2, 4, 6, 6, 3, 1, 1, 0 },
        { 3, 3, 9, 9, 4, 1, 2, 0 },
        { 3, 3, 6, 5, 3, 3, 2, 2 },
        { 1, 1, 3, 3, 1, 3, 1, 0 },
        { 3, 3, 4, 9, 5, 3, 3, 1 },
        { 4, 16, 20, 20, 16, 3, 1, 1 },
        { 1, 16, 32, 30, 32, 3, 1, 1 },
        { 2, 32, 24, 24, 64, 3, 1, 1 },
        { 8, 40, 14, 14, 48, 1, 1, 0 },
        { 4, 1, 28, 28, 64, 3, 1, 1 },
        { 2, 3, 29, 31, 5, 3, 2, 1 },
        { 16, 16, 12, 12, 16, 3, 1, 1 },    // batch-parallel backward: chunks of 2 images
        { 24, 12, 21, 19, 16, 3, 2, 1 },    // the same with stride 2 and padding: chunks of 3
    };

    [Theory]
    [InlineData(3, 2, 7, 5, 3, 3, 1, 1)]
    [InlineData(1, 3, 6, 9, 2, 5, 2, 2)]
    [InlineData(2, 1, 4, 4, 3, 1, 2, 0)]
    public void Naive_forward_matches_float64_reference(int n, int cIn, int h, int w, int cOut, int k, int stride, int padding)
    {
        var rng = new Random(10);
        float[] x = Random(rng, n * cIn * h * w);
        float[] weight = Random(rng, cOut * cIn * k * k);
        float[] bias = Random(rng, cOut);
        int outH = Conv2dKernels.OutputSize(h, k, stride, padding);
        int outW = Conv2dKernels.OutputSize(w, k, stride, padding);
        float[] y = new float[n * cOut * outH * outW];
        Conv2dKernels.ForwardNaive(x, weight, bias, n, cIn, h, w, cOut, k, stride, padding, y);
        double[] expected = ForwardFloat64(ToDouble(x), ToDouble(weight), ToDouble(bias), n, cIn, h, w, cOut, k, stride, padding);
        AssertClose(expected, y, "naive forward");
    }

    [Fact]
    public void Forward_hand_example()
    {
        // One 3 × 3 image, one 2 × 2 kernel, stride 1, no padding, bias 0.5.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        float[] weight = [1, 0, 0, -1];
        float[] y = new float[4];
        Conv2dKernels.Forward(x, weight, [0.5f], 1, 1, 3, 3, 1, 2, 1, 0, y);
        Assert.Equal([-3.5f, -3.5f, -3.5f, -3.5f], y);
    }

    [Theory]
    [InlineData(2, 2, 5, 4, 3, 3, 2, 1)]
    [InlineData(1, 3, 4, 6, 2, 3, 1, 2)]
    [InlineData(2, 2, 3, 3, 2, 1, 1, 0)]
    public void Backward_matches_finite_differences(int n, int cIn, int h, int w, int cOut, int k, int stride, int padding)
    {
        // Loss L = Σ y · g for a fixed random g, so dL/dy = g. L is evaluated in float64; central
        // differences of a function linear in each parameter are exact up to rounding.
        var rng = new Random(11);
        double[] x = ToDouble(Random(rng, n * cIn * h * w));
        double[] weight = ToDouble(Random(rng, cOut * cIn * k * k));
        double[] bias = ToDouble(Random(rng, cOut));
        int outH = Conv2dKernels.OutputSize(h, k, stride, padding);
        int outW = Conv2dKernels.OutputSize(w, k, stride, padding);
        float[] g = Random(rng, n * cOut * outH * outW);
        double Loss() => ForwardFloat64(x, weight, bias, n, cIn, h, w, cOut, k, stride, padding).Select((v, i) => v * g[i]).Sum();

        double[] dxExpected = FiniteDifferences(x, Loss);
        double[] dWeightExpected = FiniteDifferences(weight, Loss);
        double[] dBiasExpected = FiniteDifferences(bias, Loss);

        float[] xf = ToFloat(x);
        float[] wf = ToFloat(weight);
        float[] dx = new float[x.Length];
        float[] dWeight = new float[weight.Length];
        float[] dBias = new float[bias.Length];
        Conv2dKernels.BackwardNaive(g, xf, wf, n, cIn, h, w, cOut, k, stride, padding, dx, dWeight, dBias);
        AssertClose(dxExpected, dx, "naive dx");
        AssertClose(dWeightExpected, dWeight, "naive dWeight");
        AssertClose(dBiasExpected, dBias, "naive dBias");

        Array.Fill(dx, float.NaN);
        Array.Fill(dWeight, float.NaN);
        Array.Fill(dBias, float.NaN);
        Conv2dKernels.Backward(g, xf, wf, n, cIn, h, w, cOut, k, stride, padding, dx, dWeight, dBias);
        AssertClose(dxExpected, dx, "fast dx");
        AssertClose(dWeightExpected, dWeight, "fast dWeight");
        AssertClose(dBiasExpected, dBias, "fast dBias");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_naive(int n, int cIn, int h, int w, int cOut, int k, int stride, int padding)
    {
        var rng = new Random(12);
        float[] x = Random(rng, n * cIn * h * w);
        float[] weight = Random(rng, cOut * cIn * k * k);
        float[] bias = Random(rng, cOut);
        int outH = Conv2dKernels.OutputSize(h, k, stride, padding);
        int outW = Conv2dKernels.OutputSize(w, k, stride, padding);
        foreach (float[] b in new[] { bias, [] })
        {
            float[] expected = new float[n * cOut * outH * outW];
            Conv2dKernels.ForwardNaive(x, weight, b, n, cIn, h, w, cOut, k, stride, padding, expected);
            float[] y = Enumerable.Repeat(float.NaN, expected.Length).ToArray();
            Conv2dKernels.Forward(x, weight, b, n, cIn, h, w, cOut, k, stride, padding, y);
            AssertClose(ToDouble(expected), y, $"forward, bias={b.Length > 0}");
        }
    }

    [Fact]
    public void Batch_parallel_backward_repeats_to_the_bit()
    {
        // Large enough for the batch-parallel path (several images per core): the weight gradient is
        // a sum over images, which must not depend on which thread ran which image.
        const int n = 19, cIn = 16, h = 14, w = 14, cOut = 24, k = 3;
        var rng = new Random(3);
        float[] x = Random(rng, n * cIn * h * w), weight = Random(rng, cOut * cIn * k * k), dy = Random(rng, n * cOut * h * w);
        float[] first = new float[weight.Length], dx = new float[x.Length];
        Conv2dKernels.Backward(dy, x, weight, n, cIn, h, w, cOut, k, 1, 1, dx, first, []);
        for (int run = 0; run < 20; run++)
        {
            float[] again = new float[weight.Length];
            Conv2dKernels.Backward(dy, x, weight, n, cIn, h, w, cOut, k, 1, 1, dx, again, []);
            Assert.Equal(first, again);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Backward_matches_naive(int n, int cIn, int h, int w, int cOut, int k, int stride, int padding)
    {
        var rng = new Random(13);
        float[] x = Random(rng, n * cIn * h * w);
        float[] weight = Random(rng, cOut * cIn * k * k);
        int outH = Conv2dKernels.OutputSize(h, k, stride, padding);
        int outW = Conv2dKernels.OutputSize(w, k, stride, padding);
        float[] dy = Random(rng, n * cOut * outH * outW);
        float[] dxExpected = new float[x.Length];
        float[] dWeightExpected = new float[weight.Length];
        float[] dBiasExpected = new float[cOut];
        Conv2dKernels.BackwardNaive(dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, dxExpected, dWeightExpected, dBiasExpected);

        float[] dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        float[] dWeight = Enumerable.Repeat(float.NaN, weight.Length).ToArray();
        float[] dBias = Enumerable.Repeat(float.NaN, cOut).ToArray();
        Conv2dKernels.Backward(dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, dx, dWeight, dBias);
        AssertClose(ToDouble(dxExpected), dx, "dx");
        AssertClose(ToDouble(dWeightExpected), dWeight, "dWeight");
        AssertClose(ToDouble(dBiasExpected), dBias, "dBias");

        // Each gradient alone: the skipped ones are empty spans.
        Array.Fill(dx, float.NaN);
        Conv2dKernels.Backward(dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, dx, [], []);
        AssertClose(ToDouble(dxExpected), dx, "dx only");
        Array.Fill(dWeight, float.NaN);
        Conv2dKernels.Backward(dy, x, weight, n, cIn, h, w, cOut, k, stride, padding, [], dWeight, []);
        AssertClose(ToDouble(dWeightExpected), dWeight, "dWeight only");
    }

    // Im2Col against its definition: cols[(c·k + ky)·k + kx, oy·outW + ox] = x[c, oy·s − p + ky, ox·s − p + kx], 0 in the
    // padding. Stride 1 with 2p = k − 1 takes the shifted-block path (planes narrower than the kernel, single rows and
    // columns included); the others take the general loop.
    [Theory]
    [InlineData(2, 14, 14, 3, 1, 1)]
    [InlineData(3, 5, 9, 3, 1, 1)]
    [InlineData(2, 7, 4, 5, 1, 2)]
    [InlineData(1, 1, 6, 3, 1, 1)]
    [InlineData(1, 6, 1, 3, 1, 1)]
    [InlineData(2, 3, 2, 5, 1, 2)]
    [InlineData(2, 4, 3, 1, 1, 0)]
    [InlineData(2, 8, 9, 3, 2, 1)]
    [InlineData(1, 6, 7, 3, 1, 0)]
    public void Im2Col_matches_its_definition(int cIn, int h, int w, int k, int stride, int padding)
    {
        var rng = new Random(15);
        int outH = Conv2dKernels.OutputSize(h, k, stride, padding);
        int outW = Conv2dKernels.OutputSize(w, k, stride, padding);
        float[] x = Random(rng, cIn * h * w);
        float[] cols = Enumerable.Repeat(float.NaN, cIn * k * k * outH * outW).ToArray();
        Conv2dKernels.Im2Col(x, cIn, h, w, k, stride, padding, cols);
        for (int c = 0; c < cIn; c++)
        {
            for (int ky = 0; ky < k; ky++)
            {
                for (int kx = 0; kx < k; kx++)
                {
                    for (int oy = 0; oy < outH; oy++)
                    {
                        for (int ox = 0; ox < outW; ox++)
                        {
                            int iy = (oy * stride) - padding + ky, ix = (ox * stride) - padding + kx;
                            float expected = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(((c * h) + iy) * w) + ix] : 0f;
                            float actual = cols[(((((c * k) + ky) * k) + kx) * outH * outW) + (oy * outW) + ox];
                            Assert.True(expected == actual, $"c={c} ky={ky} kx={kx} oy={oy} ox={ox}: expected {expected}, got {actual}");
                        }
                    }
                }
            }
        }
    }

    // Stride 1 with 2p = k − 1 takes Col2Im's shifted-block path (rows 1–4 below), the others the general loop.
    [Theory]
    [InlineData(3, 7, 5, 3, 1, 1)]
    [InlineData(2, 7, 4, 5, 1, 2)]
    [InlineData(2, 3, 2, 5, 1, 2)]
    [InlineData(2, 1, 6, 3, 1, 1)]
    [InlineData(2, 8, 9, 3, 2, 1)]
    [InlineData(1, 6, 7, 5, 2, 2)]
    [InlineData(2, 5, 5, 2, 3, 0)]
    public void Col2Im_is_the_adjoint_of_Im2Col(int cIn, int h, int w, int k, int stride, int padding)
    {
        // <im2col(x), c> = <x, col2im(c)> for all x, c.
        var rng = new Random(14);
        int outH = Conv2dKernels.OutputSize(h, k, stride, padding);
        int outW = Conv2dKernels.OutputSize(w, k, stride, padding);
        float[] x = Random(rng, cIn * h * w);
        float[] c = Random(rng, cIn * k * k * outH * outW);
        float[] cols = new float[c.Length];
        Conv2dKernels.Im2Col(x, cIn, h, w, k, stride, padding, cols);
        float[] back = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        Conv2dKernels.Col2Im(c, cIn, h, w, k, stride, padding, back);
        double left = cols.Select((v, i) => (double)v * c[i]).Sum();
        double right = x.Select((v, i) => (double)v * back[i]).Sum();
        Assert.True(Math.Abs(left - right) <= 1e-4 * Math.Max(1.0, Math.Abs(left)), $"{left} != {right}");
    }

    [Fact]
    public void Output_size_and_bad_shapes()
    {
        Assert.Equal(16, Conv2dKernels.OutputSize(32, 3, 2, 1));
        Assert.Equal(3, Conv2dKernels.OutputSize(7, 5, 1, 0));
        Assert.Equal(1, Conv2dKernels.OutputSize(1, 3, 1, 1));
        Assert.Throws<ArgumentException>(() => Conv2dKernels.OutputSize(2, 5, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Conv2dKernels.OutputSize(8, 3, 0, 1));
        Assert.Throws<ArgumentException>(() => Conv2dKernels.Forward(new float[10], new float[9], [], 1, 1, 3, 3, 1, 3, 1, 0, new float[1]));
        Assert.Throws<ArgumentException>(() => Conv2dKernels.Backward(new float[1], new float[9], new float[9], 1, 1, 3, 3, 1, 3, 1, 0, [], [], new float[2]));
    }

    // y[n, o, oy, ox] in float64, straight from the definition.
    private static double[] ForwardFloat64(double[] x, double[] weight, double[] bias, int n, int cIn, int h, int w, int cOut, int k, int stride, int padding)
    {
        int outH = ((h + (2 * padding) - k) / stride) + 1;
        int outW = ((w + (2 * padding) - k) / stride) + 1;
        double[] y = new double[n * cOut * outH * outW];
        for (int i = 0; i < n; i++)
        {
            for (int o = 0; o < cOut; o++)
            {
                for (int oy = 0; oy < outH; oy++)
                {
                    for (int ox = 0; ox < outW; ox++)
                    {
                        double sum = bias[o];
                        for (int c = 0; c < cIn; c++)
                        {
                            for (int ky = 0; ky < k; ky++)
                            {
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int iy = (oy * stride) - padding + ky;
                                    int ix = (ox * stride) - padding + kx;
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                    {
                                        sum += weight[(((((o * cIn) + c) * k) + ky) * k) + kx] * x[(((((i * cIn) + c) * h) + iy) * w) + ix];
                                    }
                                }
                            }
                        }

                        y[(((((i * cOut) + o) * outH) + oy) * outW) + ox] = sum;
                    }
                }
            }
        }

        return y;
    }

    private static double[] FiniteDifferences(double[] parameter, Func<double> loss)
    {
        const double eps = 1e-3;
        double[] gradient = new double[parameter.Length];
        for (int i = 0; i < parameter.Length; i++)
        {
            double saved = parameter[i];
            parameter[i] = saved + eps;
            double plus = loss();
            parameter[i] = saved - eps;
            double minus = loss();
            parameter[i] = saved;
            gradient[i] = (plus - minus) / (2 * eps);
        }

        return gradient;
    }

    private static float[] Random(Random rng, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2.0) - 1.0);
        }

        return values;
    }

    private static double[] ToDouble(float[] values) => values.Select(v => (double)v).ToArray();

    private static float[] ToFloat(double[] values) => values.Select(v => (float)v).ToArray();

    private static void AssertClose(double[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Length == 0 ? 1.0 : Math.Max(1.0, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]);
            Assert.True(error <= 1e-4 * scale, $"{context}: element {i} expected {expected[i]}, got {actual[i]}.");
        }
    }
}
