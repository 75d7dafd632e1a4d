// Batch normalisation layers, as torch.nn.BatchNorm1d/2d. BatchNormBase owns the state (weight and
// bias as parameters; running_mean, running_var, num_batches_tracked as buffers) and the momentum
// logic; 1d and 2d differ only in the rank they accept. The math is in Functional.BatchNorm.
//
// Subtle points (as PyTorch's docs): the batch is normalised with the BIASED variance, while the
// running variance is updated with the UNBIASED one; momentum here is the weight of the new batch
// in running = (1 − momentum)·running + momentum·batch (not an optimizer's momentum), and
// momentum = null means a cumulative moving average, factor 1/numBatchesTracked.
namespace MiniNet.Layers;

/// <summary>The shared state and forward of BatchNorm1d and BatchNorm2d.</summary>
public abstract class BatchNormBase : Module
{
    /// <summary>Creates the layer: weight 1, bias 0, running mean 0, running variance 1, no batches tracked.</summary>
    protected BatchNormBase(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats)
    {
        if (numFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(numFeatures), $"{GetType().Name}: numFeatures must be positive, got {numFeatures}.");
        if (eps < 0 || double.IsNaN(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), $"{GetType().Name}: eps must be ≥ 0, got {eps}.");
        if (momentum is double mo && (mo < 0 || mo > 1 || double.IsNaN(mo)))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"{GetType().Name}: momentum must be in [0, 1] or null, got {mo}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        Weight = RegisterParameter("weight", affine ? Tensor.Ones(numFeatures) : null);
        Bias = RegisterParameter("bias", affine ? Tensor.Zeros(numFeatures) : null);
        RunningMean = RegisterBuffer("running_mean", trackRunningStats ? Tensor.Zeros(numFeatures) : null);
        RunningVar = RegisterBuffer("running_var", trackRunningStats ? Tensor.Ones(numFeatures) : null);
        NumBatchesTracked = RegisterBuffer("num_batches_tracked", trackRunningStats ? Tensor.Scalar(0f) : null);
    }

    /// <summary>Number of channels C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance for numerical stability.</summary>
    public double Eps { get; }
    /// <summary>Weight of the new batch in the running estimates; null for a cumulative average.</summary>
    public double? Momentum { get; set; }
    /// <summary>Whether γ and β are learned.</summary>
    public bool Affine { get; }
    /// <summary>Whether running estimates are kept (else batch statistics are used in eval too).</summary>
    public bool TrackRunningStats { get; }
    /// <summary>γ [C], or null when not affine.</summary>
    public Tensor? Weight { get; }
    /// <summary>β [C], or null when not affine.</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean [C], or null when not tracked.</summary>
    public Tensor? RunningMean { get; }
    /// <summary>Running (unbiased) variance [C], or null when not tracked.</summary>
    public Tensor? RunningVar { get; }
    /// <summary>Number of training batches seen (a 0-d tensor, as PyTorch's buffer), or null when not tracked.</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <summary>Throws unless <paramref name="x"/> has a rank this layer accepts.</summary>
    protected abstract void CheckInputDim(Tensor x);

    /// <summary>Resets the running estimates (mean 0, variance 1, count 0).</summary>
    public void ResetRunningStats()
    {
        using var _ = Autograd.NoGrad();
        RunningMean?.ZeroInPlace();
        RunningVar?.FillInPlace(1f);
        NumBatchesTracked?.ZeroInPlace();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckInputDim(x);
        if (x.Size(1) != NumFeatures)
            throw new ArgumentException($"{GetType().Name}: expected input with {NumFeatures} channels, got {x.Size(1)} (input shape [{string.Join(", ", x.Shape)}]).", nameof(x));
        bool useBatchStats = IsTraining || RunningMean is null;
        if (useBatchStats && x.Numel / NumFeatures <= 1)
            throw new ArgumentException($"{GetType().Name}: expected more than 1 value per channel when training, got input size [{string.Join(", ", x.Shape)}].", nameof(x));
        double factor = 0;
        Tensor? cumulativeCount = null;
        if (IsTraining && NumBatchesTracked is not null)
        {
            using (Autograd.NoGrad()) NumBatchesTracked.AddInPlace(1f);
            // momentum = null: factor 1/count, read by the kernel where the count lives (no host sync).
            if (Momentum is double momentum) factor = momentum;
            else cumulativeCount = NumBatchesTracked;
        }
        return Functional.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, useBatchStats, factor, Eps, cumulativeCount);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{NumFeatures}, eps={Eps.ToString(System.Globalization.CultureInfo.InvariantCulture).Replace('E', 'e')}, momentum={(Momentum is double m ? m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "None")}, affine={Affine}, track_running_stats={TrackRunningStats}");
}

/// <summary>Batch normalisation over [N, C] or [N, C, L] (statistics over N, or N and L).</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc/>
    protected override void CheckInputDim(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 && x.Rank != 3)
            throw new ArgumentException($"BatchNorm1d: expected 2D or 3D input (got {x.Rank}D input of shape [{string.Join(", ", x.Shape)}]).", nameof(x));
    }
}

/// <summary>Batch normalisation over [N, C, H, W] (statistics over N, H and W).</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats)
{
    /// <inheritdoc/>
    protected override void CheckInputDim(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4)
            throw new ArgumentException($"BatchNorm2d: expected 4D input (got {x.Rank}D input of shape [{string.Join(", ", x.Shape)}]).", nameof(x));
    }
}
