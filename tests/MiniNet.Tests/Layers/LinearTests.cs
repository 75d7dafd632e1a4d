// Linear: forward against a float64 x·Wᵀ + b, and gradients of x, weight and bias against finite
// differences, with and without bias, on 2-d and 3-d inputs of odd sizes.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class LinearTests
{
    [Theory]
    [InlineData(true, new[] { 3, 7 })]
    [InlineData(false, new[] { 3, 7 })]
    [InlineData(true, new[] { 2, 3, 7 })]
    [InlineData(false, new[] { 2, 3, 7 })]
    public void Forward_MatchesFloat64(bool bias, int[] shape)
    {
        var layer = new Linear(7, 5, bias, new Generator(1));
        var x = Tensor.Randn(new Generator(2), shape);
        var y = layer.Forward(x);

        Assert.Equal([.. shape[..^1], 5], y.Shape);
        float[] xs = x.ToArray(), w = layer.Weight.ToArray(), b = layer.Bias?.ToArray() ?? new float[5];
        int rows = x.Numel / 7;
        var expected = new float[rows * 5];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < 5; o++)
            {
                double sum = b[o];
                for (int i = 0; i < 7; i++) sum += (double)xs[r * 7 + i] * w[o * 7 + i];
                expected[r * 5 + o] = (float)sum;
            }
        }
        GradCheck.AssertClose(expected, y.ToArray(), what: "y");
    }

    [Theory]
    [InlineData(true, new[] { 3, 7 })]
    [InlineData(false, new[] { 3, 7 })]
    [InlineData(true, new[] { 2, 3, 7 })]
    [InlineData(false, new[] { 2, 3, 7 })]
    public void Backward_MatchesFiniteDifferences(bool bias, int[] shape)
    {
        var layer = new Linear(7, 5, bias, new Generator(1));
        var x = GradCheck.Inputs(2, shape)[0];
        Tensor[] inputs = bias ? [x, layer.Weight, layer.Bias!] : [x, layer.Weight];
        GradCheck.Check(ins => layer.Forward(ins[0]), inputs);
    }

    [Fact]
    public void Constructor_RegistersParametersAsPyTorch()
    {
        var layer = new Linear(7, 5);
        Assert.Equal(["weight", "bias"], layer.NamedParameters().Select(p => p.Name));
        Assert.Equal([5, 7], layer.Weight.Shape);
        Assert.Equal([5], layer.Bias!.Shape);
        Assert.True(layer.Weight.RequiresGrad);
        double bound = 1 / Math.Sqrt(7);
        Assert.All(layer.Weight.ToArray().Concat(layer.Bias.ToArray()), v => Assert.InRange(v, -bound, bound));

        var noBias = new Linear(7, 5, bias: false);
        Assert.Null(noBias.Bias);
        Assert.Equal(["weight"], noBias.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void Forward_WrongFeatureCount_Throws()
    {
        var layer = new Linear(7, 5);
        var ex = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(3, 6)));
        Assert.Contains("[3, 6]", ex.Message, StringComparison.Ordinal);
    }
}
