namespace MiniNet.Tests.Core;

public class TensorTests
{
    [Fact]
    public void FromArrayKeepsShapeAndCopiesData()
    {
        var data = new[] { 1f, 2f, 3f, 4f, 5f, 6f };
        var t = Tensor.FromArray(data, 2, 3);
        data[0] = 100f;
        Assert.Equal(new[] { 2, 3 }, t.Shape);
        Assert.Equal(1f, t.ToArray()[0]);
        Assert.Equal(6, t.Numel);
    }

    [Fact]
    public void ZeroDimensionalTensorHasEmptyShape()
    {
        Assert.Empty(Tensor.Scalar(2f).Shape);
        Assert.Empty(Tensor.FromArray([3f], []).Shape);
        Assert.Equal(3f, Tensor.FromArray([3f], []).Item());
        Assert.Equal(new[] { 2 }, Tensor.FromArray([1f, 2f]).Shape);
        Assert.Empty(Tensor.Ones(2, 3).Sum().Shape);
    }

    [Fact]
    public void FromArrayWithWrongCountNamesShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f, 2f, 3f], 2, 2));
        Assert.Contains("[2, 2]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, -1));
    }

    [Fact]
    public void RandomFactoriesAreReproducibleWithASeed()
    {
        var a = Tensor.Randn(new Generator(42), 100);
        var b = Tensor.Randn(new Generator(42), 100);
        var c = Tensor.Randn(new Generator(43), 100);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
        Generator.ManualSeed(7);
        var d = Tensor.Rand(50);
        Generator.ManualSeed(7);
        Assert.Equal(d.ToArray(), Tensor.Rand(50).ToArray());
        Assert.All(d.ToArray(), v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void RandnHasUnitMoments()
    {
        var x = Tensor.Randn(new Generator(1), 100_000).ToArray();
        double mean = x.Average(v => (double)v);
        double var = x.Average(v => (v - mean) * (v - mean));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(var, 0.97, 1.03);
    }

    [Fact]
    public void ReshapeInfersAndChecks()
    {
        var t = Tensor.Zeros(2, 3, 4);
        Assert.Equal(new[] { 6, 4 }, t.Reshape(-1, 4).Shape);
        Assert.Equal(new[] { 2, 12 }, t.Flatten(1).Shape);
        Assert.Equal(new[] { 24 }, t.Flatten().Shape);
        Assert.Equal(new[] { 2, 1, 3, 4 }, t.Unsqueeze(1).Shape);
        Assert.Equal(new[] { 2, 3, 4 }, t.Unsqueeze(1).Squeeze(1).Shape);
        var e = Assert.Throws<ArgumentException>(() => t.Reshape(5, -1));
        Assert.Contains("[2, 3, 4]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => t.Reshape(-1, -1));
    }

    [Fact]
    public void TransposeAndPermuteMoveElements()
    {
        var t = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Assert.Equal(new[] { 1f, 4f, 2f, 5f, 3f, 6f }, t.T.ToArray());
        var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 2, 3, 4);
        var p = x.Permute(2, 0, 1);
        Assert.Equal(new[] { 4, 2, 3 }, p.Shape);
        var xs = x.ToArray();
        var ps = p.ToArray();
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 4; c++)
                    Assert.Equal(xs[(a * 3 + b) * 4 + c], ps[(c * 2 + a) * 3 + b]);
        Assert.Throws<ArgumentException>(() => x.Permute(0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Transpose(0, 3));
    }

    [Fact]
    public void SumAndMeanOverDims()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Assert.Equal(21f, x.Sum().Item());
        Assert.Equal(new[] { 5f, 7f, 9f }, x.Sum(0).ToArray());
        Assert.Equal(new[] { 6f, 15f }, x.Sum(1).ToArray());
        Assert.Equal(new[] { 2, 1 }, x.Sum(1, keepDim: true).Shape);
        Assert.Equal(new[] { 2f, 5f }, x.Mean(-1).ToArray());
        Assert.Equal(3.5f, x.Mean().Item());
        Assert.Equal(new[] { 1f, 1f }, x.Var([1]).ToArray());
        Assert.Equal(2f / 3f, x.Var([1], unbiased: false).ToArray()[0], 6);
    }

    [Fact]
    public void ArgMaxPicksTheFirstMaximumPerRow()
    {
        var x = Tensor.FromArray([1f, 3f, 3f, 9f, 0f, -1f], 2, 3);
        Assert.Equal(new[] { 1, 0 }, x.ArgMax());
    }

    [Fact]
    public void ItemOnlyForOneElement()
    {
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item());
    }

    [Fact]
    public void ToStringShowsValuesShapeAndGradFn()
    {
        var x = Tensor.FromArray([1f, 2f], 2);
        x.RequiresGrad = true;
        Assert.Contains("shape=[2]", x.ToString(), StringComparison.Ordinal);
        Assert.Contains("grad_fn=MulScalar", (x * 2f).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LargeElementwiseOpsSplitAcrossCoresMatchPerElementResults()
    {
        const int n = 300_001; // above the backend's parallel threshold, odd so the halves differ
        var g = new Generator(9);
        var a = Tensor.Randn(g, n);
        var b = Tensor.Randn(g, n);
        float[] av = a.ToArray(), bv = b.ToArray();
        var product = (a * b).ToArray();
        var scaled = (a * 3f).ToArray();
        var acc = a.Clone().Detach();
        acc.AddInPlace(b, 0.5f);
        var accumulated = acc.ToArray();
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(av[i] * bv[i], product[i]);
            Assert.Equal(av[i] * 3f, scaled[i]);
            Assert.Equal(MathF.FusedMultiplyAdd(bv[i], 0.5f, av[i]), accumulated[i], 6);
        }
    }
}
