// Functional.BatchNorm: the worked example, the fused backward against autograd through primitive ops
// (mean, biased variance, sqrt, division, γ, β) on [N, C], [N, C, L] and [N, C, H, W] with odd sizes,
// finite-difference checks in training and eval mode, and a constant channel.
namespace MiniNet.Tests.Layers;

public class BatchNormFunctionalTests
{
    const double Eps = 1e-5;

    public static TheoryData<int[]> Shapes() => new() { new[] { 7, 3 }, new[] { 5, 3, 9 }, new[] { 3, 5, 7, 3 } };

    // The channel dim of x [N, C, *] broadcast against x: [1, C, 1, ...].
    static int[] ChannelShape(int[] shape) => shape.Select((d, i) => i == 1 ? d : 1).ToArray();

    static int[] ReducedDims(int[] shape) => Enumerable.Range(0, shape.Length).Where(i => i != 1).ToArray();

    // y = (x − mean)/√(var + eps)·γ + β with the biased variance, from primitive tensor ops only.
    static Tensor Composite(Tensor x, Tensor weight, Tensor bias)
    {
        var dims = ReducedDims(x.Shape);
        var mean = x.Mean(dims, keepDim: true);
        var variance = x.Var(dims, unbiased: false, keepDim: true);
        var xhat = (x - mean) / (variance + (float)Eps).Sqrt();
        var c = ChannelShape(x.Shape);
        return xhat * weight.Reshape(c) + bias.Reshape(c);
    }

    static (Tensor X, Tensor Weight, Tensor Bias) Inputs(int[] shape, int seed)
    {
        var g = new Generator(seed);
        int c = shape[1];
        var x = Tensor.Randn(g, shape) * 2f + 0.5f;
        var weight = Tensor.Rand(g, c) + 0.5f;
        var bias = Tensor.Randn(g, c);
        foreach (var t in new[] { x, weight, bias }) t.RequiresGrad = true;
        return (x, weight, bias);
    }

    [Fact]
    public void WorkedExample()
    {
        var x = Tensor.FromArray([1, 2, 3, 4, 5], 5, 1);
        var y = Functional.BatchNorm(x, null, null, null, null, training: true);
        GradCheck.AssertClose([-1.41421f, -0.707107f, 0, 0.707107f, 1.41421f], y.ToArray(), atol: 1e-4, what: "y");
        Assert.Equal([5, 1], y.Shape);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Training_ForwardAndBackwardMatchPrimitiveOps(int[] shape)
    {
        var (x, weight, bias) = Inputs(shape, 1);
        var dy = Tensor.Randn(new Generator(2), shape);

        var fused = Functional.BatchNorm(x, null, null, weight, bias, training: true, eps: Eps);
        fused.Backward(dy);
        float[] dx = x.Grad!.ToArray(), dWeight = weight.Grad!.ToArray(), dBias = bias.Grad!.ToArray();
        x.Grad = weight.Grad = bias.Grad = null;

        var reference = Composite(x, weight, bias);
        reference.Backward(dy);
        GradCheck.AssertClose(reference.ToArray(), fused.ToArray(), what: "y");
        GradCheck.AssertClose(x.Grad!.ToArray(), dx, atol: 1e-5, rtol: 1e-3, what: "dx");
        GradCheck.AssertClose(weight.Grad!.ToArray(), dWeight, atol: 1e-4, rtol: 1e-4, what: "dWeight");
        GradCheck.AssertClose(bias.Grad!.ToArray(), dBias, atol: 1e-4, rtol: 1e-4, what: "dBias");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Training_MatchesFiniteDifferences(int[] shape)
    {
        var (x, weight, bias) = Inputs(shape, 3);
        GradCheck.Check(ins => Functional.BatchNorm(ins[0], null, null, ins[1], ins[2], training: true), [x, weight, bias]);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Training_NoAffine_MatchesFiniteDifferences(int[] shape)
    {
        var (x, _, _) = Inputs(shape, 4);
        GradCheck.Check(ins => Functional.BatchNorm(ins[0], null, null, null, null, training: true), [x]);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Eval_UsesRunningStatisticsAndMatchesFiniteDifferences(int[] shape)
    {
        var (x, weight, bias) = Inputs(shape, 5);
        int c = shape[1];
        var g = new Generator(6);
        var runningMean = Tensor.Randn(g, c);
        var runningVar = Tensor.Rand(g, c) + 0.5f;
        float[] rm = runningMean.ToArray(), rv = runningVar.ToArray(), w = weight.ToArray(), b = bias.ToArray(), xs = x.ToArray();

        var y = Functional.BatchNorm(x, runningMean, runningVar, weight, bias, training: false, eps: Eps).ToArray();
        int s = x.Numel / (shape[0] * c);
        var expected = new float[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            int ci = i / s % c;
            expected[i] = (float)((xs[i] - (double)rm[ci]) / Math.Sqrt(rv[ci] + Eps) * w[ci] + b[ci]);
        }
        GradCheck.AssertClose(expected, y, what: "y");
        Assert.Equal(rm, runningMean.ToArray());
        Assert.Equal(rv, runningVar.ToArray());

        GradCheck.Check(ins => Functional.BatchNorm(ins[0], runningMean, runningVar, ins[1], ins[2], training: false), [x, weight, bias]);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ConstantChannel_GivesZerosAndFiniteGradients(int[] shape)
    {
        var (x, _, _) = Inputs(shape, 7);
        var data = x.ToArray();
        int c = shape[1], s = x.Numel / (shape[0] * c);
        for (int i = 0; i < data.Length; i++)
        {
            if (i / s % c == 1) data[i] = 2.5f;
        }
        var constant = Tensor.FromArray(data, shape);
        constant.RequiresGrad = true;
        var y = Functional.BatchNorm(constant, null, null, null, null, training: true);
        var ys = y.ToArray();
        for (int i = 0; i < ys.Length; i++)
        {
            Assert.True(float.IsFinite(ys[i]), $"y[{i}] = {ys[i]}");
            if (i / s % c == 1) Assert.Equal(0f, ys[i]);
        }
        y.Backward(Tensor.Randn(new Generator(8), shape));
        Assert.All(constant.Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void OneValuePerChannel_ThrowsWhenTraining()
    {
        var ex = Assert.Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Ones(1, 4), null, null, null, null, training: true));
        Assert.Contains("expected more than 1 value per channel when training", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void WrongParameterShape_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Ones(4, 3), null, null, Tensor.Ones(4), Tensor.Zeros(4), training: true));
        Assert.Contains("[4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("3 channels", ex.Message, StringComparison.Ordinal);
    }
}
