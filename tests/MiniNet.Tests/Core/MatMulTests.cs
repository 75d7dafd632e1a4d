// MatMul against an independent float64 reference (MathNet) and finite differences.
using MathNet.Numerics.LinearAlgebra;

namespace MiniNet.Tests.Core;

public class MatMulTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(17, 33, 9)]
    [InlineData(64, 70, 130)]
    public void MatchesFloat64Reference(int m, int k, int n)
    {
        var g = new Generator(m * 1000 + k * 10 + n);
        var a = Tensor.Randn(g, m, k);
        var b = Tensor.Randn(g, k, n);
        var c = a.MatMul(b).ToArray();
        var ma = Matrix<double>.Build.Dense(m, k, (i, j) => a.ToArray()[i * k + j]);
        var mb = Matrix<double>.Build.Dense(k, n, (i, j) => b.ToArray()[i * n + j]);
        var expected = ma * mb;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                Assert.True(Math.Abs(expected[i, j] - c[i * n + j]) <= 1e-4 * (1 + Math.Abs(expected[i, j])), $"C[{i},{j}]");
    }

    [Theory]
    [InlineData(new[] { 3, 4 }, new[] { 4, 5 })]
    [InlineData(new[] { 4 }, new[] { 4 })]
    [InlineData(new[] { 3, 4 }, new[] { 4 })]
    [InlineData(new[] { 4 }, new[] { 4, 2 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 2, 4, 5 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 4, 5 })]
    [InlineData(new[] { 3, 4 }, new[] { 2, 4, 5 })]
    public void GradientsMatchFiniteDifferences(int[] a, int[] b)
    {
        GradCheck.Check(t => t[0].MatMul(t[1]), GradCheck.Inputs(a.Length * 10 + b.Length, a, b));
    }

    [Fact]
    public void BatchedResultsEqualPerMatrixProducts()
    {
        var g = new Generator(5);
        var a = Tensor.Randn(g, 3, 2, 4);
        var b = Tensor.Randn(g, 4, 5);
        var c = a.MatMul(b).ToArray();
        var a1 = Tensor.FromArray(a.ToArray()[8..16], 2, 4);
        Assert.Equal(a1.MatMul(b).ToArray(), c[10..20]);
    }

    [Fact]
    public void IncompatibleShapesNameBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).MatMul(Tensor.Zeros(4, 5)));
        Assert.Contains("MatMul", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 5]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 2, 3).MatMul(Tensor.Zeros(3, 3, 4)));
    }
}
