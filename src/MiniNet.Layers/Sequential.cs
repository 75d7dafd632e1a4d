// Sequential container, as torch.nn.Sequential: children named "0", "1", ... (or given names),
// applied in order.
namespace MiniNet.Layers;

/// <summary>Applies its children in order.</summary>
public sealed class Sequential : Module
{
    readonly List<Module> _layers = [];

    /// <summary>An empty container; append children with <see cref="Add"/>.</summary>
    public Sequential() { }

    /// <summary>Children named "0", "1", ... in order.</summary>
    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Children with the given names, in order (as an OrderedDict in PyTorch).</summary>
    public Sequential(params (string Name, Module Module)[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var (name, m) in modules) _layers.Add(RegisterModule(name, m));
    }

    /// <summary>Appends a child named by its index.</summary>
    public Sequential Add(Module module)
    {
        _layers.Add(RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return this;
    }

    /// <summary>Number of children.</summary>
    public int Count => _layers.Count;

    /// <summary>The child at <paramref name="index"/>; a negative index counts from the end, as in PyTorch.</summary>
    public Module this[int index] => _layers[index < 0 ? index + _layers.Count : index];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }
}
