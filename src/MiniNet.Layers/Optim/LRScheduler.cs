// Learning-rate schedules, as torch.optim.lr_scheduler: a scheduler owns an optimizer's learning
// rate; each Step() advances its counter (LastEpoch, PyTorch's name even when stepped per batch)
// and sets optimizer.Lr from the closed form of the schedule. Construction sets the lr for
// counter 0, so the first epoch/batch trains at the initial rate as in PyTorch.
namespace MiniNet.Optim;

/// <summary>Base class of learning-rate schedulers.</summary>
public abstract class LRScheduler
{
    /// <summary>Attaches to the optimizer; its current learning rate becomes the base rate.</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        BaseLr = optimizer.Lr;
    }

    /// <summary>The optimizer whose learning rate is scheduled.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning rate at counter 0.</summary>
    public double BaseLr { get; }

    /// <summary>How many times <see cref="Step"/> was called (PyTorch's <c>last_epoch</c>).</summary>
    public int LastEpoch { get; private set; }

    /// <summary>Advances the schedule by one and sets the optimizer's learning rate.</summary>
    public void Step()
    {
        LastEpoch++;
        Optimizer.Lr = LearningRateAt(LastEpoch);
    }

    /// <summary>Restores the counter (for a resumed run) and sets the matching learning rate.</summary>
    public void SetLastEpoch(int lastEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lastEpoch);
        LastEpoch = lastEpoch;
        Optimizer.Lr = LearningRateAt(lastEpoch);
    }

    /// <summary>The learning rate after <paramref name="step"/> calls of <see cref="Step"/>.</summary>
    public abstract double LearningRateAt(int step);
}

/// <summary>Decays the rate by <c>gamma</c> every <c>stepSize</c> steps: lr = base·gamma^⌊t/stepSize⌋.</summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the schedule (PyTorch's default gamma 0.1).</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), $"StepLR: stepSize must be positive, got {stepSize}.");
        if (gamma <= 0 || double.IsNaN(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), $"StepLR: gamma must be positive, got {gamma}.");
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>Steps between decays.</summary>
    public int StepSize { get; }
    /// <summary>Multiplicative decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double LearningRateAt(int step) => BaseLr * Math.Pow(Gamma, step / StepSize);
}

/// <summary>
/// Cosine annealing from the base rate to <c>etaMin</c> over <c>tMax</c> steps:
/// lr = etaMin + (base − etaMin)·(1 + cos(π·t/tMax))/2 (PyTorch's closed form: past tMax it rises again).
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the schedule.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), $"CosineAnnealingLR: tMax must be positive, got {tMax}.");
        if (etaMin < 0 || double.IsNaN(etaMin)) throw new ArgumentOutOfRangeException(nameof(etaMin), $"CosineAnnealingLR: etaMin must be ≥ 0, got {etaMin}.");
        TMax = tMax;
        EtaMin = etaMin;
    }

    /// <summary>Steps of the half cosine.</summary>
    public int TMax { get; }
    /// <summary>Final learning rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    public override double LearningRateAt(int step) =>
        EtaMin + (BaseLr - EtaMin) * (1 + Math.Cos(Math.PI * step / TMax)) / 2;
}
