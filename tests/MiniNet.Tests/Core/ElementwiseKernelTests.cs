// The broadcasting kernels against a naive index-by-index reference.
using MiniNet.Kernels;

namespace MiniNet.Tests.Core;

public class ElementwiseKernelTests
{
    static float[] Random(int n, int seed)
    {
        var r = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
    }

    static int Offset(int[] index, int[] shape)
    {
        int off = 0, shift = index.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++) off = off * shape[d] + (shape[d] == 1 ? 0 : index[d + shift]);
        return off;
    }

    static IEnumerable<int[]> Indices(int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        for (int i = 0; i < n; i++)
        {
            var idx = new int[shape.Length];
            int rest = i;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                idx[d] = rest % shape[d];
                rest /= shape[d];
            }
            yield return idx;
        }
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 1, 3, 1, 1 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 4, 1 })]
    [InlineData(new[] { 7, 1, 5 }, new[] { 3, 1 })]
    [InlineData(new[] { 1, 6 }, new[] { 5, 1 })]
    public void BinaryMatchesNaiveBroadcast(int[] aShape, int[] bShape)
    {
        var yShape = Tensor.BroadcastShapes("test", aShape, bShape);
        var a = Random(aShape.Aggregate(1, (x, y) => x * y), 1);
        var b = Random(bShape.Aggregate(1, (x, y) => x * y), 2);
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.Maximum, BinaryOp.Greater })
        {
            var y = new float[yShape.Aggregate(1, (x, z) => x * z)];
            Elementwise.Binary(op, a, aShape, b, bShape, y, yShape);
            int i = 0;
            foreach (var idx in Indices(yShape))
            {
                float u = a[Offset(idx, aShape)], v = b[Offset(idx, bShape)];
                float expected = op switch
                {
                    BinaryOp.Add => u + v,
                    BinaryOp.Sub => u - v,
                    BinaryOp.Mul => u * v,
                    BinaryOp.Div => u / v,
                    BinaryOp.Maximum => Math.Max(u, v),
                    _ => u > v ? 1f : 0f,
                };
                Assert.Equal(expected, y[i++], 5);
            }
        }
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 1, 3, 1, 1 })]
    [InlineData(new[] { 2, 3, 4, 5 }, new[] { 2, 1, 4, 1 })]
    [InlineData(new[] { 6, 7 }, new[] { 1, 7 })]
    [InlineData(new[] { 6, 7 }, new[] { 6, 1 })]
    public void SumToMatchesNaiveReduction(int[] xShape, int[] yShape)
    {
        var x = Random(xShape.Aggregate(1, (a, b) => a * b), 3);
        var y = new float[yShape.Aggregate(1, (a, b) => a * b)];
        Elementwise.SumTo(x, xShape, y, yShape);
        var expected = new double[y.Length];
        int i = 0;
        foreach (var idx in Indices(xShape)) expected[Offset(idx, yShape)] += x[i++];
        for (int j = 0; j < y.Length; j++) Assert.Equal(expected[j], y[j], 4);
    }

    [Fact]
    public void DropoutMaskKeepsAboutOneMinusP()
    {
        var mask = new float[100_000];
        Elementwise.DropoutMask(mask, 0.3f, 12345);
        double kept = mask.Count(v => v != 0) / (double)mask.Length;
        Assert.InRange(kept, 0.69, 0.71);
        Assert.All(mask, v => Assert.True(v == 0f || Math.Abs(v - 1f / 0.7f) < 1e-6));
        var again = new float[100_000];
        Elementwise.DropoutMask(again, 0.3f, 12345);
        Assert.Equal(mask, again);
    }
}
