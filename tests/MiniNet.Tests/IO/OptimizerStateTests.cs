// Optimizer state dicts (PyTorch's optimizer.state_dict() flattened for safetensors): the keys and the
// param-group JSON for SGD and Adam/AdamW, an in-memory round trip after which training continues
// bit-identically, and LoadStateDict refusing (and changing nothing) on a wrong parameter count, key,
// shape, step or hyperparameter.
using System.Text.Json;
using MiniNet.Layers;
using MiniNet.Optim;

namespace MiniNet.Tests.IO;

/// <summary>A small seeded model with BatchNorm, trained on random batches drawn from a data generator.</summary>
public static class Run
{
    public static Sequential Model(int seed)
    {
        var g = new Generator(seed);
        return new Sequential(new Linear(4, 6, generator: g), new ReLU(), new BatchNorm1d(6), new Linear(6, 3, generator: g));
    }

    public static void Train(Module model, Optimizer optimizer, Generator data, int steps)
    {
        var criterion = new CrossEntropyLoss();
        for (int s = 0; s < steps; s++)
        {
            var x = Tensor.Randn(data, 8, 4);
            var y = Enumerable.Range(0, 8).Select(_ => data.NextInt(3)).ToArray();
            optimizer.ZeroGrad();
            criterion.Forward(model.Forward(x), y).Backward();
            optimizer.Step();
        }
    }

    public static Dictionary<string, float[]> Values(IReadOnlyDictionary<string, Tensor> state) => state.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    /// <summary>Asserts that two state dicts hold the same keys, in order, and bit-identical values.</summary>
    public static void AssertIdentical(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, t) in expected)
        {
            Assert.Equal(t.Shape, actual[key].Shape);
            var (a, b) = (t.ToArray(), actual[key].ToArray());
            for (int i = 0; i < a.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]), $"{key}[{i}]: {a[i]:R} vs {b[i]:R}");
        }
    }

    public static Optimizer Make(string kind, IEnumerable<Tensor> parameters) => kind switch
    {
        "sgd" => new SGD(parameters, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3),
        "nesterov" => new SGD(parameters, lr: 0.1, momentum: 0.9, nesterov: true),
        "adam" => new Adam(parameters, lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 1e-2),
        "adamw" => new AdamW(parameters, lr: 0.01),
        _ => throw new ArgumentException(kind, nameof(kind)),
    };
}

public class OptimizerStateTests
{
    [Fact]
    public void Sgd_StateDict_HasPyTorchKeysAndParamGroup()
    {
        var model = Run.Model(1);
        var sgd = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9, nesterov: true);
        Assert.Empty(sgd.StateDict().State);   // no buffers before the first step, as PyTorch
        Run.Train(model, sgd, new Generator(2), 1);

        var (state, json) = sgd.StateDict();
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"state.{i}.momentum_buffer"), state.Keys);
        Assert.Equal(sgd.MomentumBuffer(0)!.ToArray(), state["state.0.momentum_buffer"].ToArray());
        using var groups = JsonDocument.Parse(json);
        var group = Assert.Single(groups.RootElement.EnumerateArray());
        Assert.Equal(0.05, group.GetProperty("lr").GetDouble());
        Assert.Equal(0.9, group.GetProperty("momentum").GetDouble());
        Assert.Equal(0, group.GetProperty("dampening").GetDouble());
        Assert.Equal(0, group.GetProperty("weight_decay").GetDouble());
        Assert.True(group.GetProperty("nesterov").GetBoolean());
        Assert.False(group.GetProperty("maximize").GetBoolean());
        Assert.Equal([0, 1, 2, 3, 4, 5], group.GetProperty("params").EnumerateArray().Select(e => e.GetInt32()));

        var plain = new SGD(model.Parameters(), lr: 0.05);
        Run.Train(model, plain, new Generator(2), 1);
        Assert.Empty(plain.StateDict().State);   // no momentum, no buffer
    }

    [Fact]
    public void Adam_StateDict_HasStepExpAvgExpAvgSq_AndSkipsUnsteppedParameters()
    {
        Tensor a = GradCheck.Param(1f, 2f), b = GradCheck.Param(3f);
        var adam = new AdamW([a, b], lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1);
        for (int i = 0; i < 3; i++)
        {
            a.Grad = Tensor.FromArray([0.5f, -1f], 2);
            adam.Step();
        }
        var (state, json) = adam.StateDict();
        Assert.Equal(["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"], state.Keys);
        Assert.Empty(state["state.0.step"].Shape);
        Assert.Equal(3f, state["state.0.step"].Item());
        Assert.Equal([2], state["state.0.exp_avg"].Shape);

        using var groups = JsonDocument.Parse(json);
        var group = groups.RootElement[0];
        Assert.Equal([0.8, 0.95], group.GetProperty("betas").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(1e-6, group.GetProperty("eps").GetDouble());
        Assert.Equal(0.1, group.GetProperty("weight_decay").GetDouble());
        Assert.False(group.GetProperty("amsgrad").GetBoolean());
        Assert.True(group.GetProperty("decoupled_weight_decay").GetBoolean());
        Assert.Equal([0, 1], group.GetProperty("params").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("nesterov")]
    [InlineData("adam")]
    [InlineData("adamw")]
    public void LoadStateDict_ThenTraining_IsBitIdenticalToNeverStopping(string kind)
    {
        var model = Run.Model(1);
        var optimizer = Run.Make(kind, model.Parameters());
        var data = new Generator(5);
        Run.Train(model, optimizer, data, 3);
        optimizer.Lr *= 0.5;   // as a schedule would

        var saved = optimizer.StateDict();
        var copy = Run.Model(99);
        copy.LoadStateDict(model.StateDict());
        var resumed = Run.Make(kind, copy.Parameters());
        resumed.LoadStateDict(saved);
        Assert.Equal(optimizer.Lr, resumed.Lr);
        var resumedData = new Generator(0);
        resumedData.SetState(data.GetState());

        Run.Train(model, optimizer, data, 4);
        Run.Train(copy, resumed, resumedData, 4);
        Run.AssertIdentical(model.StateDict(), copy.StateDict());
        Run.AssertIdentical(optimizer.StateDict().State, resumed.StateDict().State);
    }

    [Fact]
    public void LoadStateDict_CopiesTheBuffers()
    {
        var p = GradCheck.Param(1f, 2f);
        var sgd = new SGD([p], lr: 0.1, momentum: 0.9);
        p.Grad = Tensor.FromArray([1f, 1f], 2);
        sgd.Step();
        var saved = sgd.StateDict();
        var other = new SGD([GradCheck.Param(0f, 0f)], lr: 0.1, momentum: 0.9);
        other.LoadStateDict(saved);
        sgd.Step();   // changes sgd's buffer, which saved shares
        Assert.Equal([1f, 1f], other.MomentumBuffer(0)!.ToArray());
    }

    [Fact]
    public void LoadStateDict_OfAFreshOptimizer_ClearsState()
    {
        var p = GradCheck.Param(1f);
        var adam = new Adam([p]);
        p.Grad = Tensor.FromArray([1f], 1);
        adam.Step();
        adam.LoadStateDict(new Adam([GradCheck.Param(0f)]).StateDict());
        Assert.Equal(0, adam.StepCount(0));
        Assert.Empty(adam.StateDict().State);
    }

    static (Optimizer Optimizer, OptimizerStateDict Saved) Stepped(string kind)
    {
        Tensor a = GradCheck.Param(1f, 2f), b = GradCheck.Param(3f);
        var optimizer = Run.Make(kind, [a, b]);
        a.Grad = Tensor.FromArray([1f, 1f], 2);
        b.Grad = Tensor.FromArray([1f], 1);
        optimizer.Step();
        return (optimizer, optimizer.StateDict());
    }

    static OptimizerStateDict With(OptimizerStateDict sd, string key, Tensor? value, string? json = null)
    {
        var state = sd.State.ToDictionary();
        if (value is null) state.Remove(key);
        else state[key] = value;
        return new OptimizerStateDict(state, json ?? sd.ParamGroupsJson);
    }

    public static TheoryData<string, string, string> BadStates() => new()
    {
        { "sgd", "more params", "params-3" },
        { "sgd", "bad json", "not valid JSON" },
        { "sgd", "two groups", "an array of 2" },
        { "sgd", "duplicate key", "param_groups is not valid JSON" },
        { "sgd", "negative lr", "'lr' must be a non-negative number, found -1" },
        { "sgd", "other momentum", "hyperparameter 'momentum' is 0.5 in the state dict but 0.9 in this optimizer" },
        { "sgd", "no momentum key", "param group has no 'momentum'" },
        { "sgd", "maximize", "hyperparameter 'maximize' is true" },
        { "sgd", "mis-shaped buffer", "size mismatch for 'state.0.momentum_buffer': the state dict has shape [3], parameter 0 needs [2]" },
        { "sgd", "unknown name", "unexpected key 'state.0.exp_avg' (SGD keeps only momentum_buffer)" },
        { "sgd", "index out of range", "state 'state.2.momentum_buffer' is for parameter 2, but this optimizer has 2 parameters" },
        { "sgd", "bad key", "unexpected key 'momentum'" },
        { "sgd", "repeated index", "state 'state.01.momentum_buffer' repeats parameter 1's 'momentum_buffer'" },
        { "adam", "partial", "parameter 1 has step, exp_avg but not exp_avg_sq (all three or none)" },
        { "adam", "fractional step", "'state.0.step' is 1.5, expected a whole number" },
        { "adam", "step not 0-d", "size mismatch for 'state.0.step': the state dict has shape [1], parameter 0 needs []" },
        { "adam", "other betas", "hyperparameter 'betas' is [0.9,0.999] in the state dict but [0.8,0.99]" },
        { "adam", "amsgrad", "hyperparameter 'amsgrad' is true" },
        { "adamw", "adam's state", "hyperparameter 'decoupled_weight_decay' is false in the state dict but true" },
    };

    [Theory]
    [MemberData(nameof(BadStates))]
    public void LoadStateDict_RefusesMismatches_AndChangesNothing(string kind, string what, string expected)
    {
        var (optimizer, saved) = Stepped(kind);
        string json = saved.ParamGroupsJson;
        var bad = what switch
        {
            "more params" => saved with { ParamGroupsJson = json.Replace("[0,1]", "[0,1,2]", StringComparison.Ordinal) },
            "bad json" => saved with { ParamGroupsJson = json[..^2] },
            "duplicate key" => saved with { ParamGroupsJson = json.Replace("\"lr\":0.1", "\"lr\":0.1,\"lr\":0.2", StringComparison.Ordinal) },
            "two groups" => saved with { ParamGroupsJson = "[" + json[1..^1] + "," + json[1..^1] + "]" },
            "negative lr" => saved with { ParamGroupsJson = json.Replace("\"lr\":0.1", "\"lr\":-1", StringComparison.Ordinal) },
            "other momentum" => saved with { ParamGroupsJson = json.Replace("\"momentum\":0.9", "\"momentum\":0.5", StringComparison.Ordinal) },
            "no momentum key" => saved with { ParamGroupsJson = json.Replace("\"momentum\":0.9,", "", StringComparison.Ordinal) },
            "maximize" => saved with { ParamGroupsJson = json.Replace("\"maximize\":false", "\"maximize\":true", StringComparison.Ordinal) },
            "mis-shaped buffer" => With(saved, "state.0.momentum_buffer", Tensor.Zeros(3)),
            "unknown name" => With(saved, "state.0.exp_avg", Tensor.Zeros(2)),
            "index out of range" => With(saved, "state.2.momentum_buffer", Tensor.Zeros(1)),
            "bad key" => With(saved, "momentum", Tensor.Zeros(1)),
            "repeated index" => With(saved, "state.01.momentum_buffer", Tensor.Zeros(1)),
            "partial" => With(saved, "state.1.exp_avg_sq", null),
            "fractional step" => With(saved, "state.0.step", Tensor.Scalar(1.5f)),
            "step not 0-d" => With(saved, "state.0.step", Tensor.Ones(1)),
            "other betas" => Run.Make("adamw", [GradCheck.Param(1f, 2f), GradCheck.Param(3f)]).StateDict() with { State = saved.State },
            "amsgrad" => saved with { ParamGroupsJson = json.Replace("\"amsgrad\":false", "\"amsgrad\":true", StringComparison.Ordinal) },
            "adam's state" => saved with { ParamGroupsJson = new Adam([GradCheck.Param(1f, 2f), GradCheck.Param(3f)], weightDecay: 1e-2).StateDict().ParamGroupsJson },
            _ => throw new ArgumentException(what),
        };
        Assert.NotEqual(saved, bad);
        var before = Run.Values(optimizer.StateDict().State);
        double lr = optimizer.Lr;
        var e = Assert.Throws<ArgumentException>(() => optimizer.LoadStateDict(bad));
        Assert.True(e.Message.Contains(expected.Replace("params-3", "must be [0, ..., 1] for this optimizer's 2 parameters, found 3 parameters", StringComparison.Ordinal), StringComparison.Ordinal),
            $"{what}: '{e.Message}' does not contain '{expected}'");
        Assert.Contains("Nothing was loaded.", e.Message, StringComparison.Ordinal);
        Assert.Equal(lr, optimizer.Lr);
        Assert.Equal(before, Run.Values(optimizer.StateDict().State));
    }

    [Fact]
    public void LoadStateDict_AcceptsPyTorchsParamGroupSpelling()
    {
        // As json.dumps(torch.optim.SGD(..., lr=0.1, momentum=0.9).state_dict()["param_groups"]) prints it.
        const string pytorch = """[{"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": false, "maximize": false, "foreach": null, "differentiable": false, "fused": null, "params": [0, 1]}]""";
        var sgd = new SGD([GradCheck.Param(1f, 2f), GradCheck.Param(3f)], lr: 0.2, momentum: 0.9);
        sgd.LoadStateDict(new OptimizerStateDict(new Dictionary<string, Tensor> { ["state.1.momentum_buffer"] = Tensor.FromArray([0.25f], 1) }, pytorch));
        Assert.Equal(0.1, sgd.Lr);
        Assert.Null(sgd.MomentumBuffer(0));
        Assert.Equal([0.25f], sgd.MomentumBuffer(1)!.ToArray());
    }
}
