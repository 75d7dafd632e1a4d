// Adam and AdamW, exactly as torch.optim.Adam / AdamW (amsgrad off):
//   t += 1; Adam: g = grad + weightDecay·p;  AdamW: p = p·(1 − lr·weightDecay)
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
//   p = p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
// State dict (as PyTorch 2.x): state.{i}.step (a float32 0-d tensor, exact up to 2²⁴ steps as PyTorch's
// own), state.{i}.exp_avg and state.{i}.exp_avg_sq once parameter i has been stepped; the param group
// holds lr, betas, eps, weight_decay, amsgrad false, decoupled_weight_decay and PyTorch's other flags.
using System.Globalization;
using System.Text.Json.Nodes;

namespace MiniNet.Optim;

/// <summary>Adam (Kingma &amp; Ba); with decoupled weight decay it is AdamW.</summary>
public class Adam : Optimizer
{
    readonly Tensor?[] _expAvg, _expAvgSq;
    readonly int[] _steps;
    readonly bool _decoupled;

    /// <summary>Creates Adam with PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay).</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: false) { }

    private protected Adam(IEnumerable<Tensor> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled)
        : base(parameters, lr)
    {
        if (beta1 < 0 || beta1 >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), $"{GetType().Name}: invalid beta1 {beta1}.");
        if (beta2 < 0 || beta2 >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), $"{GetType().Name}: invalid beta2 {beta2}.");
        if (eps < 0) throw new ArgumentOutOfRangeException(nameof(eps), $"{GetType().Name}: invalid eps {eps}.");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"{GetType().Name}: invalid weight decay {weightDecay}.");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _decoupled = decoupled;
        _expAvg = new Tensor?[Params.Count];
        _expAvgSq = new Tensor?[Params.Count];
        _steps = new int[Params.Count];
    }

    /// <summary>Decay of the first-moment estimate.</summary>
    public double Beta1 { get; }
    /// <summary>Decay of the second-moment estimate.</summary>
    public double Beta2 { get; }
    /// <summary>Added to the denominator for stability.</summary>
    public double Eps { get; }
    /// <summary>Weight decay (L2 for Adam, decoupled for AdamW).</summary>
    public double WeightDecay { get; }

    /// <summary>Number of steps taken for parameter <paramref name="index"/>.</summary>
    public int StepCount(int index) => _steps[index];

    /// <inheritdoc/>
    protected override void Update(int index, Tensor parameter, Tensor grad)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(grad);
        var m = _expAvg[index] ??= Tensor.ZerosLike(parameter);
        var v = _expAvgSq[index] ??= Tensor.ZerosLike(parameter);
        m.MoveStorageTo(parameter.Device);   // the model moved after this state was made
        v.MoveStorageTo(parameter.Device);
        int step = ++_steps[index];
        parameter.Device.Backend.AdamStep(parameter.Storage, grad.Storage, m.Storage, v.Storage,
            Lr, Beta1, Beta2, Eps, WeightDecay, _decoupled, step);
    }

    static readonly string[] StateNames = ["step", "exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override void WriteHyperparameters(JsonObject group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group["betas"] = new JsonArray(Beta1, Beta2);
        group["eps"] = Eps;
        group["weight_decay"] = WeightDecay;
        group["amsgrad"] = false;
        group["maximize"] = false;
        group["foreach"] = null;
        group["capturable"] = false;
        group["differentiable"] = false;
        group["fused"] = null;
        group["decoupled_weight_decay"] = _decoupled;
    }

    /// <inheritdoc/>
    protected override void CheckHyperparameters(JsonObject group, ICollection<string> problems)
    {
        CheckHyperparameter(group, "betas", new JsonArray(Beta1, Beta2), problems);
        CheckHyperparameter(group, "eps", Eps, problems);
        CheckHyperparameter(group, "weight_decay", WeightDecay, problems);
        CheckHyperparameter(group, "amsgrad", false, problems, required: false);
        CheckHyperparameter(group, "maximize", false, problems, required: false);
        // Older PyTorch files lack it (AdamW was its own class), so it is checked only when present.
        CheckHyperparameter(group, "decoupled_weight_decay", _decoupled, problems, required: false);
    }

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Tensor>> GetParameterState(int index)
    {
        if (_expAvg[index] is not Tensor m || _expAvgSq[index] is not Tensor v) yield break;
        yield return new("step", Tensor.Scalar(_steps[index]));
        yield return new("exp_avg", m);
        yield return new("exp_avg_sq", v);
    }

    /// <inheritdoc/>
    protected override void CheckParameterState(int index, IReadOnlyDictionary<string, Tensor> state, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(problems);
        foreach (var name in state.Keys.Where(k => !StateNames.Contains(k, StringComparer.Ordinal)))
            problems.Add($"unexpected key 'state.{index}.{name}' ({GetType().Name} keeps step, exp_avg and exp_avg_sq)");
        var present = StateNames.Where(state.ContainsKey).ToList();
        if (present.Count == 0) return;
        if (present.Count != StateNames.Length)
        {
            problems.Add($"parameter {index} has {string.Join(", ", present)} but not {string.Join(", ", StateNames.Except(present))} (all three or none)");
            return;
        }
        var step = state["step"];
        CheckStateShape(index, "step", step, [], problems);
        if (step.Numel == 1 && ReadStep(step) is null)
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"'state.{index}.step' is {step.Item()}, expected a whole number of steps in [0, {int.MaxValue}]"));
        CheckStateShape(index, "exp_avg", state["exp_avg"], Params[index].Shape, problems);
        CheckStateShape(index, "exp_avg_sq", state["exp_avg_sq"], Params[index].Shape, problems);
    }

    /// <inheritdoc/>
    protected override void SetParameterState(int index, IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count == 0)
        {
            (_expAvg[index], _expAvgSq[index], _steps[index]) = (null, null, 0);
            return;
        }
        _steps[index] = ReadStep(state["step"]) ?? throw new InvalidOperationException("Adam: step was not validated.");
        _expAvg[index] = CopyToParameterDevice(index, state["exp_avg"]);
        _expAvgSq[index] = CopyToParameterDevice(index, state["exp_avg_sq"]);
    }

    static int? ReadStep(Tensor step)
    {
        float s = step.Item();
        return float.IsFinite(s) && s == MathF.Truncate(s) && s >= 0 && s < 2147483648f ? (int)s : null;
    }
}

/// <summary>AdamW: Adam with decoupled weight decay (PyTorch's defaults: lr 1e-3, weight decay 1e-2).</summary>
public sealed class AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
    : Adam(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true);
