// BatchNormKernels: the worked example, fast vs naive on odd shapes (both work layouts, serial and parallel,
// affine on and off), backward against float64 central finite differences, constant channels, the
// large-mean precision case and PyTorch's running-statistics update.
using MiniNet.Kernels;

namespace MiniNet.Tests.Kernels;

public class BatchNormKernelTests
{
    private const float Eps = 1e-5f;

    public static TheoryData<int, int, int, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (int n in new[] { 2, 5 })
        {
            foreach (int c in new[] { 1, 3, 17 })
            {
                foreach (int s in new[] { 1, 7, 49, 100, 787 })   // 100 and 787: the blocked segment loop and its tails
                {
                    data.Add(n, c, s, true);
                    data.Add(n, c, s, false);
                }
            }
        }
        data.Add(2, 64, 17, true);      // smallest segment-layout s
        data.Add(3, 5, 4001, true);     // segments longer than one float flush, parallel
        data.Add(7, 3, 1601, false);    // eval: 21 segments split between cores mid-channel
        data.Add(70, 600, 1, true);     // row layout, two column blocks, parallel
        data.Add(10, 500, 7, false);    // row layout, blocks of 73 channels, parallel
        data.Add(128, 256, 1, true);    // the seed MLP's BatchNorm1d [128, 256]: row layout at the parallel threshold
        return data;
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1e-5f)]
    public void ForwardTraining_WorkedExample(float eps)
    {
        float[] x = [1, 2, 3, 4, 5];
        float[] y = new float[5], mean = new float[1], invStd = new float[1], variance = new float[1];
        BatchNormKernels.ForwardTraining(x, 5, 1, 1, [], [], eps, y, mean, invStd, variance);
        AssertClose([-1.4142136f, -0.70710677f, 0, 0.70710677f, 1.4142136f], y, 1e-5);
        Assert.Equal(3f, mean[0]);
        Assert.Equal(2f, variance[0]);
        Assert.Equal(1 / Math.Sqrt(2 + eps), invStd[0], 1e-6);

        float[] yEval = new float[5];
        BatchNormKernels.ForwardInference(x, 5, 1, 1, mean, variance, [], [], eps, yEval);
        AssertClose(y, yEval, 1e-6);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardTraining_MatchesNaive(int n, int c, int s, bool affine)
    {
        var rng = new Random(n * 1000 + c * 10 + s);
        var (x, weight, bias) = Inputs(rng, n, c, s, affine);
        float[] y = new float[x.Length], mean = new float[c], invStd = new float[c], variance = new float[c];
        float[] yRef = new float[x.Length], meanRef = new float[c], invStdRef = new float[c], varianceRef = new float[c];
        BatchNormKernels.ForwardTraining(x, n, c, s, weight, bias, Eps, y, mean, invStd, variance);
        BatchNormKernels.ForwardTrainingNaive(x, n, c, s, weight, bias, Eps, yRef, meanRef, invStdRef, varianceRef);
        AssertClose(yRef, y, 1e-5);
        AssertClose(meanRef, mean, 1e-6);
        AssertClose(invStdRef, invStd, 1e-5);
        AssertClose(varianceRef, variance, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardInference_MatchesNaive(int n, int c, int s, bool affine)
    {
        var rng = new Random(n * 1000 + c * 10 + s + 1);
        var (x, weight, bias) = Inputs(rng, n, c, s, affine);
        float[] runningMean = Uniform(rng, c, -2, 2), runningVar = Uniform(rng, c, 0.1f, 3);
        float[] y = new float[x.Length], yRef = new float[x.Length];
        BatchNormKernels.ForwardInference(x, n, c, s, runningMean, runningVar, weight, bias, Eps, y);
        BatchNormKernels.ForwardInferenceNaive(x, n, c, s, runningMean, runningVar, weight, bias, Eps, yRef);
        AssertClose(yRef, y, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BackwardTraining_MatchesNaive(int n, int c, int s, bool affine)
    {
        var rng = new Random(n * 1000 + c * 10 + s + 2);
        var (x, weight, bias) = Inputs(rng, n, c, s, affine);
        float[] dy = Uniform(rng, x.Length, -1, 1);
        float[] y = new float[x.Length], mean = new float[c], invStd = new float[c], variance = new float[c];
        BatchNormKernels.ForwardTraining(x, n, c, s, weight, bias, Eps, y, mean, invStd, variance);
        int p = affine ? c : 0;
        float[] dx = new float[x.Length], dWeight = new float[p], dBias = new float[p];
        float[] dxRef = new float[x.Length], dWeightRef = new float[p], dBiasRef = new float[p];
        BatchNormKernels.BackwardTraining(dy, x, n, c, s, mean, invStd, weight, dx, dWeight, dBias);
        BatchNormKernels.BackwardTrainingNaive(dy, x, n, c, s, mean, invStd, weight, dxRef, dWeightRef, dBiasRef);
        AssertClose(dxRef, dx, 1e-4);
        AssertClose(dWeightRef, dWeight, 1e-4 * Math.Sqrt(n * s));
        AssertClose(dBiasRef, dBias, 1e-4 * Math.Sqrt(n * s));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(49)]
    public void BackwardTraining_EmptyOutputsAreSkipped(int s)
    {
        const int n = 3, c = 4;
        var rng = new Random(7 + s);
        var (x, weight, bias) = Inputs(rng, n, c, s, affine: true);
        float[] dy = Uniform(rng, x.Length, -1, 1);
        float[] y = new float[x.Length], mean = new float[c], invStd = new float[c], variance = new float[c];
        BatchNormKernels.ForwardTraining(x, n, c, s, weight, bias, Eps, y, mean, invStd, variance);
        float[] dx = new float[x.Length], dWeight = new float[c], dBias = new float[c];
        BatchNormKernels.BackwardTraining(dy, x, n, c, s, mean, invStd, weight, dx, dWeight, dBias);

        float[] dxOnly = new float[x.Length], dWeightOnly = new float[c], dBiasOnly = new float[c];
        BatchNormKernels.BackwardTraining(dy, x, n, c, s, mean, invStd, weight, dxOnly, [], []);
        BatchNormKernels.BackwardTraining(dy, x, n, c, s, mean, invStd, weight, [], dWeightOnly, dBiasOnly);
        Assert.Equal(dx, dxOnly);
        Assert.Equal(dWeight, dWeightOnly);
        Assert.Equal(dBias, dBiasOnly);
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(17, true)]
    [InlineData(17, false)]
    public void BackwardTraining_MatchesFiniteDifferences(int s, bool affine)
    {
        const int n = 2, c = 2;
        var rng = new Random(42 + s);
        var (x, weight, bias) = Inputs(rng, n, c, s, affine);
        double[] r = Array.ConvertAll(Uniform(rng, x.Length, -1, 1), v => (double)v);
        float[] y = new float[x.Length], mean = new float[c], invStd = new float[c], variance = new float[c];
        BatchNormKernels.ForwardTraining(x, n, c, s, weight, bias, Eps, y, mean, invStd, variance);
        int p = affine ? c : 0;
        float[] dx = new float[x.Length], dWeight = new float[p], dBias = new float[p];
        float[] dy = Array.ConvertAll(r, v => (float)v);
        BatchNormKernels.BackwardTraining(dy, x, n, c, s, mean, invStd, weight, dx, dWeight, dBias);

        double[] xd = Array.ConvertAll(x, v => (double)v);
        double[] wd = Array.ConvertAll(weight, v => (double)v), bd = Array.ConvertAll(bias, v => (double)v);
        double Loss() => Dot(ForwardTrainingFloat64(xd, n, c, s, wd, bd, Eps), r);
        AssertClose(ToFloat(FiniteDifferences(xd, Loss)), dx, 1e-4);
        AssertClose(ToFloat(FiniteDifferences(wd, Loss)), dWeight, 1e-4);
        AssertClose(ToFloat(FiniteDifferences(bd, Loss)), dBias, 1e-4);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BackwardInference_MatchesFormula(int n, int c, int s, bool affine)
    {
        var rng = new Random(n * 1000 + c * 10 + s + 3);
        var (x, weight, _) = Inputs(rng, n, c, s, affine);
        float[] dy = Uniform(rng, x.Length, -1, 1), runningMean = Uniform(rng, c, -2, 2), runningVar = Uniform(rng, c, 0.1f, 3);
        int p = affine ? c : 0;
        float[] dx = new float[x.Length], dWeight = new float[p], dBias = new float[p];
        BatchNormKernels.BackwardInference(dy, x, n, c, s, runningMean, runningVar, weight, Eps, dx, dWeight, dBias);

        float[] dxRef = new float[x.Length];
        double[] dWeightRef = new double[c], dBiasRef = new double[c];
        for (int i = 0; i < n; i++)
        {
            for (int ci = 0; ci < c; ci++)
            {
                double invStd = 1 / Math.Sqrt(runningVar[ci] + (double)Eps), w = affine ? weight[ci] : 1;
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ci) * s + j;
                    dxRef[at] = (float)(dy[at] * w * invStd);
                    dWeightRef[ci] += dy[at] * (x[at] - (double)runningMean[ci]) * invStd;
                    dBiasRef[ci] += dy[at];
                }
            }
        }
        AssertClose(dxRef, dx, 1e-5);
        if (!affine) return;
        AssertClose(ToFloat(dWeightRef), dWeight, 1e-4 * Math.Sqrt(n * s));
        AssertClose(ToFloat(dBiasRef), dBias, 1e-4 * Math.Sqrt(n * s));
    }

    [Theory]
    [InlineData(1, 1e-5f)]
    [InlineData(1, 0f)]
    [InlineData(49, 1e-5f)]
    [InlineData(49, 0f)]
    public void ConstantChannel_GivesBiasAndNoNaN(int s, float eps)
    {
        const int n = 4, c = 2;
        var rng = new Random(5);
        float[] x = Uniform(rng, n * c * s, -1, 1), weight = [1.5f, -0.5f], bias = [0, 0.25f];
        for (int i = 0; i < n; i++) Array.Fill(x, 0.1f, i * c * s, s);                 // channel 0 constant
        float[] y = new float[x.Length], mean = new float[c], invStd = new float[c], variance = new float[c];
        BatchNormKernels.ForwardTraining(x, n, c, s, weight, bias, eps, y, mean, invStd, variance);
        Assert.Equal(0f, variance[0]);
        Assert.Equal(0.1f, mean[0]);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < s; j++) Assert.Equal(0f, y[i * c * s + j]);
        }

        float[] dy = Uniform(rng, x.Length, -1, 1);
        float[] dx = new float[x.Length], dWeight = new float[c], dBias = new float[c];
        float[] dxRef = new float[x.Length], dWeightRef = new float[c], dBiasRef = new float[c];
        BatchNormKernels.BackwardTraining(dy, x, n, c, s, mean, invStd, weight, dx, dWeight, dBias);
        BatchNormKernels.BackwardTrainingNaive(dy, x, n, c, s, mean, invStd, weight, dxRef, dWeightRef, dBiasRef);
        Assert.All(dx, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0f, dWeight[0]);
        AssertClose(dxRef, dx, 1e-4);
        AssertClose(dBiasRef, dBias, 1e-4);
        if (eps == 0)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++) Assert.Equal(0f, dx[i * c * s + j]);
            }
        }
    }

    // 1e6 values of mean 1000 and std 1 in one channel, both layouts: sum-of-squares statistics would lose
    // the variance (measured: 2e-8 relative error; the mean is off by its float rounding only).
    [Theory]
    [InlineData(4, 250_000)]
    [InlineData(1_000_000, 1)]
    public void LargeMean_KeepsVariancePrecision(int n, int s)
    {
        var rng = new Random(11);
        float[] x = new float[n * s];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(1000 + Gaussian(rng));
        double meanRef = 0, sq = 0;
        foreach (float v in x) meanRef += v;
        meanRef /= x.Length;
        foreach (float v in x) sq += (v - meanRef) * (v - meanRef);
        double varianceRef = sq / x.Length;

        float[] y = new float[x.Length], mean = new float[1], invStd = new float[1], variance = new float[1];
        BatchNormKernels.ForwardTraining(x, n, 1, s, [], [], Eps, y, mean, invStd, variance);
        Assert.True(Math.Abs(variance[0] - varianceRef) < 1e-6 * varianceRef, $"variance {variance[0]} vs {varianceRef}");
        Assert.True(Math.Abs(mean[0] - meanRef) < 1e-4, $"mean {mean[0]} vs {meanRef}");
        double invStdRef = 1 / Math.Sqrt(varianceRef + Eps);
        for (int i = 0; i < x.Length; i += 9973)
        {
            Assert.Equal((x[i] - meanRef) * invStdRef, y[i], 1e-5);
        }
    }

    [Fact]
    public void UpdateRunningStats_UsesUnbiasedVariance()
    {
        float[] x = [1, 2, 3, 4, 5];
        float[] y = new float[5], mean = new float[1], invStd = new float[1], variance = new float[1];
        BatchNormKernels.ForwardTraining(x, 5, 1, 1, [], [], Eps, y, mean, invStd, variance);
        float[] runningMean = [0], runningVar = [1];
        BatchNormKernels.UpdateRunningStats(mean, variance, 5, 0.1f, runningMean, runningVar);
        Assert.Equal(0.3f, runningMean[0], 1e-6f);                 // 0.9·0 + 0.1·3
        Assert.Equal(1.15f, runningVar[0], 1e-6f);                 // 0.9·1 + 0.1·(2·5/4)

        float[] meanB = [1, -2], varB = [2, 4], runningMeanB = [0.5f, 0.5f], runningVarB = [1, 1];
        BatchNormKernels.UpdateRunningStats(meanB, varB, 3, 1f, runningMeanB, runningVarB);    // cumulative average, first batch
        Assert.Equal(new[] { 1f, -2f }, runningMeanB);
        Assert.Equal(new[] { 3f, 6f }, runningVarB);                       // 2·3/2, 4·3/2
    }

    [Fact]
    public void BadSizesThrow()
    {
        float[] five = new float[5], one = new float[1];
        Assert.Throws<ArgumentException>(() => BatchNormKernels.ForwardTraining(five, 2, 1, 2, [], [], Eps, five, one, one, one));
        Assert.Throws<ArgumentException>(() => BatchNormKernels.ForwardTraining(five, 5, 1, 1, new float[2], [], Eps, five, one, one, one));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchNormKernels.UpdateRunningStats(one, one, 1, 0.1f, one, one));
    }

    private static (float[] X, float[] Weight, float[] Bias) Inputs(Random rng, int n, int c, int s, bool affine)
    {
        float[] x = new float[n * c * s];
        for (int i = 0; i < n; i++)
        {
            for (int ci = 0; ci < c; ci++)
            {
                for (int j = 0; j < s; j++) x[(i * c + ci) * s + j] = ci - 5 + (1 + ci % 3) * (float)(rng.NextDouble() * 2 - 1);
            }
        }
        return affine ? (x, Uniform(rng, c, 0.5f, 2), Uniform(rng, c, -1, 1)) : (x, [], []);
    }

    private static float[] Uniform(Random rng, int length, float low, float high)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = low + (high - low) * (float)rng.NextDouble();
        return values;
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    // Training forward in float64, the function the finite differences differentiate.
    private static double[] ForwardTrainingFloat64(double[] x, int n, int c, int s, double[] weight, double[] bias, double eps)
    {
        var y = new double[x.Length];
        double m = n * s;
        for (int ci = 0; ci < c; ci++)
        {
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++) sum += x[(i * c + ci) * s + j];
            }
            double mean = sum / m;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++) sq += Math.Pow(x[(i * c + ci) * s + j] - mean, 2);
            }
            double invStd = 1 / Math.Sqrt(sq / m + eps);
            double w = weight.Length == 0 ? 1 : weight[ci], b = bias.Length == 0 ? 0 : bias[ci];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ci) * s + j;
                    y[at] = (x[at] - mean) * invStd * w + b;
                }
            }
        }
        return y;
    }

    // Central differences of loss() with respect to each entry of values (perturbed in place).
    internal static double[] FiniteDifferences(double[] values, Func<double> loss, double h = 1e-5)
    {
        var grad = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double saved = values[i];
            values[i] = saved + h;
            double plus = loss();
            values[i] = saved - h;
            double minus = loss();
            values[i] = saved;
            grad[i] = (plus - minus) / (2 * h);
        }
        return grad;
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    // |expected − actual| <= tol·(1 + |expected|) elementwise, reporting the first failure's index.
    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)expected[i] - actual[i]);
            Assert.True(diff <= tol * (1 + Math.Abs(expected[i])), $"index {i}: expected {expected[i]}, got {actual[i]} (tolerance {tol})");
        }
    }
}
