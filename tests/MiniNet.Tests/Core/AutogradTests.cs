namespace MiniNet.Tests.Core;

public class AutogradTests
{
    static Tensor Leaf(float[] data, params int[] shape)
    {
        var t = Tensor.FromArray(data, shape);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void ScalarExpressionMatchesHandDerivative()
    {
        // f = (a·b + a)² with a = 2, b = 3: f = 64, df/da = 2·8·(b + 1) = 64, df/db = 2·8·a = 32
        var a = Leaf([2f]);
        var b = Leaf([3f]);
        var f = (a * b + a).Pow(2f);
        f.Backward();
        Assert.Equal(64f, f.Item());
        Assert.Equal(64f, a.Grad!.Item(), 4);
        Assert.Equal(32f, b.Grad!.Item(), 4);
    }

    [Fact]
    public void GradientsAccumulateAcrossBackwardCalls()
    {
        var x = Leaf([1f, 2f], 2);
        (x * 3f).Sum().Backward();
        (x * 3f).Sum().Backward();
        Assert.Equal(new[] { 6f, 6f }, x.Grad!.ToArray());
        x.Grad = null;
        (x * 3f).Sum().Backward();
        Assert.Equal(new[] { 3f, 3f }, x.Grad!.ToArray());
    }

    // A leaf's first gradient is kept without a copy only when no one else holds its storage.
    [Fact]
    public void LeafGradNeverAliasesTheUsersGradientOrASiblingsGradient()
    {
        var x = Leaf([1f, 2f, 3f, 4f], 2, 2);
        var g = Tensor.FromArray([1f, 1f, 1f, 1f], 4);
        x.Reshape(4).Backward(g);          // Reshape's backward hands back a view of g
        Assert.NotSame(g.Storage, x.Grad!.Storage);
        g.FillInPlace(5f);
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, x.Grad.ToArray());

        var a = Leaf([1f, 2f], 2);
        var b = Leaf([3f, 4f], 2);
        var ones = Tensor.FromArray([1f, 1f], 2);
        (a + b).Backward(ones);            // Add's backward hands the same gradient to both inputs
        Assert.NotSame(a.Grad!.Storage, b.Grad!.Storage);
        Assert.NotSame(ones.Storage, a.Grad.Storage);
        a.Grad.FillInPlace(9f);
        Assert.Equal(new[] { 1f, 1f }, b.Grad.ToArray());
    }

    [Fact]
    public void AKeptFirstGradientTakesLaterOnesInPlace()
    {
        var w = Leaf([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var x = Tensor.FromArray([1f, 0f, 2f], 1, 3);
        var y = Functional.Linear(x, w);
        y.Sum().Backward();                 // w.Grad is the buffer Linear's backward made (kept, not copied)
        var first = w.Grad!;
        Functional.Linear(x, w).Sum().Backward();
        Assert.Same(first, w.Grad);
        Assert.Equal(new[] { 2f, 0f, 4f, 2f, 0f, 4f }, w.Grad!.ToArray());
        (w * w).Sum().Backward();           // both of Mul's inputs are w: two fresh gradients, both added
        Assert.Equal(new[] { 4f, 4f, 10f, 10f, 10f, 16f }, w.Grad.ToArray());
    }

    [Fact]
    public void DiamondGraphSumsBothPaths()
    {
        var x = Leaf([1.5f]);
        var y = x * x;
        var z = y + y.Exp();
        z.Backward();
        // dz/dx = 2x + e^{x²}·2x
        double expected = 2 * 1.5 + Math.Exp(2.25) * 3;
        Assert.Equal(expected, x.Grad!.Item(), 3);
    }

    [Fact]
    public void OnlyTensorsRequiringGradBuildAGraph()
    {
        var a = Tensor.FromArray([1f, 2f], 2);
        var b = Leaf([3f, 4f], 2);
        Assert.Null((a * a).GradFnName);
        Assert.False((a * a).RequiresGrad);
        var c = a * b;
        Assert.Equal("Mul", c.GradFnName);
        c.Sum().Backward();
        Assert.Null(a.Grad);
        Assert.Equal(new[] { 1f, 2f }, b.Grad!.ToArray());
    }

    [Fact]
    public void NoGradScopeRecordsNothingAndNests()
    {
        var x = Leaf([1f], 1);
        using (Autograd.NoGrad())
        {
            using (Autograd.NoGrad()) Assert.False(Autograd.IsGradEnabled);
            Assert.False(Autograd.IsGradEnabled);
            Assert.False((x * 2f).RequiresGrad);
        }
        Assert.True(Autograd.IsGradEnabled);
        Assert.True((x * 2f).RequiresGrad);
    }

    [Fact]
    public void DetachCutsTheGraphAndSharesStorage()
    {
        var x = Leaf([1f, 2f], 2);
        var d = (x * 2f).Detach();
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        var y = (x * d).Sum();
        y.Backward();
        Assert.Equal(new[] { 2f, 4f }, x.Grad!.ToArray());
    }

    [Fact]
    public void BackwardOnNonScalarNeedsAGradient()
    {
        var x = Leaf([1f, 2f], 2);
        var y = x * 2f;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("[2]", e.Message, StringComparison.Ordinal);
        y.Backward(Tensor.FromArray([1f, 10f], 2));
        Assert.Equal(new[] { 2f, 20f }, x.Grad!.ToArray());
    }

    [Fact]
    public void BackwardWithWrongGradientShapeNamesBothShapes()
    {
        var x = Leaf([1f, 2f], 2);
        var y = x * 2f;
        var e = Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Ones(3)));
        Assert.Contains("[3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BackwardOnTensorWithoutGradIsAClearError()
    {
        var x = Tensor.FromArray([1f, 2f], 2);
        var e = Assert.Throws<InvalidOperationException>(() => x.Sum().Backward());
        Assert.Contains("does not require grad", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecondBackwardThroughFreedGraphFails_RetainGraphAllowsIt()
    {
        var x = Leaf([1f, 2f], 2);
        var y = (x * x).Sum();
        y.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("second time", e.Message, StringComparison.Ordinal);

        x.Grad = null;
        var z = (x * x).Sum();
        z.Backward(retainGraph: true);
        z.Backward();
        Assert.Equal(new[] { 4f, 8f }, x.Grad!.ToArray());
    }

    [Fact]
    public void RequiresGradCannotBeClearedOnANonLeaf()
    {
        var x = Leaf([1f], 1);
        var y = x * 2f;
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
    }

    [Fact]
    public void InPlaceOnALeafThatRequiresGradIsRefusedUnderGrad()
    {
        var x = Leaf([1f], 1);
        Assert.Throws<InvalidOperationException>(() => x.MulInPlace(2f));
        using (Autograd.NoGrad()) x.MulInPlace(2f);
        Assert.Equal(2f, x.Item());
    }

    [Fact]
    public void GradSetterChecksShape()
    {
        var x = Leaf([1f, 2f], 2);
        var e = Assert.Throws<ArgumentException>(() => x.Grad = Tensor.Zeros(3));
        Assert.Contains("[3]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepChainDoesNotOverflowTheStack()
    {
        var x = Leaf([1f]);
        var y = x;
        for (int i = 0; i < 20000; i++) y = y + 0f;
        y.Backward();
        Assert.Equal(1f, x.Grad!.Item());
    }
}
