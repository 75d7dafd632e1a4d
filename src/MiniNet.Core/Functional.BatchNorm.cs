// Batch normalisation (Ioffe & Szegedy, 2015) with PyTorch's semantics, over x [N, C, *] viewed as
// [n, c, s] (s = product of the trailing dims, 1 for [N, C]); m = n·s values per channel.
//
// Training:  mean = Σx/m, var = Σ(x − mean)²/m (BIASED, used to normalise), invStd = 1/√(var + eps),
//            y = (x − mean)·invStd·γ + β; the running estimates (if given) move towards the batch
//            with the UNBIASED variance var·m/(m − 1): running = (1 − f)·running + f·batch.
// Eval:      y = (x − runningMean)/√(runningVar + eps)·γ + β, one fused scale-and-shift.
// Backward (training; x̂ = (x − mean)·invStd, mean and var depend on x):
//            dβ = Σdy,  dγ = Σdy·x̂,  dx = γ·invStd/m · (m·dy − Σdy − x̂·Σdy·x̂)  — the closed form,
//            one kernel, not a chain of primitive ops. In eval the statistics are constants:
//            dx = dy·γ/√(runningVar + eps).
namespace MiniNet;

public static partial class Functional
{
    /// <summary>Batch normalisation of x [N, C, *] (as <c>torch.nn.functional.batch_norm</c>).</summary>
    /// <param name="x">Input [N, C] or [N, C, L] or [N, C, H, W] (any trailing dims).</param>
    /// <param name="runningMean">Running mean [C], updated in place when training; null when not tracked.</param>
    /// <param name="runningVar">Running variance [C], updated in place when training; null when not tracked.</param>
    /// <param name="weight">γ [C], or null (affine off).</param>
    /// <param name="bias">β [C], or null (affine off).</param>
    /// <param name="training">Use batch statistics (and update the running ones); else use the running ones.</param>
    /// <param name="momentumFactor">f in running = (1 − f)·running + f·batch (the layer resolves momentum = null to 1/numBatchesTracked).</param>
    /// <param name="eps">Added to the variance for stability.</param>
    /// <param name="cumulativeCount">
    /// For momentum = null: the 0-d count of batches seen (this one included); when given, the factor is
    /// 1/count, read on the tensors' device, and <paramref name="momentumFactor"/> is ignored.
    /// </param>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias, bool training, double momentumFactor = 0.1, double eps = 1e-5, Tensor? cumulativeCount = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2)
            throw new ArgumentException($"BatchNorm: expected input [N, C, *] of rank ≥ 2, got {Tensor.Format(x.ShapeRef)}.", nameof(x));
        int n = x.ShapeRef[0], c = x.ShapeRef[1], s = x.Numel / Math.Max(n * c, 1);
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException("BatchNorm: runningMean and runningVar must both be given or both be null.");
        if ((weight is null) != (bias is null))
            throw new ArgumentException("BatchNorm: weight and bias must both be given or both be null.");
        if (cumulativeCount is not null && cumulativeCount.Numel != 1)
            throw new ArgumentException($"BatchNorm: cumulativeCount must hold one value, got shape {Tensor.Format(cumulativeCount.ShapeRef)}.", nameof(cumulativeCount));
        foreach (var (name, t) in new[] { ("runningMean", runningMean), ("runningVar", runningVar), ("weight", weight), ("bias", bias) })
        {
            if (t is null) continue;
            Tensor.CheckSameDevice("BatchNorm", x, t);
            if (!Tensor.SameShape(t.ShapeRef, [c]))
                throw new ArgumentException($"BatchNorm: {name} has shape {Tensor.Format(t.ShapeRef)}, but the input {Tensor.Format(x.ShapeRef)} has {c} channels (expected [{c}]).");
        }
        if (!training && runningMean is null)
            throw new ArgumentException("BatchNorm: evaluation without batch statistics needs runningMean and runningVar.");
        var backend = x.Device.Backend;
        var y = backend.AllocateUninitialized(x.Numel);
        Tensor[] inputs = weight is null ? [x] : [x, weight, bias!];

        if (training)
        {
            int m = n * s;
            if (m <= 1)
                throw new ArgumentException($"BatchNorm: expected more than 1 value per channel when training, got input size {Tensor.Format(x.ShapeRef)}.", nameof(x));
            var mean = backend.Allocate(c);
            var invStd = backend.Allocate(c);
            var batchVar = backend.Allocate(c);
            backend.BatchNormForwardTraining(x.Storage, n, c, s, weight?.Storage, bias?.Storage, (float)eps, y, mean, invStd, batchVar);
            if (runningMean is not null)
            {
                if (cumulativeCount is not null) Tensor.CheckSameDevice("BatchNorm", x, cumulativeCount);
                backend.BatchNormUpdateRunningStats(mean, batchVar, m, (float)momentumFactor, cumulativeCount?.Storage, runningMean.Storage, runningVar!.Storage);
            }
            return Tensor.Make(y, x.ShapeRef, "BatchNorm", inputs, g =>
            {
                var (dx, dWeight, dBias) = Gradients(x, weight, bias);
                backend.BatchNormBackwardTraining(g.Storage, x.Storage, n, c, s, mean, invStd, weight?.Storage, dx?.Storage, dWeight?.Storage, dBias?.Storage);
                return weight is null ? [dx] : [dx, dWeight, dBias];
            });
        }

        if (!Autograd.IsGradEnabled || !Array.Exists(inputs, t => t.RequiresGrad))
        {
            // No graph will be recorded: read the running statistics in place.
            backend.BatchNormForwardInference(x.Storage, n, c, s, runningMean!.Storage, runningVar!.Storage, weight?.Storage, bias?.Storage, (float)eps, y);
            return Tensor.Result(y, x.ShapeRef);
        }

        // Snapshot the running statistics: the backward must see the values this forward used.
        var meanUsed = backend.Allocate(c);
        var varUsed = backend.Allocate(c);
        backend.Copy(runningMean!.Storage, meanUsed);
        backend.Copy(runningVar!.Storage, varUsed);
        backend.BatchNormForwardInference(x.Storage, n, c, s, meanUsed, varUsed, weight?.Storage, bias?.Storage, (float)eps, y);
        return Tensor.Make(y, x.ShapeRef, "BatchNorm", inputs, g =>
        {
            var (dx, dWeight, dBias) = Gradients(x, weight, bias);
            backend.BatchNormBackwardInference(g.Storage, x.Storage, n, c, s, meanUsed, varUsed, weight?.Storage, (float)eps, dx?.Storage, dWeight?.Storage, dBias?.Storage);
            return weight is null ? [dx] : [dx, dWeight, dBias];
        });
    }

    // Buffers for the gradients that are needed (null = the kernel skips that output).
    static (Tensor? Dx, Tensor? DWeight, Tensor? DBias) Gradients(Tensor x, Tensor? weight, Tensor? bias) =>
        (x.RequiresGrad ? Tensor.EmptyLike(x) : null,
         weight is not null && weight.RequiresGrad ? Tensor.EmptyLike(weight) : null,
         bias is not null && bias.RequiresGrad ? Tensor.EmptyLike(bias) : null);
}
