// CrossEntropyLoss, MSELoss and BCEWithLogitsLoss: values against float64 hand computations (mean, sum,
// none), gradients against finite differences, input validation, and BCE's stability at logits ±100.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class LossTests
{
    static readonly int[] Targets = [2, 0, 4, 4, 1, 3, 0];

    // Per-sample −log softmax(logits)[target] in float64.
    static double[] CrossEntropyReference(float[] logits, int k, int[] targets)
    {
        var result = new double[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            var row = logits.AsSpan(i * k, k).ToArray().Select(v => (double)v).ToArray();
            double max = row.Max();
            double logSum = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            result[i] = logSum - row[targets[i]];
        }
        return result;
    }

    [Fact]
    public void CrossEntropy_MatchesFloat64()
    {
        var logits = Tensor.Randn(new Generator(1), 7, 5) * 3f;
        var perSample = CrossEntropyReference(logits.ToArray(), 5, Targets);
        Assert.Equal(perSample.Average(), new CrossEntropyLoss().Forward(logits, Targets).Item(), 1e-5);
        Assert.Equal(perSample.Sum(), new CrossEntropyLoss(Reduction.Sum).Forward(logits, Targets).Item(), 1e-4);
        var none = new CrossEntropyLoss(Reduction.None).Forward(logits, Targets);
        Assert.Equal([7], none.Shape);
        GradCheck.AssertClose(Array.ConvertAll(perSample, v => (float)v), none.ToArray(), what: "loss");
        Assert.Empty(new CrossEntropyLoss().Forward(logits, Targets).Shape);
    }

    [Fact]
    public void CrossEntropy_HandComputed()
    {
        // Uniform logits over 4 classes: loss = ln 4 whatever the target.
        var loss = new CrossEntropyLoss().Forward(Tensor.Zeros(2, 4), [1, 3]);
        Assert.Equal(Math.Log(4), loss.Item(), 1e-6);
    }

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    [InlineData(Reduction.None)]
    public void CrossEntropy_MatchesFiniteDifferences(Reduction reduction)
    {
        var loss = new CrossEntropyLoss(reduction);
        GradCheck.Check(ins => loss.Forward(ins[0], Targets), GradCheck.Inputs(2, [7, 5]));
    }

    [Fact]
    public void CrossEntropy_GradientIsSoftmaxMinusOneHotOverN()
    {
        var logits = Tensor.Randn(new Generator(3), 7, 5);
        logits.RequiresGrad = true;
        new CrossEntropyLoss().Forward(logits, Targets).Backward();
        var xs = logits.ToArray();
        var expected = new float[xs.Length];
        for (int i = 0; i < 7; i++)
        {
            double sum = Enumerable.Range(0, 5).Sum(j => Math.Exp(xs[i * 5 + j]));
            for (int j = 0; j < 5; j++) expected[i * 5 + j] = (float)((Math.Exp(xs[i * 5 + j]) / sum - (j == Targets[i] ? 1 : 0)) / 7);
        }
        GradCheck.AssertClose(expected, logits.Grad!.ToArray(), what: "dLogits");
    }

    [Fact]
    public void CrossEntropy_IsStableForLargeLogits()
    {
        var logits = Tensor.FromArray([1000f, 0f, -1000f, 0f], 2, 2);
        logits.RequiresGrad = true;
        var loss = new CrossEntropyLoss(Reduction.Sum).Forward(logits, [1, 0]);
        Assert.Equal(2000f, loss.Item(), 1e-3f);
        loss.Backward();
        GradCheck.AssertClose([1f, -1f, -1f, 1f], logits.Grad!.ToArray(), what: "dLogits");
    }

    [Fact]
    public void CrossEntropy_InvalidTargets_Throw()
    {
        var loss = new CrossEntropyLoss();
        var logits = Tensor.Zeros(3, 4);
        var ex = Assert.Throws<ArgumentException>(() => loss.Forward(logits, [0, 4, 1]));
        Assert.Contains("4", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => loss.Forward(logits, [0, -1, 1]));
        var count = Assert.Throws<ArgumentException>(() => loss.Forward(logits, [0, 1]));
        Assert.Contains("2 targets", count.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => loss.Forward(Tensor.Zeros(3, 4, 2), [0, 1, 2]));
    }

    [Fact]
    public void Mse_MatchesFloat64()
    {
        var g = new Generator(4);
        var input = Tensor.Randn(g, 3, 5, 7);
        var target = Tensor.Randn(g, 3, 5, 7);
        var squares = input.ToArray().Zip(target.ToArray(), (a, b) => ((double)a - b) * ((double)a - b)).ToArray();
        Assert.Equal(squares.Average(), new MSELoss().Forward(input, target).Item(), 1e-5);
        Assert.Equal(squares.Sum(), new MSELoss(Reduction.Sum).Forward(input, target).Item(), 1e-3);
        GradCheck.AssertClose(Array.ConvertAll(squares, v => (float)v), new MSELoss(Reduction.None).Forward(input, target).ToArray(), what: "loss");
        Assert.Equal(2.5, new MSELoss().Forward(Tensor.FromArray([1f, 3f]), Tensor.FromArray([0f, 1f])).Item(), 1e-6);   // (1 + 4)/2
    }

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void Mse_MatchesFiniteDifferences(Reduction reduction)
    {
        var loss = new MSELoss(reduction);
        GradCheck.Check(ins => loss.Forward(ins[0], ins[1]), GradCheck.Inputs(5, [3, 5], [3, 5]));
    }

    // Numerically stable float64 BCE on logits: max(x, 0) − x·t + log(1 + e^−|x|).
    static double BceReference(double x, double t) => Math.Max(x, 0) - x * t + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    [Fact]
    public void BceWithLogits_MatchesFloat64()
    {
        var g = new Generator(6);
        var input = Tensor.Randn(g, 4, 9) * 3f;
        var target = Tensor.Rand(g, 4, 9);
        var losses = input.ToArray().Zip(target.ToArray(), (x, t) => BceReference(x, t)).ToArray();
        Assert.Equal(losses.Average(), new BCEWithLogitsLoss().Forward(input, target).Item(), 1e-5);
        Assert.Equal(losses.Sum(), new BCEWithLogitsLoss(Reduction.Sum).Forward(input, target).Item(), 1e-4);
        GradCheck.AssertClose(Array.ConvertAll(losses, v => (float)v), new BCEWithLogitsLoss(Reduction.None).Forward(input, target).ToArray(), what: "loss");
        // −log σ(0) = ln 2 for either target.
        Assert.Equal(Math.Log(2), new BCEWithLogitsLoss().Forward(Tensor.Zeros(2), Tensor.FromArray([0f, 1f])).Item(), 1e-6);
    }

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    public void BceWithLogits_MatchesFiniteDifferences(Reduction reduction)
    {
        var loss = new BCEWithLogitsLoss(reduction);
        var inputs = GradCheck.Inputs(7, [4, 9], [4, 9]);
        var target = (inputs[1].Sigmoid()).Detach();
        target.RequiresGrad = true;
        GradCheck.Check(ins => loss.Forward(ins[0], ins[1]), [inputs[0], target]);
    }

    [Fact]
    public void BceWithLogits_GradientIsSigmoidMinusTarget_EvenAtZero()
    {
        // PyTorch: d/dx = (σ(x) − t)/N everywhere, including x = 0 where it is 0.5 − t.
        var input = Tensor.FromArray([0f, 0f, 1.5f, -2f]);
        input.RequiresGrad = true;
        float[] t = [0f, 1f, 0.25f, 0.75f];
        new BCEWithLogitsLoss().Forward(input, Tensor.FromArray(t)).Backward();
        float[] xs = input.ToArray(), expected = new float[4];
        for (int i = 0; i < 4; i++) expected[i] = (float)((1 / (1 + Math.Exp(-xs[i])) - t[i]) / 4);
        GradCheck.AssertClose(expected, input.Grad!.ToArray(), what: "dInput");
    }

    [Fact]
    public void BceWithLogits_IsStableForLargeLogits()
    {
        var input = Tensor.FromArray([100f, -100f, 100f, -100f]);
        input.RequiresGrad = true;
        var target = Tensor.FromArray([0f, 1f, 1f, 0f]);
        var loss = new BCEWithLogitsLoss(Reduction.None).Forward(input, target);
        GradCheck.AssertClose([100f, 100f, 0f, 0f], loss.ToArray(), what: "loss");
        loss.Sum().Backward();
        GradCheck.AssertClose([1f, -1f, 0f, 0f], input.Grad!.ToArray(), what: "dInput");
    }

    [Fact]
    public void ShapeMismatch_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MSELoss().Forward(Tensor.Zeros(3, 4), Tensor.Zeros(4, 3)));
        Assert.Contains("[3, 4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 3]", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new BCEWithLogitsLoss().Forward(Tensor.Zeros(3), Tensor.Zeros(3, 1)));
        Assert.Throws<ArgumentException>(() => new MSELoss().Forward(Tensor.Zeros(3), Tensor.Zeros(1)));
    }
}
