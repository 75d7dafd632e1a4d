// Module: the base of every layer, as torch.nn.Module. A module owns parameters (trainable
// tensors), buffers (state such as running statistics) and child modules, each registered under
// a name; names nest with dots ("0.weight", "block.2.running_mean"), in PyTorch's order: a
// module's own parameters, then its own buffers, then each child's, in registration order.
// Train()/Eval() switch the mode of the whole tree.
namespace MiniNet.Layers;

/// <summary>Base class for all layers and models.</summary>
public abstract class Module
{
    readonly List<(string Name, Tensor? Tensor)> _parameters = [];
    readonly List<(string Name, Tensor? Tensor)> _buffers = [];
    readonly List<(string Name, Module Module)> _children = [];

    /// <summary>Runs the module on <paramref name="x"/>.</summary>
    public abstract Tensor Forward(Tensor x);

    /// <summary>Whether the module is in training mode (the default) rather than evaluation mode.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Sets training mode (or evaluation mode with <c>false</c>) on this module and all below it.</summary>
    public Module Train(bool on = true)
    {
        IsTraining = on;
        foreach (var (_, child) in _children) child.Train(on);
        return this;
    }

    /// <summary>Sets evaluation mode on this module and all below it.</summary>
    public Module Eval() => Train(false);

    /// <summary>
    /// Moves every parameter and buffer of this module and its descendants to <paramref name="device"/>
    /// in place (as <c>module.to(device)</c>): the same Tensor objects, so optimizers built before keep
    /// working. Gradients move too. Returns this module.
    /// </summary>
    public Module To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        foreach (var t in Parameters().Concat(NamedBuffers().Select(b => b.Buffer))) t.MoveStorageTo(device);
        return this;
    }

    /// <summary>The device of this module's first parameter or buffer (the CPU when it has none).</summary>
    public Device Device => Parameters().Concat(NamedBuffers().Select(b => b.Buffer)).FirstOrDefault()?.Device ?? Device.Cpu;

    /// <summary>Registers a trainable parameter (null registers an absent one, like PyTorch's None); sets RequiresGrad.</summary>
    protected Tensor? RegisterParameter(string name, Tensor? parameter)
    {
        CheckName(name);
        if (parameter is not null)
        {
            parameter.RequiresGrad = true;
            parameter.DetachFromDisposeScope();   // a module's state outlives any step's scope
        }
        _parameters.Add((name, parameter));
        return parameter;
    }

    /// <summary>Registers a buffer: state saved in the state dict but not trained.</summary>
    protected Tensor? RegisterBuffer(string name, Tensor? buffer)
    {
        CheckName(name);
        buffer?.DetachFromDisposeScope();
        _buffers.Add((name, buffer));
        return buffer;
    }

    /// <summary>Registers a child module.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        _children.Add((name, module));
        return module;
    }

    void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.', StringComparison.Ordinal))
            throw new ArgumentException($"{GetType().Name}: name '{name}' must not contain '.'.", nameof(name));
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"{GetType().Name}: name '{name}' is already registered.", nameof(name));
    }

    /// <summary>All parameters of this module and its descendants.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>All parameters with their dotted names.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters() => Named(m => m._parameters);

    /// <summary>All buffers with their dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers() => Named(m => m._buffers);

    /// <summary>The direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>The direct children.</summary>
    public IEnumerable<Module> Children() => _children.Select(c => c.Module);

    // Each tensor once, under the first name it is reached by (a module shared by two parents, or a
    // tied weight, is listed once, as PyTorch's remove_duplicate), so optimizers see it once.
    IEnumerable<(string, Tensor)> Named(Func<Module, List<(string Name, Tensor? Tensor)>> pick)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        return NamedAll(pick, "").Where(item => seen.Add(item.Tensor));
    }

    IEnumerable<(string Name, Tensor Tensor)> NamedAll(Func<Module, List<(string Name, Tensor? Tensor)>> pick, string prefix)
    {
        foreach (var (name, tensor) in pick(this))
        {
            if (tensor is not null) yield return (prefix + name, tensor);
        }
        foreach (var (name, child) in _children)
        {
            foreach (var item in child.NamedAll(pick, prefix + name + ".")) yield return item;
        }
    }

    // Parameters then buffers of this module, then each child's, as PyTorch orders a state dict.
    IEnumerable<(string Name, Tensor Tensor)> StateEntries(string prefix = "")
    {
        foreach (var (name, t) in _parameters.Concat(_buffers))
        {
            if (t is not null) yield return (prefix + name, t);
        }
        foreach (var (name, child) in _children)
        {
            foreach (var item in child.StateEntries(prefix + name + ".")) yield return item;
        }
    }

    /// <summary>Parameters and buffers by their PyTorch key names (detached; they share storage with the module).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var state = new OrderedDictionary<string, Tensor>();
        foreach (var (name, t) in StateEntries()) state.Add(name, t.Detach());
        return state;
    }

    /// <summary>Copies values from <paramref name="state"/> into this module's parameters and buffers.</summary>
    /// <param name="state">Tensors by key, as from <see cref="StateDict"/> or a checkpoint.</param>
    /// <param name="strict">Require exactly this module's keys (no missing, no unexpected ones).</param>
    /// <exception cref="ArgumentException">A missing or unexpected key (strict), or a shape mismatch; nothing is changed then.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateEntries().ToList();
        var problems = new List<string>();
        foreach (var (name, t) in own)
        {
            if (!state.TryGetValue(name, out var source))
            {
                if (strict) problems.Add($"missing key '{name}' (expected shape {FormatShape(t.Shape)})");
            }
            else if (!source.Shape.AsSpan().SequenceEqual(t.Shape))
            {
                problems.Add($"size mismatch for '{name}': checkpoint has shape {FormatShape(source.Shape)}, the module has {FormatShape(t.Shape)}");
            }
        }
        if (strict)
        {
            var ownNames = own.Select(o => o.Name).ToHashSet();
            foreach (var key in state.Keys.Where(k => !ownNames.Contains(k))) problems.Add($"unexpected key '{key}'");
        }
        if (problems.Count > 0)
            throw new ArgumentException($"LoadStateDict ({GetType().Name}): " + string.Join("; ", problems) + ". Nothing was loaded.", nameof(state));
        using (Autograd.NoGrad())
        {
            foreach (var (name, t) in own)
            {
                if (state.TryGetValue(name, out var source)) t.CopyFrom(source);
            }
        }
    }

    /// <summary>Clears the gradients of all parameters: to null (PyTorch's default), or to zeros in place.</summary>
    public void ZeroGrad(bool setToNone = true) => Gradients.Clear(Parameters(), setToNone);

    static string FormatShape(int[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <inheritdoc/>
    public override string ToString() => ToString("");

    string ToString(string indent)
    {
        var head = GetType().Name + "(" + ExtraRepr() + ")";
        if (_children.Count == 0) return head;
        var lines = _children.Select(c => $"{indent}  ({c.Name}): {c.Module.ToString(indent + "  ")}");
        return GetType().Name + "(\n" + string.Join("\n", lines) + "\n" + indent + ")";
    }

    /// <summary>The constructor arguments shown by ToString, as PyTorch's <c>extra_repr</c>.</summary>
    protected virtual string ExtraRepr() => "";
}
