// MaxPool2d: forward against a float64 window maximum and backward against finite differences, for
// kernel 2 stride 2 and the overlapping kernel 3 stride 2. Inputs are a shuffled ramp with steps of
// 0.01, far above the finite-difference step, so no window has a tie (or near-tie) to flip.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class MaxPool2dTests
{
    static Tensor DistinctInput(int seed, params int[] shape)
    {
        int count = shape.Aggregate(1, (a, b) => a * b);
        var values = Enumerable.Range(0, count).Select(i => (i - count / 2) * 0.01f).ToArray();
        new Random(seed).Shuffle(values);
        var x = Tensor.FromArray(values, shape);
        x.RequiresGrad = true;
        return x;
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void Forward_MatchesWindowMaximum(int k, int stride)
    {
        const int n = 2, c = 3, h = 7, w = 9;
        var x = DistinctInput(1, n, c, h, w);
        var y = new MaxPool2d(k, stride).Forward(x);

        int outH = (h - k) / stride + 1, outW = (w - k) / stride + 1;
        Assert.Equal([n, c, outH, outW], y.Shape);
        var xs = x.ToArray();
        var expected = new float[n * c * outH * outW];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < outH; i++)
                for (int j = 0; j < outW; j++)
                {
                    float max = float.NegativeInfinity;
                    for (int di = 0; di < k; di++)
                        for (int dj = 0; dj < k; dj++)
                            max = Math.Max(max, xs[(p * h + i * stride + di) * w + j * stride + dj]);
                    expected[(p * outH + i) * outW + j] = max;
                }
        Assert.Equal(expected, y.ToArray());
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public void Backward_MatchesFiniteDifferences(int k, int stride)
    {
        var pool = new MaxPool2d(k, stride);
        GradCheck.Check(ins => pool.Forward(ins[0]), [DistinctInput(2, 2, 3, 7, 9)]);
    }

    [Fact]
    public void Ties_SendTheGradientToTheFirstMaximum()
    {
        // PyTorch's CPU kernel keeps the first maximum of a window (row-major), so a tie routes there.
        var x = Tensor.FromArray([1, 3, 3, 0, 3, 3, 2, 2, 2], 1, 1, 3, 3);
        x.RequiresGrad = true;
        var y = new MaxPool2d(2, 1).Forward(x);
        Assert.Equal([3f, 3f, 3f, 3f], y.ToArray());
        y.Backward(Tensor.FromArray([1, 10, 100, 1000], 1, 1, 2, 2));
        Assert.Equal([0f, 11f, 0f, 0f, 1100f, 0f, 0f, 0f, 0f], x.Grad!.ToArray());
    }

    [Fact]
    public void Stride_DefaultsToKernelSize()
    {
        var pool = new MaxPool2d(3);
        Assert.Equal(3, pool.Stride);
        Assert.Equal([1, 1, 2, 3], pool.Forward(Tensor.Zeros(1, 1, 7, 9)).Shape);
    }

    [Fact]
    public void BadInput_NamesOpAndShape()
    {
        var pool = new MaxPool2d(3);
        var e = Assert.Throws<ArgumentException>(() => pool.Forward(Tensor.Zeros(2, 4, 4)));
        Assert.Contains("MaxPool2d", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 4, 4]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => pool.Forward(Tensor.Zeros(1, 1, 2, 5)));
        Assert.Contains("[1, 1, 2, 5]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2d(0));
    }
}
