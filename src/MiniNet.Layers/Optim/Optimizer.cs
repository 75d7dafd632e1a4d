// Optimizers, as torch.optim: each holds its parameters and per-parameter state, and Step()
// applies PyTorch's update formula (in one backend kernel per parameter) to every parameter that
// has a gradient. ZeroGrad() clears gradients (to null by default, as PyTorch 2.x).
namespace MiniNet.Optim;

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
}
