// Deterministic release: Tensor.Dispose returns a pooled buffer at once unless a view or a graph node
// still holds its storage; a released storage refuses to be read; the autograd engine disposes the
// gradients it passes between nodes once consumed, never the caller's gradient or a leaf's .Grad.
using MiniNet.Backends;

namespace MiniNet.Tests.Core;

public class DisposeTests
{
    // Lengths no other test allocates, so that the shared pool's buckets are this test's alone.
    const int Large = CpuArrayPool.MinPooledLength + 3001;

    static float[] Data(Tensor t) => ((CpuStorage)t.Storage).Data;

    [Fact]
    public void DisposedBufferIsTheNextOneRentedOfItsLength()
    {
        var x = Tensor.Full(3f, Large);
        var array = Data(x);
        x.Dispose();
        Assert.True(x.IsDisposed);
        Assert.True(x.Storage.IsReleased);
        var y = Tensor.Zeros(Large);
        Assert.Same(array, Data(y));
        Assert.All(Data(y), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void DisposeTwiceIsHarmless_AndAReleasedTensorRefusesToBeRead()
    {
        var x = Tensor.Full(1f, 10);
        x.Dispose();
        x.Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => x.ToArray());
        Assert.Contains("ToArray", e.Message, StringComparison.Ordinal);
        Assert.Contains("[10]", e.Message, StringComparison.Ordinal);
        var scalar = Tensor.Scalar(2f);
        scalar.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scalar.Item());
        var op = Assert.Throws<ObjectDisposedException>(() => x + 1f);
        Assert.Contains("released by Dispose()", op.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AViewKeepsTheStorageUntilItIsDisposedToo()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var view = x.Reshape(3, 2);
        var detached = x.Detach();
        x.Dispose();
        Assert.False(view.Storage.IsReleased);
        Assert.Equal(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, view.ToArray());
        view.Dispose();
        Assert.Equal(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, detached.ToArray());
        detached.Dispose();
        Assert.True(x.Storage.IsReleased);
    }

    [Fact]
    public void TheGraphKeepsWhatItSavedUntilBackwardHasRun()
    {
        // y = relu(x)·x saves x and relu(x); disposing them before Backward must not change the gradient.
        var x = Tensor.FromArray([-1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        var h = x.Relu();
        var y = h * x;
        var loss = y.Sum();
        var xStorage = x.Detach();   // a second holder, so that x's storage outlives the test's checks
        h.Dispose();
        y.Dispose();
        Assert.False(h.Storage.IsReleased);
        loss.Backward();
        Assert.Equal(new[] { 0f, 4f, 6f }, x.Grad!.ToArray());
        Assert.True(h.Storage.IsReleased);       // the nodes let go after Backward
        Assert.True(y.Storage.IsReleased);
        Assert.False(xStorage.Storage.IsReleased);
    }

    [Fact]
    public void RetainedGraphKeepsItsBuffersForASecondBackward()
    {
        var x = Tensor.FromArray([1f, 2f], 2);
        x.RequiresGrad = true;
        var h = x * x;
        var loss = h.Sum();
        h.Dispose();
        loss.Backward(retainGraph: true);
        Assert.False(h.Storage.IsReleased);
        loss.Backward();
        Assert.Equal(new[] { 4f, 8f }, x.Grad!.ToArray());
        Assert.True(h.Storage.IsReleased);
    }

    // An op whose backward records the gradient it was given and passes it on unchanged (as Add does).
    static Tensor Spy(Tensor x, List<Tensor> seen, bool copy) =>
        Tensor.Make(x.Device.Backend.AllocateUninitialized(x.Numel) is var s && Copy(x, s) ? s : s, x.ShapeRef, "Spy", [x], g =>
        {
            seen.Add(g);
            return [copy ? g * 1f : g];
        });

    static bool Copy(Tensor x, Storage s)
    {
        x.Device.Backend.Copy(x.Storage, s);
        return true;
    }

    [Fact]
    public void TheEngineDisposesTheGradientsItPassedOn_NotTheCallersNorALeafsGrad()
    {
        var x = Tensor.Full(2f, 3);
        x.RequiresGrad = true;
        var seen = new List<Tensor>();
        var top = Spy(Spy(Spy(x, seen, copy: true), seen, copy: true), seen, copy: true);
        var dy = Tensor.Full(1f, 3);
        top.Backward(dy);
        Assert.Equal(3, seen.Count);
        Assert.Same(dy, seen[0]);
        Assert.False(dy.IsDisposed);               // the caller's
        Assert.True(seen[1].IsDisposed);           // made by a backward, consumed by the next
        Assert.True(seen[2].IsDisposed);
        Assert.False(x.Grad!.IsDisposed);          // the leaf keeps the last one
        Assert.Equal(new[] { 1f, 1f, 1f }, x.Grad.ToArray());
        top = Spy(Spy(x, seen, copy: true), seen, copy: true);
        top.Sum().Backward();                      // accumulates into the kept .Grad
        Assert.Equal(new[] { 2f, 2f, 2f }, x.Grad.ToArray());
    }

    [Fact]
    public void AGradientHandedToSeveralInputsIsDisposedOnlyAfterItsLastUse()
    {
        // Add hands one tensor to both of its inputs; each path then runs its own backward.
        var x = Tensor.FromArray([1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        var seen = new List<Tensor>();
        var a = Spy(x * 2f, seen, copy: false);
        var b = Spy(x * 3f, seen, copy: false);
        var loss = ((a + b) * 1f).Sum();
        loss.Backward();
        Assert.Equal(2, seen.Count);
        Assert.Same(seen[0], seen[1]);
        Assert.True(seen[0].IsDisposed);
        Assert.Equal(new[] { 5f, 5f, 5f }, x.Grad!.ToArray());
    }

    [Fact]
    public void ATrainingLoopReusesItsBuffersWithoutCollections()
    {
        // Forward, backward, dispose: every step rents the same few warm arrays.
        var x = Tensor.Randn(new Generator(1), 4, Large / 4);
        var w = Tensor.Randn(new Generator(2), 4, Large / 4);
        w.RequiresGrad = true;
        var arrays = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        for (int step = 0; step < 20; step++)
        {
            var h = (x * w).Relu();
            var loss = h.Sum();
            loss.Backward();
            arrays.Add(Data(h));
            h.Dispose();
            loss.Dispose();
            w.Grad!.Dispose();
            w.Grad = null;
        }
        Assert.True(arrays.Count <= 3, $"{arrays.Count} distinct arrays for h over 20 steps");
    }
}

public class DisposeScopeTests
{
    [Fact]
    public void AScopeDisposesTheOpResultsMadeInIt_NotFactoriesNorGradients()
    {
        var w = Tensor.FromArray([1f, -2f, 3f], 3);
        w.RequiresGrad = true;
        Tensor h, loss, zeros;
        using (var scope = Tensor.NewDisposeScope())
        {
            zeros = Tensor.Zeros(3);
            h = (w * 2f).Relu();
            loss = h.Sum();
            loss.Backward();
            Assert.Same(scope, DisposeScope.Current);
            Assert.True(scope.Count >= 3);
        }
        Assert.Null(DisposeScope.Current);
        Assert.True(h.IsDisposed);
        Assert.True(loss.IsDisposed);
        Assert.False(zeros.IsDisposed);
        Assert.False(w.Grad!.IsDisposed);
        Assert.Equal(new[] { 2f, 0f, 2f }, w.Grad.ToArray());
    }

    [Fact]
    public void ResultsMovedOutOrDetachedSurvive_AndScopesNest()
    {
        var x = Tensor.FromArray([1f, 2f], 2);
        Tensor kept, moved, inner;
        using (var outer = Tensor.NewDisposeScope())
        {
            using (Tensor.NewDisposeScope())
            {
                kept = (x + 1f).DetachFromDisposeScope();
                moved = (x * 3f).MoveToOuterDisposeScope();
                inner = x - 1f;
            }
            Assert.True(inner.IsDisposed);
            Assert.False(moved.IsDisposed);
            Assert.Equal(1, outer.Count);
        }
        Assert.True(moved.IsDisposed);
        Assert.Equal(new[] { 2f, 3f }, kept.ToArray());
    }

    [Fact]
    public void ScopesCloseInnermostFirst()
    {
        var outer = Tensor.NewDisposeScope();
        var inner = Tensor.NewDisposeScope();
        var e = Assert.Throws<InvalidOperationException>(outer.Dispose);
        Assert.Contains("innermost first", e.Message, StringComparison.Ordinal);
        inner.Dispose();
        outer.Dispose();
        outer.Dispose();
        Assert.Null(DisposeScope.Current);
    }

    // A module whose weight is an op result (made inside whatever scope is open when it is built).
    sealed class Scaled : MiniNet.Layers.Module
    {
        public Scaled() => Weight = RegisterParameter("weight", Tensor.Ones(4, 3) * 0.5f)!;

        public Tensor Weight { get; }

        public override Tensor Forward(Tensor x) => x.MatMul(Weight.T);
    }

    [Fact]
    public void ATrainingStepInAScopeKeepsTheModelAndOptimizerState()
    {
        // The module is built in a scope that then closes: its registered parameter must survive it.
        // The momentum buffers are made in the first step's scope: they must survive it too.
        Scaled model;
        using (Tensor.NewDisposeScope()) model = new Scaled();
        Assert.False(model.Weight.IsDisposed);
        var opt = new MiniNet.Optim.SGD(model.Parameters(), lr: 0.1, momentum: 0.9);
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var before = model.Weight.ToArray();
        for (int step = 0; step < 3; step++)
        {
            using var _ = Tensor.NewDisposeScope();
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Forward(x), [0, 3]);
            loss.Backward();
            opt.Step();
        }
        Assert.NotEqual(before, model.Weight.ToArray());
        Assert.All(model.Weight.ToArray(), v => Assert.True(float.IsFinite(v)));
    }
}
