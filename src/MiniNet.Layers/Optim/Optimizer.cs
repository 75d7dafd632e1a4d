// Optimizers, as torch.optim: each holds its parameters and per-parameter state, and Step()
// applies PyTorch's update formula (in one backend kernel per parameter) to every parameter that
// has a gradient. ZeroGrad() clears gradients (to null by default, as PyTorch 2.x).
//
// StateDict()/LoadStateDict() are PyTorch's optimizer.state_dict()/load_state_dict() flattened for
// safetensors: per-parameter state as tensors keyed "state.{i}.{name}" (i the parameter's index, names
// PyTorch's: momentum_buffer, step, exp_avg, exp_avg_sq), and the one param group as a JSON string with
// PyTorch's keys ([{"lr": 0.01, "momentum": 0.9, ..., "params": [0, 1, ...]}]). Loading checks the
// parameter count, every key and shape, and that the fixed hyperparameters agree (MiniNet's are set at
// construction; PyTorch would overwrite them silently), restores lr (schedules change it) and the
// state, and changes nothing when anything is wrong. A subclass describes its part through the
// protected Write/Check/Get/Set methods below.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MiniNet.Optim;

/// <summary>An optimizer's state as PyTorch's <c>optimizer.state_dict()</c>, flattened for safetensors.</summary>
/// <param name="State">Per-parameter state tensors keyed <c>state.{i}.{name}</c>, e.g. <c>state.0.exp_avg</c>.</param>
/// <param name="ParamGroupsJson">The param groups as JSON, e.g. <c>[{"lr": 0.01, "momentum": 0.9, ..., "params": [0, 1]}]</c>.</param>
public sealed record OptimizerStateDict(IReadOnlyDictionary<string, Tensor> State, string ParamGroupsJson);

/// <summary>Base class of optimizers.</summary>
public abstract class Optimizer
{
    /// <summary>Collects the parameters; they must be leaves that require grad.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (lr < 0 || double.IsNaN(lr)) throw new ArgumentOutOfRangeException(nameof(lr), $"{GetType().Name}: invalid learning rate {lr}.");
        Params = [.. parameters];
        if (Params.Count == 0) throw new ArgumentException($"{GetType().Name}: got an empty parameter list.", nameof(parameters));
        if (Params.Distinct().Count() != Params.Count) throw new ArgumentException($"{GetType().Name}: a parameter appears more than once.", nameof(parameters));
        foreach (var p in Params)
        {
            if (!p.IsLeaf || !p.RequiresGrad)
                throw new ArgumentException($"{GetType().Name}: can only optimize leaf tensors that require grad (got shape [{string.Join(", ", p.Shape)}]).", nameof(parameters));
        }
        Lr = lr;
    }

    /// <summary>The parameters being optimized.</summary>
    public IReadOnlyList<Tensor> Params { get; }

    /// <summary>The learning rate (settable, e.g. by a schedule).</summary>
    public double Lr { get; set; }

    /// <summary>Applies one update to every parameter with a gradient.</summary>
    public void Step()
    {
        using var _ = Autograd.NoGrad();
        for (int i = 0; i < Params.Count; i++)
        {
            var p = Params[i];
            if (p.Grad is null) continue;
            Update(i, p, p.Grad);
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> in place from its gradient.</summary>
    protected abstract void Update(int index, Tensor parameter, Tensor grad);

    /// <summary>Clears gradients: to null (default), or to zeros in place.</summary>
    public void ZeroGrad(bool setToNone = true) => MiniNet.Layers.Gradients.Clear(Params, setToNone);

    // ---- state dict ----

    /// <summary>
    /// The state as PyTorch's <c>optimizer.state_dict()</c>: per-parameter tensors (sharing storage with the
    /// optimizer's buffers; a parameter that has not been stepped has none) and the param group as JSON.
    /// </summary>
    public OptimizerStateDict StateDict()
    {
        var state = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < Params.Count; i++)
        {
            foreach (var (name, tensor) in GetParameterState(i)) state.Add(string.Create(CultureInfo.InvariantCulture, $"state.{i}.{name}"), tensor);
        }
        var group = new JsonObject { ["lr"] = Lr };
        WriteHyperparameters(group);
        group["params"] = new JsonArray([.. Enumerable.Range(0, Params.Count).Select(i => (JsonNode?)i)]);
        return new OptimizerStateDict(state, new JsonArray(group).ToJsonString());
    }

    /// <summary>
    /// Restores a state from <see cref="StateDict"/> or a PyTorch checkpoint: the learning rate and every
    /// parameter's state, so that training continues exactly as if it had not stopped.
    /// </summary>
    /// <exception cref="ArgumentException">The parameter count, a key, a shape or a fixed hyperparameter does not
    /// match this optimizer, or the JSON is malformed; the message lists every problem and nothing is changed.</exception>
    public void LoadStateDict(OptimizerStateDict stateDict) => PrepareLoadStateDict(stateDict)();

    // Validates everything, then returns the action that applies it (which cannot fail), so that a caller
    // loading a model and an optimizer together can check both before changing either.
    internal Action PrepareLoadStateDict(OptimizerStateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(stateDict.State);
        ArgumentNullException.ThrowIfNull(stateDict.ParamGroupsJson);
        var problems = new List<string>();
        double lr = ReadParamGroup(stateDict.ParamGroupsJson, problems);

        var perParameter = new OrderedDictionary<string, Tensor>[Params.Count];
        for (int i = 0; i < Params.Count; i++) perParameter[i] = new(StringComparer.Ordinal);
        foreach (var (key, tensor) in stateDict.State)
        {
            if (tensor is null)
            {
                problems.Add($"state '{key}' is null");
                continue;
            }
            var parts = key.Split('.', 3);
            if (parts.Length != 3 || parts[0] != "state" || parts[2].Length == 0
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                problems.Add($"unexpected key '{key}' (expected state.{{index}}.{{name}})");
            }
            else if (index >= Params.Count)
            {
                problems.Add($"state '{key}' is for parameter {index}, but this optimizer has {Params.Count} parameters");
            }
            else if (!perParameter[index].TryAdd(parts[2], tensor))
            {
                problems.Add($"state '{key}' repeats parameter {index}'s '{parts[2]}'");   // e.g. state.01.step beside state.1.step
            }
        }
        for (int i = 0; i < Params.Count; i++) CheckParameterState(i, perParameter[i], problems);

        if (problems.Count > 0)
            throw new ArgumentException($"{GetType().Name}.LoadStateDict: " + string.Join("; ", problems) + ". Nothing was loaded.", nameof(stateDict));
        return () =>
        {
            using var _ = Autograd.NoGrad();
            Lr = lr;
            for (int i = 0; i < Params.Count; i++) SetParameterState(i, perParameter[i]);
        };
    }

    // Parses [{"lr": ..., ..., "params": [0..n-1]}]; returns the lr (the current one when it is unreadable).
    double ReadParamGroup(string json, List<string> problems)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            problems.Add($"param_groups is not valid JSON ({e.Message})");
            return Lr;
        }
        if (root is not JsonArray groups || groups.Count != 1 || groups[0] is not JsonObject group)
        {
            string found = root is JsonArray a ? $"an array of {a.Count}" : $"a JSON {root?.GetValueKind().ToString().ToLowerInvariant() ?? "null"}";
            problems.Add($"param_groups must be an array holding one group object (MiniNet optimizers have one group), found {found}");
            return Lr;
        }
        double lr = Lr;
        if (group["lr"] is not JsonValue lrValue || lrValue.GetValueKind() != JsonValueKind.Number
            || !double.IsFinite(lr = Number(lrValue)) || lr < 0)
        {
            problems.Add($"param group 'lr' must be a non-negative number, found {Show(group["lr"])}");
            lr = Lr;
        }
        var expected = new JsonArray([.. Enumerable.Range(0, Params.Count).Select(i => (JsonNode?)i)]);
        if (group["params"] is not JsonArray ids || !SameJson(ids, expected))
        {
            string found = group["params"] is JsonArray p ? $"{p.Count} parameters {Show(p)}" : Show(group["params"]);
            problems.Add($"param group 'params' must be [0, ..., {Params.Count - 1}] for this optimizer's {Params.Count} parameters, found {found}");
        }
        CheckHyperparameters(group, problems);
        return lr;
    }

    /// <summary>Adds this optimizer's hyperparameters to its param group, in PyTorch's names (lr and params are added by the base).</summary>
    protected virtual void WriteHyperparameters(JsonObject group) =>
        throw new NotSupportedException($"{GetType().Name} does not implement state dicts (override WriteHyperparameters and the other state-dict methods).");

    /// <summary>Adds a problem for each hyperparameter of a loaded param group that disagrees with this optimizer's.</summary>
    protected virtual void CheckHyperparameters(JsonObject group, ICollection<string> problems) =>
        throw new NotSupportedException($"{GetType().Name} does not implement state dicts (override CheckHyperparameters and the other state-dict methods).");

    /// <summary>The state tensors of parameter <paramref name="index"/> by PyTorch's names (none before its first step).</summary>
    protected virtual IEnumerable<KeyValuePair<string, Tensor>> GetParameterState(int index) =>
        throw new NotSupportedException($"{GetType().Name} does not implement state dicts (override GetParameterState and the other state-dict methods).");

    /// <summary>Adds a problem for each unexpected, missing or mis-shaped entry of parameter <paramref name="index"/>'s loaded state.</summary>
    protected virtual void CheckParameterState(int index, IReadOnlyDictionary<string, Tensor> state, ICollection<string> problems) =>
        throw new NotSupportedException($"{GetType().Name} does not implement state dicts (override CheckParameterState and the other state-dict methods).");

    /// <summary>Replaces parameter <paramref name="index"/>'s state with copies of <paramref name="state"/> (already checked).</summary>
    protected virtual void SetParameterState(int index, IReadOnlyDictionary<string, Tensor> state) =>
        throw new NotSupportedException($"{GetType().Name} does not implement state dicts (override SetParameterState and the other state-dict methods).");

    /// <summary>
    /// Checks that <paramref name="group"/>'s <paramref name="name"/> equals <paramref name="expected"/> (numbers by value);
    /// a missing entry is a problem only when <paramref name="required"/>.
    /// </summary>
    protected static void CheckHyperparameter(JsonObject group, string name, JsonNode? expected, ICollection<string> problems, bool required = true)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(problems);
        if (!group.TryGetPropertyValue(name, out var saved))
        {
            if (required) problems.Add($"param group has no '{name}' (this optimizer has {Show(expected)})");
        }
        else if (!SameJson(saved, expected))
        {
            problems.Add($"hyperparameter '{name}' is {Show(saved)} in the state dict but {Show(expected)} in this optimizer (construct the optimizer with the checkpoint's hyperparameters)");
        }
    }

    /// <summary>Checks that a loaded state tensor has <paramref name="shape"/>; adds a problem otherwise.</summary>
    protected static void CheckStateShape(int index, string name, Tensor tensor, int[] shape, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(problems);
        if (!tensor.Shape.AsSpan().SequenceEqual(shape))
            problems.Add($"size mismatch for 'state.{index}.{name}': the state dict has shape [{string.Join(", ", tensor.Shape)}], parameter {index} needs [{string.Join(", ", shape)}]");
    }

    /// <summary>A copy of <paramref name="source"/> on parameter <paramref name="index"/>'s device.</summary>
    protected Tensor CopyToParameterDevice(int index, Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Tensor.Full(0f, Params[index].Device, source.Shape).CopyFrom(source);
    }

    // JSON equality with numbers compared by value (0.9 written by Python equals 0.9 written here; 0 equals 0.0).
    static bool SameJson(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null) return a is null && b is null;
        var kind = a.GetValueKind();
        if (kind != b.GetValueKind()) return false;
        return kind switch
        {
            JsonValueKind.Number => Number(a) == Number(b),
            JsonValueKind.String => a.GetValue<string>() == b.GetValue<string>(),
            JsonValueKind.True or JsonValueKind.False => true,
            JsonValueKind.Array => a.AsArray().Count == b.AsArray().Count && a.AsArray().Zip(b.AsArray()).All(p => SameJson(p.First, p.Second)),
            JsonValueKind.Object => a.AsObject().Count == b.AsObject().Count
                && a.AsObject().All(p => b.AsObject().TryGetPropertyValue(p.Key, out var other) && SameJson(p.Value, other)),
            _ => false,
        };
    }

    // A JSON number's value, whichever .NET type the node was built from.
    static double Number(JsonNode node) => double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    static string Show(JsonNode? node) => node?.ToJsonString() ?? "null";
}
