// Sequential: applies children in order, names them "0", "1", ... and backpropagates through all of them.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class SequentialTests
{
    static Sequential Model() => new(new Linear(5, 7, generator: new Generator(1)), new Tanh(), new Linear(7, 3, generator: new Generator(2)));

    [Fact]
    public void Forward_AppliesChildrenInOrder()
    {
        var model = Model();
        var x = Tensor.Randn(new Generator(3), 4, 5);
        var expected = model[2].Forward(model[1].Forward(model[0].Forward(x)));
        Assert.Equal(expected.ToArray(), model.Forward(x).ToArray());
        Assert.Equal(3, model.Count);
        Assert.IsType<Tanh>(model[1]);
        Assert.Same(model[2], model[-1]);       // negative indices count from the end, as in PyTorch
        Assert.Same(model[0], model[-3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => model[3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => model[-4]);
    }

    [Fact]
    public void Backward_MatchesFiniteDifferences()
    {
        var model = Model();
        var x = GradCheck.Inputs(4, [4, 5])[0];
        GradCheck.Check(ins => model.Forward(ins[0]), [x, .. model.Parameters()]);
    }

    [Fact]
    public void Names_AreIndicesOrGivenNames()
    {
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], Model().NamedParameters().Select(p => p.Name));
        var named = new Sequential(("fc", (Module)new Linear(2, 2)), ("act", new ReLU()));
        Assert.Equal(["fc", "act"], named.NamedChildren().Select(c => c.Name));
        Assert.Equal(["fc.weight", "fc.bias"], named.NamedParameters().Select(p => p.Name));
        Assert.Equal(["0", "1", "2"], Model().Add(new ReLU()).NamedChildren().Select(c => c.Name).Take(3));
        Assert.Equal("3", Model().Add(new ReLU()).NamedChildren().Last().Name);
    }
}
