// ReLU, Sigmoid, Tanh and Flatten: forward against float64 formulas and backward against finite
// differences. ReLU inputs keep at least 0.1 away from its kink.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class ActivationTests
{
    static Tensor AwayFromZero(int seed, params int[] shape)
    {
        var values = Tensor.Randn(new Generator(seed), shape).ToArray();
        for (int i = 0; i < values.Length; i++) values[i] += values[i] < 0 ? -0.1f : 0.1f;
        var x = Tensor.FromArray(values, shape);
        x.RequiresGrad = true;
        return x;
    }

    public static TheoryData<string> Names() => new() { "ReLU", "Sigmoid", "Tanh" };

    static (Module Layer, Func<double, double> F) Make(string name) => name switch
    {
        "ReLU" => (new ReLU(), v => Math.Max(v, 0)),
        "Sigmoid" => (new Sigmoid(), v => 1 / (1 + Math.Exp(-v))),
        "Tanh" => (new Tanh(), Math.Tanh),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_MatchesFloat64(string name)
    {
        var (layer, f) = Make(name);
        var x = AwayFromZero(1, 3, 5, 7);
        var y = layer.Forward(x);
        Assert.Equal(x.Shape, y.Shape);
        GradCheck.AssertClose(x.ToArray().Select(v => (float)f(v)).ToArray(), y.ToArray(), what: name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Backward_MatchesFiniteDifferences(string name)
    {
        var (layer, _) = Make(name);
        GradCheck.Check(ins => layer.Forward(ins[0]), [AwayFromZero(2, 3, 5, 7)]);
    }

    [Fact]
    public void Relu_GradientAtZeroIsZero()
    {
        var x = Tensor.FromArray([-1f, 0f, 2f]);
        x.RequiresGrad = true;
        new ReLU().Forward(x).Sum().Backward();
        Assert.Equal([0f, 0f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void Sigmoid_IsStableForLargeInputs()
    {
        var y = new Sigmoid().Forward(Tensor.FromArray([-100f, 100f])).ToArray();
        Assert.Equal(0f, y[0], 1e-30f);
        Assert.Equal(1f, y[1]);
    }

    [Fact]
    public void Flatten_KeepsBatchDimAndPassesGradientsThrough()
    {
        var flatten = new Flatten();
        var x = GradCheck.Inputs(1, [2, 3, 5, 7])[0];
        var y = flatten.Forward(x);
        Assert.Equal([2, 105], y.Shape);
        Assert.Equal(x.ToArray(), y.ToArray());
        Assert.Equal([2, 15, 7], new Flatten(1, 2).Forward(x).Shape);
        Assert.Equal([210], new Flatten(0).Forward(x).Shape);
        GradCheck.Check(ins => flatten.Forward(ins[0]) * 2f, [x]);
    }
}
