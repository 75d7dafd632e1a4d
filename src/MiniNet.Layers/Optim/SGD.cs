// Stochastic gradient descent, exactly as torch.optim.SGD:
//   g = grad + weightDecay·p
//   if momentum ≠ 0: buf = (first step) ? g : momentum·buf + (1 − dampening)·g
//                    g = nesterov ? g + momentum·buf : buf
//   p = p − lr·g
// State dict (as PyTorch): state.{i}.momentum_buffer once parameter i has a buffer; the param group holds
// lr, momentum, dampening, weight_decay, nesterov and PyTorch's flags (maximize false, ...).
using System.Text.Json.Nodes;

namespace MiniNet.Optim;

/// <summary>SGD with optional momentum, dampening, weight decay and Nesterov momentum.</summary>
public sealed class SGD : Optimizer
{
    readonly Tensor?[] _momentumBuffers;

    /// <summary>Creates the optimizer (PyTorch's argument meanings and defaults).</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr)
    {
        if (momentum < 0) throw new ArgumentOutOfRangeException(nameof(momentum), $"SGD: invalid momentum {momentum}.");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"SGD: invalid weight decay {weightDecay}.");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("SGD: Nesterov momentum requires a momentum and zero dampening.", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentumBuffers = new Tensor?[Params.Count];
    }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get; }
    /// <summary>Dampening for momentum.</summary>
    public double Dampening { get; }
    /// <summary>L2 penalty added to the gradient.</summary>
    public double WeightDecay { get; }
    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>The momentum buffer of parameter <paramref name="index"/> (null before its first step or without momentum).</summary>
    public Tensor? MomentumBuffer(int index) => _momentumBuffers[index];

    /// <inheritdoc/>
    protected override void Update(int index, Tensor parameter, Tensor grad)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(grad);
        bool first = false;
        _momentumBuffers[index]?.MoveStorageTo(parameter.Device);   // the model moved after this state was made
        if (Momentum != 0 && _momentumBuffers[index] is null)
        {
            _momentumBuffers[index] = Tensor.ZerosLike(parameter);
            first = true;
        }
        parameter.Device.Backend.SgdStep(parameter.Storage, grad.Storage, _momentumBuffers[index]?.Storage,
            Lr, Momentum, Dampening, WeightDecay, Nesterov, first);
    }

    /// <inheritdoc/>
    protected override void WriteHyperparameters(JsonObject group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group["momentum"] = Momentum;
        group["dampening"] = Dampening;
        group["weight_decay"] = WeightDecay;
        group["nesterov"] = Nesterov;
        group["maximize"] = false;
        group["foreach"] = null;
        group["differentiable"] = false;
        group["fused"] = null;
    }

    /// <inheritdoc/>
    protected override void CheckHyperparameters(JsonObject group, ICollection<string> problems)
    {
        CheckHyperparameter(group, "momentum", Momentum, problems);
        CheckHyperparameter(group, "dampening", Dampening, problems);
        CheckHyperparameter(group, "weight_decay", WeightDecay, problems);
        CheckHyperparameter(group, "nesterov", Nesterov, problems);
        CheckHyperparameter(group, "maximize", false, problems, required: false);
    }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Tensor>> GetParameterState(int index)
    {
        if (_momentumBuffers[index] is Tensor buffer) yield return new("momentum_buffer", buffer);
    }

    /// <inheritdoc/>
    protected override void CheckParameterState(int index, IReadOnlyDictionary<string, Tensor> state, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(problems);
        foreach (var (name, tensor) in state)
        {
            if (name != "momentum_buffer") problems.Add($"unexpected key 'state.{index}.{name}' (SGD keeps only momentum_buffer)");
            else if (Momentum == 0) problems.Add($"'state.{index}.momentum_buffer' is given, but this SGD has no momentum");
            else CheckStateShape(index, name, tensor, Params[index].Shape, problems);
        }
    }

    /// <inheritdoc/>
    protected override void SetParameterState(int index, IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _momentumBuffers[index] = state.TryGetValue("momentum_buffer", out var buffer) ? CopyToParameterDevice(index, buffer) : null;
    }
}
