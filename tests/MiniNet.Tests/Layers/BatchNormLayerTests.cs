// BatchNorm1d/2d layers against PyTorch's semantics: running statistics with the unbiased variance and
// momentum (or the cumulative average for momentum = null), num_batches_tracked, eval mode, the
// track_running_stats and affine switches, input validation, and state-dict keys.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class BatchNormLayerTests
{
    const double Eps = 1e-5;

    public static TheoryData<int[]> Shapes() => new() { new[] { 7, 3 }, new[] { 5, 3, 9 }, new[] { 3, 3, 5, 7 } };

    static BatchNormBase Make(int[] shape, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true) =>
        shape.Length == 4
            ? new BatchNorm2d(shape[1], momentum: momentum, affine: affine, trackRunningStats: trackRunningStats)
            : new BatchNorm1d(shape[1], momentum: momentum, affine: affine, trackRunningStats: trackRunningStats);

    // Per-channel batch mean and UNBIASED variance of x [N, C, *], in float64.
    static (double[] Mean, double[] UnbiasedVar) BatchStats(Tensor x)
    {
        var xs = x.ToArray();
        int n = x.Size(0), c = x.Size(1), s = x.Numel / (n * c), m = n * s;
        double[] mean = new double[c], variance = new double[c];
        for (int i = 0; i < xs.Length; i++) mean[i / s % c] += xs[i];
        for (int ci = 0; ci < c; ci++) mean[ci] /= m;
        for (int i = 0; i < xs.Length; i++) variance[i / s % c] += Math.Pow(xs[i] - mean[i / s % c], 2);
        for (int ci = 0; ci < c; ci++) variance[ci] /= m - 1;
        return (mean, variance);
    }

    static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    static Tensor Batch(int[] shape, int seed) => Tensor.Randn(new Generator(seed), shape) * (1f + seed % 3) + seed % 5;

    [Fact]
    public void WorkedExample()
    {
        var bn = new BatchNorm1d(1);
        var y = bn.Forward(Tensor.FromArray([1, 2, 3, 4, 5], 5, 1));
        GradCheck.AssertClose([-1.41421f, -0.707107f, 0, 0.707107f, 1.41421f], y.ToArray(), atol: 1e-4, what: "y");
        GradCheck.AssertClose([0.3f], bn.RunningMean!.ToArray(), what: "running_mean");      // 0.9·0 + 0.1·3
        GradCheck.AssertClose([1.15f], bn.RunningVar!.ToArray(), what: "running_var");       // 0.9·1 + 0.1·2.5
        Assert.Equal(1f, bn.NumBatchesTracked!.Item());
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RunningStatistics_UseUnbiasedVarianceAndMomentum(int[] shape)
    {
        var bn = Make(shape);
        int c = shape[1];
        double[] rm = new double[c], rv = Enumerable.Repeat(1.0, c).ToArray();
        for (int step = 1; step <= 4; step++)
        {
            var x = Batch(shape, step);
            var y = bn.Forward(x);
            var (mean, unbiased) = BatchStats(x);
            for (int ci = 0; ci < c; ci++)
            {
                rm[ci] = 0.9 * rm[ci] + 0.1 * mean[ci];
                rv[ci] = 0.9 * rv[ci] + 0.1 * unbiased[ci];
            }
            GradCheck.AssertClose(ToFloat(rm), bn.RunningMean!.ToArray(), what: $"running_mean step {step}");
            GradCheck.AssertClose(ToFloat(rv), bn.RunningVar!.ToArray(), what: $"running_var step {step}");
            Assert.Equal(step, bn.NumBatchesTracked!.Item());
            Assert.Empty(bn.NumBatchesTracked.Shape);

            // The batch itself is normalised with the biased variance.
            int m = x.Numel / c, s = x.Numel / (shape[0] * c);
            float[] xs = x.ToArray(), ys = y.ToArray();
            for (int i = 0; i < xs.Length; i++)
            {
                int ci = i / s % c;
                double biased = unbiased[ci] * (m - 1) / m;
                Assert.Equal((xs[i] - mean[ci]) / Math.Sqrt(biased + Eps), ys[i], 1e-4);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MomentumNull_IsCumulativeAverage(int[] shape)
    {
        var bn = Make(shape, momentum: null);
        int c = shape[1];
        double[] sumMean = new double[c], sumVar = new double[c];
        for (int k = 1; k <= 5; k++)
        {
            var x = Batch(shape, 10 + k);
            bn.Forward(x);
            var (mean, unbiased) = BatchStats(x);
            for (int ci = 0; ci < c; ci++)
            {
                sumMean[ci] += mean[ci];
                sumVar[ci] += unbiased[ci];
            }
            GradCheck.AssertClose(ToFloat(sumMean.Select(v => v / k).ToArray()), bn.RunningMean!.ToArray(), what: $"running_mean after {k}");
            GradCheck.AssertClose(ToFloat(sumVar.Select(v => v / k).ToArray()), bn.RunningVar!.ToArray(), what: $"running_var after {k}");
            Assert.Equal(k, bn.NumBatchesTracked!.Item());
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Eval_UsesRunningStatistics(int[] shape)
    {
        var bn = Make(shape);
        for (int step = 1; step <= 3; step++) bn.Forward(Batch(shape, step));
        using (Autograd.NoGrad())
        {
            bn.Weight!.CopyFrom(Tensor.Rand(new Generator(20), shape[1]) + 0.5f);
            bn.Bias!.CopyFrom(Tensor.Randn(new Generator(21), shape[1]));
        }
        float[] rm = bn.RunningMean!.ToArray(), rv = bn.RunningVar!.ToArray(), w = bn.Weight!.ToArray(), b = bn.Bias!.ToArray();

        bn.Eval();
        var x = Batch(shape, 22);
        var ys = bn.Forward(x).ToArray();
        var xs = x.ToArray();
        int c = shape[1], s = x.Numel / (shape[0] * c);
        var expected = new float[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            int ci = i / s % c;
            expected[i] = (float)((xs[i] - (double)rm[ci]) / Math.Sqrt(rv[ci] + Eps) * w[ci] + b[ci]);
        }
        GradCheck.AssertClose(expected, ys, what: "y");
        Assert.Equal(rm, bn.RunningMean.ToArray());
        Assert.Equal(rv, bn.RunningVar.ToArray());
        Assert.Equal(3f, bn.NumBatchesTracked!.Item());
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Layer_MatchesFiniteDifferences(int[] shape)
    {
        var bn = Make(shape);
        using (Autograd.NoGrad())
        {
            bn.Weight!.CopyFrom(Tensor.Rand(new Generator(30), shape[1]) + 0.5f);
            bn.Bias!.CopyFrom(Tensor.Randn(new Generator(31), shape[1]));
        }
        var x = GradCheck.Inputs(32, shape)[0];
        GradCheck.Check(ins => bn.Forward(ins[0]), [x, bn.Weight!, bn.Bias!]);
        bn.Eval();
        GradCheck.Check(ins => bn.Forward(ins[0]), [x, bn.Weight!, bn.Bias!]);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NoTrackRunningStats_UsesBatchStatisticsInEvalToo(int[] shape)
    {
        var bn = Make(shape, trackRunningStats: false);
        Assert.Null(bn.RunningMean);
        Assert.Null(bn.RunningVar);
        Assert.Null(bn.NumBatchesTracked);
        Assert.Empty(bn.NamedBuffers());
        Assert.Equal(["weight", "bias"], bn.StateDict().Keys);

        var x = Batch(shape, 40);
        var train = bn.Forward(x).ToArray();
        bn.Eval();
        Assert.Equal(train, bn.Forward(x).ToArray());
        var expected = Functional.BatchNorm(x, null, null, null, null, training: true).ToArray();
        GradCheck.AssertClose(expected, train, what: "y");
    }

    [Fact]
    public void NoAffine_HasNoParameters()
    {
        foreach (var bn in new BatchNormBase[] { new BatchNorm1d(3, affine: false), new BatchNorm2d(3, affine: false) })
        {
            Assert.Null(bn.Weight);
            Assert.Null(bn.Bias);
            Assert.Empty(bn.Parameters());
            Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], bn.StateDict().Keys);
        }
        var x = Batch([5, 3, 4], 41);
        var expected = Functional.BatchNorm(x, null, null, null, null, training: true).ToArray();
        GradCheck.AssertClose(expected, new BatchNorm1d(3, affine: false).Forward(x).ToArray(), what: "y");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneValuePerChannel_ThrowsInTrainingAndChangesNothing(bool twoD)
    {
        BatchNormBase bn = twoD ? new BatchNorm2d(3) : new BatchNorm1d(3);
        int[] batch = twoD ? [4, 3, 2, 2] : [4, 3];
        bn.Forward(Batch(batch, 50));
        float[] rm = bn.RunningMean!.ToArray(), rv = bn.RunningVar!.ToArray();

        int[] single = twoD ? [1, 3, 1, 1] : [1, 3];
        var ex = Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Randn(new Generator(51), single)));
        Assert.Contains("Expected more than 1 value per channel when training", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(rm, bn.RunningMean.ToArray());
        Assert.Equal(rv, bn.RunningVar.ToArray());
        Assert.Equal(1f, bn.NumBatchesTracked!.Item());

        bn.Eval();
        var x = Tensor.Randn(new Generator(52), single);
        var y = bn.Forward(x).ToArray();
        var xs = x.ToArray();
        for (int ci = 0; ci < 3; ci++) Assert.Equal((xs[ci] - rm[ci]) / Math.Sqrt(rv[ci] + Eps), y[ci], 1e-5);
        Assert.Equal(1f, bn.NumBatchesTracked.Item());
    }

    [Fact]
    public void BatchOfOneWithSeveralPositions_TrainsAsPyTorch()
    {
        // PyTorch only refuses N·L == 1: [1, C, L] with L > 1 has L values per channel.
        var bn = new BatchNorm1d(3);
        var x = Batch([1, 3, 5], 53);
        var y = bn.Forward(x);
        GradCheck.AssertClose(Functional.BatchNorm(x, null, null, null, null, training: true).ToArray(), y.ToArray(), what: "y");
        Assert.Equal(1f, bn.NumBatchesTracked!.Item());
        Assert.Equal([1, 3, 5, 5], new BatchNorm2d(3).Forward(Batch([1, 3, 5, 5], 54)).Shape);
    }

    [Fact]
    public void Momentum_CanBeChangedBetweenBatches()
    {
        var bn = new BatchNorm1d(1);
        bn.Forward(Tensor.FromArray([1, 2, 3, 4, 5], 5, 1));          // running_mean 0.3
        bn.Momentum = 0.5;
        bn.Forward(Tensor.FromArray([3, 5, 7], 3, 1));                // 0.5·0.3 + 0.5·5
        Assert.Equal(2.65f, bn.RunningMean!.Item(), 1e-6f);
        bn.Momentum = null;
        bn.Forward(Tensor.FromArray([0, 2], 2, 1));                   // factor 1/3: (2/3)·2.65 + (1/3)·1
        Assert.Equal(2.1f, bn.RunningMean.Item(), 1e-6f);
    }

    [Fact]
    public void OneValuePerChannel_ThrowsInEvalWithoutRunningStats()
    {
        var bn = new BatchNorm1d(3, trackRunningStats: false);
        bn.Eval();
        var ex = Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Ones(1, 3)));
        Assert.Contains("Expected more than 1 value per channel when training", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void WrongChannelCount_ThrowsNamingBoth()
    {
        var bn1 = new BatchNorm1d(3);
        var ex = Assert.Throws<ArgumentException>(() => bn1.Forward(Tensor.Ones(4, 5)));
        Assert.Contains("3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("5", ex.Message, StringComparison.Ordinal);
        var ex2 = Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Forward(Tensor.Ones(2, 4, 3, 3)));
        Assert.Contains("3 channels", ex2.Message, StringComparison.Ordinal);
        Assert.Contains("got 4", ex2.Message, StringComparison.Ordinal);
        Assert.Equal(0f, bn1.NumBatchesTracked!.Item());
    }

    [Fact]
    public void WrongRank_Throws()
    {
        Assert.Throws<ArgumentException>(() => new BatchNorm1d(3).Forward(Tensor.Ones(2, 3, 4, 4)));
        Assert.Throws<ArgumentException>(() => new BatchNorm1d(3).Forward(Tensor.Ones(3)));
        Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Forward(Tensor.Ones(4, 3)));
        Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Forward(Tensor.Ones(4, 3, 5)));
    }

    [Fact]
    public void ConstantChannel_GivesZerosAndFiniteGradients()
    {
        var bn = new BatchNorm2d(2);
        var data = Tensor.Randn(new Generator(60), 3, 2, 3, 5).ToArray();
        for (int i = 0; i < data.Length; i++)
        {
            if (i / 15 % 2 == 0) data[i] = -1.75f;
        }
        var x = Tensor.FromArray(data, 3, 2, 3, 5);
        x.RequiresGrad = true;
        var y = bn.Forward(x);
        var ys = y.ToArray();
        for (int i = 0; i < ys.Length; i++)
        {
            Assert.True(float.IsFinite(ys[i]));
            if (i / 15 % 2 == 0) Assert.Equal(0f, ys[i]);
        }
        y.Backward(Tensor.Randn(new Generator(61), 3, 2, 3, 5));
        Assert.All(x.Grad!.ToArray().Concat(bn.Weight!.Grad!.ToArray()).Concat(bn.Bias!.Grad!.ToArray()), v => Assert.True(float.IsFinite(v)));
        Assert.Equal(-0.175f, bn.RunningMean!.ToArray()[0], 1e-6f);                       // 0.1·(−1.75)
        Assert.Equal(0.9f, bn.RunningVar!.ToArray()[0], 1e-6f);                           // 0.9·1 + 0.1·0
    }

    [Fact]
    public void StateDictKeys_MatchPyTorch()
    {
        var model = new Sequential(new Linear(784, 256), new ReLU(), new BatchNorm1d(256), new Linear(256, 10));
        var state = model.StateDict();
        Assert.Equal(
            ["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked", "3.weight", "3.bias"],
            state.Keys);
        Assert.Empty(state["2.num_batches_tracked"].Shape);
        Assert.Equal([256], state["2.running_var"].Shape);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"], model.NamedParameters().Select(p => p.Name));
        Assert.Equal(["2.running_mean", "2.running_var", "2.num_batches_tracked"], model.NamedBuffers().Select(b => b.Name));
    }

    [Fact]
    public void ResetRunningStats_RestoresInitialState()
    {
        var bn = new BatchNorm1d(3);
        bn.Forward(Batch([6, 3], 70));
        bn.ResetRunningStats();
        Assert.Equal([0f, 0f, 0f], bn.RunningMean!.ToArray());
        Assert.Equal([1f, 1f, 1f], bn.RunningVar!.ToArray());
        Assert.Equal(0f, bn.NumBatchesTracked!.Item());
    }

    [Fact]
    public void ToString_prints_as_PyTorch_does()
    {
        Assert.Equal("BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", new BatchNorm2d(64).ToString());
        Assert.Equal("BatchNorm1d(3, eps=0.001, momentum=None, affine=False, track_running_stats=True)", new BatchNorm1d(3, eps: 1e-3, momentum: null, affine: false).ToString());
    }
}
