// Adam and AdamW, exactly as torch.optim.Adam / AdamW (amsgrad off):
//   t += 1; Adam: g = grad + weightDecay·p;  AdamW: p = p·(1 − lr·weightDecay)
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
//   p = p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
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
        int step = ++_steps[index];
        parameter.Device.Backend.AdamStep(parameter.Storage, grad.Storage, m.Storage, v.Storage,
            Lr, Beta1, Beta2, Eps, WeightDecay, _decoupled, step);
    }
}

/// <summary>AdamW: Adam with decoupled weight decay (PyTorch's defaults: lr 1e-3, weight decay 1e-2).</summary>
public sealed class AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
    : Adam(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true);
