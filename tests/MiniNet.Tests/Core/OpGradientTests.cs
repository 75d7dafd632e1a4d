// Every differentiable op in the core, checked against central finite differences on odd shapes.
namespace MiniNet.Tests.Core;

public class OpGradientTests
{
    public static TheoryData<int[], int[]> BroadcastPairs => new()
    {
        { new[] { 3, 5 }, new[] { 3, 5 } },
        { new[] { 3, 5 }, new[] { 5 } },
        { new[] { 3, 1 }, new[] { 1, 5 } },
        { new[] { 2, 3, 4 }, new[] { 3, 1 } },
        { new[] { 1 }, new[] { 2, 3 } },
        { Array.Empty<int>(), new[] { 4 } },
        { new[] { 2, 1, 3, 1 }, new[] { 4, 1, 5 } },
    };

    [Theory]
    [MemberData(nameof(BroadcastPairs))]
    public void AddSubMulBroadcast(int[] a, int[] b)
    {
        GradCheck.Check(t => t[0] + t[1], GradCheck.Inputs(1, a, b));
        GradCheck.Check(t => t[0] - t[1], GradCheck.Inputs(2, a, b));
        GradCheck.Check(t => t[0] * t[1], GradCheck.Inputs(3, a, b));
    }

    [Theory]
    [MemberData(nameof(BroadcastPairs))]
    public void DivBroadcast(int[] a, int[] b)
    {
        var inputs = GradCheck.Inputs(4, a, b);
        // keep the divisor away from zero
        var bounded = inputs[1].Detach().Abs() + 0.5f;
        var divisor = Tensor.FromArray(bounded.ToArray(), b);
        divisor.RequiresGrad = true;
        GradCheck.Check(t => t[0] / t[1], [inputs[0], divisor]);
    }

    [Fact]
    public void MaximumAndMinimum()
    {
        GradCheck.Check(t => Tensor.Maximum(t[0], t[1]), GradCheck.Inputs(5, [4, 3], [3]));
        GradCheck.Check(t => Tensor.Minimum(t[0], t[1]), GradCheck.Inputs(6, [4, 3], [4, 1]));
    }

    [Fact]
    public void MaximumSplitsTheGradientAtTies()
    {
        var a = Tensor.FromArray([1f, 2f], 2);
        var b = Tensor.FromArray([1f, 3f], 2);
        a.RequiresGrad = b.RequiresGrad = true;
        Tensor.Maximum(a, b).Sum().Backward();
        Assert.Equal(new[] { 0.5f, 0f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 0.5f, 1f }, b.Grad!.ToArray());
    }

    [Fact]
    public void ScalarArithmetic()
    {
        GradCheck.Check(t => (t[0] + 2f) * 3f - 1f, GradCheck.Inputs(7, [5]));
        GradCheck.Check(t => 2f - t[0] / 4f, GradCheck.Inputs(8, [2, 3]));
        GradCheck.Check(t => 1f / (t[0] * t[0] + 1f), GradCheck.Inputs(9, [3, 3]));
        GradCheck.Check(t => -t[0], GradCheck.Inputs(10, [7]));
    }

    [Fact]
    public void UnaryFunctions()
    {
        GradCheck.Check(t => t[0].Exp(), GradCheck.Inputs(11, [3, 5]));
        GradCheck.Check(t => (t[0] * t[0] + 0.5f).Log(), GradCheck.Inputs(12, [3, 5]));
        GradCheck.Check(t => (t[0] * t[0] + 0.5f).Sqrt(), GradCheck.Inputs(13, [7]));
        GradCheck.Check(t => t[0].Sigmoid(), GradCheck.Inputs(14, [2, 5]));
        GradCheck.Check(t => t[0].Tanh(), GradCheck.Inputs(15, [2, 5]));
        GradCheck.Check(t => (t[0].Abs() + 0.5f).Pow(1.7f), GradCheck.Inputs(16, [9]));
        GradCheck.Check(t => t[0].Square(), GradCheck.Inputs(17, [4]));
    }

    [Fact]
    public void ReluAndAbsAwayFromZero()
    {
        var x = Tensor.FromArray([-2f, -0.5f, 0.3f, 1.5f, -1f, 2f], 2, 3);
        x.RequiresGrad = true;
        GradCheck.Check(t => t[0].Relu(), [x]);
        GradCheck.Check(t => t[0].Abs(), [x]);
    }

    [Fact]
    public void ReductionsAndShapes()
    {
        GradCheck.Check(t => t[0].Sum(), GradCheck.Inputs(18, [3, 4]));
        GradCheck.Check(t => t[0].Sum(1), GradCheck.Inputs(19, [3, 4, 5]));
        GradCheck.Check(t => t[0].Sum([0, 2], keepDim: true), GradCheck.Inputs(20, [3, 4, 5]));
        GradCheck.Check(t => t[0].Mean(-1), GradCheck.Inputs(21, [3, 7]));
        GradCheck.Check(t => t[0].Mean(), GradCheck.Inputs(22, [5, 3]));
        GradCheck.Check(t => t[0].Var([0]), GradCheck.Inputs(23, [6, 3]));
        GradCheck.Check(t => t[0].Reshape(5, 6), GradCheck.Inputs(24, [3, 10]));
        GradCheck.Check(t => t[0].Transpose(0, 2), GradCheck.Inputs(25, [2, 3, 5]));
        GradCheck.Check(t => t[0].Permute(1, 2, 0), GradCheck.Inputs(26, [2, 3, 5]));
        GradCheck.Check(t => t[0].Expand(4, 3, 5), GradCheck.Inputs(27, [3, 1]));
        GradCheck.Check(t => t[0].SumToShape([3, 1]), GradCheck.Inputs(28, [2, 3, 5]));
        GradCheck.Check(t => t[0].Clone() * t[0], GradCheck.Inputs(29, [4]));
    }

    [Fact]
    public void LogSoftmaxAndSoftmax()
    {
        GradCheck.Check(t => Functional.LogSoftmax(t[0]), GradCheck.Inputs(30, [3, 7]));
        GradCheck.Check(t => Functional.Softmax(t[0]), GradCheck.Inputs(31, [4, 5]));
        var p = Functional.Softmax(Tensor.Randn(new Generator(3), 4, 6)).Sum(1).ToArray();
        Assert.All(p, v => Assert.Equal(1f, v, 5));
    }

    [Fact]
    public void BinaryShapeMismatchNamesOpAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Contains("Add", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) * Tensor.Zeros(3, 2));
        Assert.Contains("Mul", e.Message, StringComparison.Ordinal);
    }
}
