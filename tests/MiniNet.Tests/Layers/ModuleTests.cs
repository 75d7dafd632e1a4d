// Module: train/eval propagation, parameter order and dotted names, and the state dict: a round trip
// into a differently seeded model, and LoadStateDict refusing (and changing nothing) on a missing key,
// an unexpected key or a wrong shape.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class ModuleTests
{
    // A custom module with its own parameter and two registered children, as a user would write one.
    sealed class Block : Module
    {
        public Block(int features, int seed)
        {
            Scale = RegisterParameter("scale", Tensor.Ones(features))!;
            Fc = RegisterModule("fc", new Linear(features, features, generator: new Generator(seed)));
            Bn = RegisterModule("bn", new BatchNorm1d(features));
        }

        public Tensor Scale { get; }
        public Linear Fc { get; }
        public BatchNorm1d Bn { get; }

        public override Tensor Forward(Tensor x) => Bn.Forward(Fc.Forward(x) * Scale).Relu();
    }

    static Sequential Model(int seed) =>
        new(new Block(5, seed), new Dropout(0.5, new Generator(seed)), new Linear(5, 3, generator: new Generator(seed + 1)));

    static Dictionary<string, float[]> Snapshot(Module m) => m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    static void AssertUnchanged(Dictionary<string, float[]> before, Module m)
    {
        foreach (var (key, values) in m.StateDict()) Assert.Equal(before[key], values.ToArray());
    }

    [Fact]
    public void TrainEval_PropagateToAllDescendants()
    {
        var model = Model(1);
        var block = (Block)model[0];
        Module[] all = [model, block, block.Fc, block.Bn, model[1], model[2]];
        Assert.All(all, m => Assert.True(m.IsTraining));
        Assert.Same(model, model.Eval());
        Assert.All(all, m => Assert.False(m.IsTraining));
        model.Train();
        Assert.All(all, m => Assert.True(m.IsTraining));
        block.Train(false);
        Assert.True(model.IsTraining);
        Assert.False(block.Bn.IsTraining);
    }

    [Fact]
    public void NamedParameters_OwnFirstThenChildrenInRegistrationOrder()
    {
        var model = Model(1);
        string[] expected = ["0.scale", "0.fc.weight", "0.fc.bias", "0.bn.weight", "0.bn.bias", "2.weight", "2.bias"];
        Assert.Equal(expected, model.NamedParameters().Select(p => p.Name));
        Assert.Equal(model.NamedParameters().Select(p => p.Parameter), model.Parameters());
        var block = (Block)model[0];
        Assert.Same(block.Scale, model.Parameters().First());
        Assert.Same(block.Fc.Weight, model.Parameters().ElementAt(1));
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.Equal(["0.bn.running_mean", "0.bn.running_var", "0.bn.num_batches_tracked"], model.NamedBuffers().Select(b => b.Name));
        Assert.Equal(
            ["0.scale", "0.fc.weight", "0.fc.bias", "0.bn.weight", "0.bn.bias", "0.bn.running_mean", "0.bn.running_var", "0.bn.num_batches_tracked", "2.weight", "2.bias"],
            model.StateDict().Keys);
    }

    [Fact]
    public void SharedModule_ParametersListedOnceButStateDictKeepsEveryKey()
    {
        // As PyTorch: named_parameters() skips a module (and a tensor) already seen; state_dict() does not.
        var shared = new Linear(3, 3, generator: new Generator(1));
        var model = new Sequential(shared, new ReLU(), shared);
        Assert.Equal(["0.weight", "0.bias"], model.NamedParameters().Select(p => p.Name));
        Assert.Equal(2, model.Parameters().Count());
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], model.StateDict().Keys);
        var optimizer = new MiniNet.Optim.SGD(model.Parameters(), lr: 0.1);
        Assert.Equal(2, optimizer.Params.Count);

        var bn = new BatchNorm1d(2);
        Assert.Equal(["0.running_mean", "0.running_var", "0.num_batches_tracked"], new Sequential(bn, bn).NamedBuffers().Select(b => b.Name));
    }

    [Fact]
    public void ZeroGrad_NotToNone_ZeroesInPlace()
    {
        var model = Model(1);
        model.Forward(Tensor.Randn(new Generator(2), 4, 5)).Sum().Backward();
        var grad = model.Parameters().First().Grad;
        model.ZeroGrad(setToNone: false);
        Assert.Same(grad, model.Parameters().First().Grad);
        Assert.All(model.Parameters(), p => Assert.All(p.Grad!.ToArray(), v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void RegisteringADuplicateOrDottedName_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Sequential(("a", (Module)new ReLU()), ("a", new ReLU())));
        Assert.Throws<ArgumentException>(() => new Sequential(("a.b", (Module)new ReLU())));
    }

    [Fact]
    public void ZeroGrad_ClearsAllParameterGradients()
    {
        var model = Model(1);
        model.Forward(Tensor.Randn(new Generator(2), 4, 5)).Sum().Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
        model.ZeroGrad();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void StateDict_RoundTripIntoDifferentlySeededModel_GivesIdenticalOutputs()
    {
        var source = Model(1);
        for (int i = 0; i < 3; i++) source.Forward(Tensor.Randn(new Generator(10 + i), 6, 5));   // move the running stats
        source.Eval();
        var target = Model(7);
        target.Eval();
        var x = Tensor.Randn(new Generator(20), 4, 5);
        Assert.NotEqual(source.Forward(x).ToArray(), target.Forward(x).ToArray());

        target.LoadStateDict(source.StateDict());
        Assert.Equal(source.Forward(x).ToArray(), target.Forward(x).ToArray());
        Assert.Equal(3f, ((Block)target[0]).Bn.NumBatchesTracked!.Item());
        // Loading copies values: the two models do not share storage afterwards.
        using (Autograd.NoGrad()) ((Block)source[0]).Scale.FillInPlace(2f);
        Assert.Equal([1f, 1f, 1f, 1f, 1f], ((Block)target[0]).Scale.ToArray());
    }

    [Fact]
    public void StateDict_SharesStorageWithTheModule()
    {
        var model = Model(1);
        var weight = model.StateDict()["2.weight"];
        Assert.False(weight.RequiresGrad);
        using (Autograd.NoGrad()) weight.FillInPlace(3f);
        Assert.All(((Linear)model[2]).Weight.ToArray(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void LoadStateDict_MissingKey_ThrowsAndChangesNothing()
    {
        var model = Model(1);
        var before = Snapshot(model);
        var state = new Dictionary<string, Tensor>(Model(7).StateDict());
        state.Remove("0.fc.bias");
        var ex = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("0.fc.bias", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[5]", ex.Message, StringComparison.Ordinal);
        AssertUnchanged(before, model);
    }

    [Fact]
    public void LoadStateDict_UnexpectedKey_ThrowsAndChangesNothing()
    {
        var model = Model(1);
        var before = Snapshot(model);
        var state = new Dictionary<string, Tensor>(Model(7).StateDict()) { ["3.weight"] = Tensor.Zeros(2, 2) };
        var ex = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("3.weight", ex.Message, StringComparison.Ordinal);
        AssertUnchanged(before, model);
    }

    [Fact]
    public void LoadStateDict_WrongShape_ThrowsNamingKeyAndShapesAndChangesNothing()
    {
        var model = Model(1);
        var before = Snapshot(model);
        var state = new Dictionary<string, Tensor>(Model(7).StateDict()) { ["2.weight"] = Tensor.Zeros(3, 4) };
        var ex = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("2.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 5]", ex.Message, StringComparison.Ordinal);
        AssertUnchanged(before, model);

        var ex2 = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state, strict: false));
        Assert.Contains("2.weight", ex2.Message, StringComparison.Ordinal);
        AssertUnchanged(before, model);
    }

    [Fact]
    public void LoadStateDict_NonStrict_IgnoresMissingAndUnexpectedKeys()
    {
        var model = Model(1);
        var before = Snapshot(model);
        var other = Model(7);
        var state = new Dictionary<string, Tensor>(other.StateDict()) { ["extra"] = Tensor.Zeros(1) };
        state.Remove("0.fc.weight");
        model.LoadStateDict(state, strict: false);
        foreach (var (key, values) in model.StateDict())
        {
            var expected = key == "0.fc.weight" ? before[key] : other.StateDict()[key].ToArray();
            Assert.Equal(expected, values.ToArray());
        }
    }
}
