// The optimizer base: ZeroGrad (to null, or zeros in place), parameters without a gradient are skipped,
// and the parameter list is validated.
using MiniNet.Optim;

namespace MiniNet.Tests.Optim;

public class OptimizerTests
{
    [Fact]
    public void ZeroGrad_SetsGradientsToNullByDefault()
    {
        Tensor a = GradCheck.Param(1f, 2f), b = GradCheck.Param(3f);
        var sgd = new SGD([a, b], lr: 0.1);
        (a.Sum() + b.Sum()).Backward();
        sgd.ZeroGrad();
        Assert.Null(a.Grad);
        Assert.Null(b.Grad);
    }

    [Fact]
    public void ZeroGrad_NotToNone_ZeroesInPlace()
    {
        Tensor a = GradCheck.Param(1f, 2f), b = GradCheck.Param(3f);
        var sgd = new SGD([a, b], lr: 0.1);
        a.Sum().Backward();
        var grad = a.Grad!;
        sgd.ZeroGrad(setToNone: false);
        Assert.Same(grad, a.Grad);
        Assert.Equal([0f, 0f], a.Grad!.ToArray());
        Assert.Null(b.Grad);
    }

    [Fact]
    public void Step_SkipsParametersWithoutGradient()
    {
        Tensor a = GradCheck.Param(1f), b = GradCheck.Param(5f);
        var optimizers = new Optimizer[] { new SGD([a, b], lr: 0.1, momentum: 0.9), new Adam([a, b], lr: 0.1) };
        foreach (var optimizer in optimizers)
        {
            a.Grad = Tensor.FromArray([1f], 1);
            b.Grad = null;
            optimizer.Step();
            Assert.Equal(5f, b.Item());
            Assert.NotEqual(1f, a.Item());
        }
        Assert.Null(((SGD)optimizers[0]).MomentumBuffer(1));
        Assert.Equal(0, ((Adam)optimizers[1]).StepCount(1));
        Assert.Equal(1, ((Adam)optimizers[1]).StepCount(0));
    }

    [Fact]
    public void Step_RecordsNoGraph()
    {
        var p = GradCheck.Param(1f);
        var sgd = new SGD([p], lr: 0.1);
        p.Grad = Tensor.FromArray([1f], 1);
        sgd.Step();
        Assert.True(p.IsLeaf);
        Assert.True(p.RequiresGrad);
    }

    [Fact]
    public void InvalidParameterLists_Throw()
    {
        var p = GradCheck.Param(1f);
        Assert.Throws<ArgumentException>(() => new SGD([], lr: 0.1));
        Assert.Throws<ArgumentException>(() => new SGD([p, p], lr: 0.1));
        Assert.Throws<ArgumentException>(() => new SGD([Tensor.Zeros(1)], lr: 0.1));
        Assert.Throws<ArgumentException>(() => new Adam([p * 2f]));
    }

    [Fact]
    public void Lr_CanBeChangedBetweenSteps()
    {
        var p = GradCheck.Param(1f);
        var sgd = new SGD([p], lr: 0.1);
        p.Grad = Tensor.FromArray([1f], 1);
        sgd.Step();
        sgd.Lr = 0.5;
        sgd.Step();
        Assert.Equal(0.4f, p.Item(), 1e-6f);   // 1 − 0.1 − 0.5
    }
}
