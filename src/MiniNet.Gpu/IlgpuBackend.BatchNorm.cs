// Batch normalisation on the accelerator: the five BatchNorm seam methods, each a few launches of the kernels
// in Kernels/BatchNormKernels.cs (see its header for the passes, layouts and precision). Semantics are those of
// MiniNet.Kernels.BatchNormKernels: x viewed as [n, c, s], biased variance to normalise, unbiased for the
// running variance, null weight/bias = affine off, null gradient outputs skipped, and with cumulativeCount the
// factor 1/count read on the device (no copy to the host).
//
// Launch shape (PlanFor): enough groups to fill the device on large inputs, BatchNormGroupsPerMultiprocessor per
// multiprocessor in all, split as (units × chunks), but never so many chunks that a thread gets fewer than
// BatchNormMinElementsPerThread values: small inputs use one chunk, and a planar group shrinks towards a warp when a
// channel holds few values.
using ILGPU;
using ILGPU.Runtime;
using MiniNet.Gpu.Kernels;

namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    const int BatchNormGroupsPerMultiprocessor = 16;
    const int BatchNormMinElementsPerThread = 16;

    Action<KernelConfig, ArrayView<float>, BatchNormPlan, ArrayView<float>>? _bnStats;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormPlan, ArrayView<float>>? _bnGradSums;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, BatchNormPlan, ArrayView<float>, ArrayView<float>>? _bnMap;
    Action<Index1D, ArrayView<float>, BatchNormPlan, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _bnFinishStats;
    Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, ArrayView<float>>? _bnEvalCoefficients;
    Action<Index1D, ArrayView<float>, int, int, float, int, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _bnFinishGrads;
    Action<Index1D, ArrayView<float>, ArrayView<float>, float, float, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _bnUpdateRunningStats;

    /// <summary>A batch-norm launch: the kernels' plan and the threads per group.</summary>
    internal readonly record struct BatchNormLaunch(BatchNormPlan Plan, int Threads)
    {
        public KernelConfig Config => new(Plan.Groups, Threads);
    }

    // The launch shape for x viewed as [n, c, s] on this accelerator (see the header).
    internal BatchNormLaunch BatchNormPlanFor(int n, int c, int s)
    {
        long target = (long)BatchNormGroupsPerMultiprocessor * Math.Max(1, Accelerator.NumMultiprocessors);
        // A warp-wide tile (32 floats, 128 bytes a row), leaving ≥ 2 row lanes per group: the row tree then
        // runs on every device, ILGPU's CPU accelerator (16 threads) included.
        int tileWidth = Math.Min(GroupSize / 2, 32);
        if (s <= BatchNormPlan.RowsLayoutMaxS && s <= tileWidth)
        {
            int channelsPerTile = tileWidth / s;
            long tiles = (c + channelsPerTile - 1) / channelsPerTile;
            long rowLanes = GroupSize / tileWidth;
            int rowChunks = BatchNormChunks(target, tiles, n, rowLanes);
            return new BatchNormLaunch(new BatchNormPlan(n, c, s, rowChunks, tileWidth, channelsPerTile), GroupSize);
        }
        long m = (long)n * s;
        int threads = GroupSize, fewest = Math.Min(GroupSize, 32);
        while (threads > fewest && (long)(threads / 2) * BatchNormMinElementsPerThread >= m) threads /= 2;
        return new BatchNormLaunch(new BatchNormPlan(n, c, s, BatchNormChunks(target, c, m, threads), 0, 0), threads);
    }

    // Chunks per unit: about target groups in all, each thread of `lanes` keeping ≥ BatchNormMinElementsPerThread of `work`.
    static int BatchNormChunks(long target, long units, long work, long lanes)
    {
        long wanted = (target + units - 1) / units;
        long affordable = Math.Max(1, work / (lanes * BatchNormMinElementsPerThread));
        return (int)Math.Clamp(Math.Min(wanted, affordable), 1, int.MaxValue / 4);
    }

    /// <inheritdoc/>
    public override void BatchNormForwardTraining(Storage x, int n, int c, int s, Storage? weight, Storage? bias, float eps, Storage y, Storage saveMean, Storage saveInvStd, Storage batchVar)
    {
        const string op = "ForwardTraining";
        var xv = F(x);
        var yv = F(y);
        var wv = FOrEmpty(weight);
        var bv = FOrEmpty(bias);
        var meanV = F(saveMean);
        var invStdV = F(saveInvStd);
        var varV = F(batchVar);
        CheckBatchNormData(op, xv.Length, n, c, s, nameof(x));
        CheckBatchNormData(op, yv.Length, n, c, s, nameof(y));
        CheckBatchNormAffine(op, wv.Length, bv.Length, c);
        CheckBatchNormChannels(op, meanV.Length, c, nameof(saveMean));
        CheckBatchNormChannels(op, invStdV.Length, c, nameof(saveInvStd));
        CheckBatchNormChannels(op, varV.Length, c, nameof(batchVar));
        var launch = BatchNormPlanFor(n, c, s);
        var plan = launch.Plan;
        Run("BatchNormForwardTraining", () =>
        {
            var partials = RentFloat(3 * c * plan.Chunks);
            var coefficients = RentFloat(4 * c);
            LoadStats()(launch.Config, xv, plan, partials.View);
            LoadFinishStats()(c, partials.View, plan, wv, bv, eps, meanV, invStdV, varV, coefficients.View);
            LoadMap()(launch.Config, FOrEmpty(null), xv, plan, coefficients.View, yv);
            GC.KeepAlive(partials);   // scratch returns to the pool when collected: not before its last launch
            GC.KeepAlive(coefficients);
        });
    }

    /// <inheritdoc/>
    public override void BatchNormForwardInference(Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, Storage? bias, float eps, Storage y)
    {
        const string op = "ForwardInference";
        var xv = F(x);
        var yv = F(y);
        var wv = FOrEmpty(weight);
        var bv = FOrEmpty(bias);
        var meanV = F(runningMean);
        var varV = F(runningVar);
        CheckBatchNormData(op, xv.Length, n, c, s, nameof(x));
        CheckBatchNormData(op, yv.Length, n, c, s, nameof(y));
        CheckBatchNormAffine(op, wv.Length, bv.Length, c);
        CheckBatchNormChannels(op, meanV.Length, c, nameof(runningMean));
        CheckBatchNormChannels(op, varV.Length, c, nameof(runningVar));
        var launch = BatchNormPlanFor(n, c, s);
        Run("BatchNormForwardInference", () =>
        {
            var coefficients = RentFloat(4 * c);
            LoadEvalCoefficients()(c, c, meanV, varV, wv, bv, eps, coefficients.View);
            LoadMap()(launch.Config, FOrEmpty(null), xv, launch.Plan, coefficients.View, yv);
            GC.KeepAlive(coefficients);
        });
    }

    // The views and size checks both backward methods share; null outputs become empty views.
    (ArrayView<float> Dy, ArrayView<float> X, ArrayView<float> Stat1, ArrayView<float> Stat2, ArrayView<float> W, ArrayView<float> Dx, ArrayView<float> DW, ArrayView<float> DB)
        BatchNormBackwardViews(string op, Storage dy, Storage x, int n, int c, int s, Storage stat1, string stat1Name, Storage stat2, string stat2Name,
            Storage? weight, Storage? dx, Storage? dWeight, Storage? dBias)
    {
        var v = (Dy: F(dy), X: F(x), Stat1: F(stat1), Stat2: F(stat2), W: FOrEmpty(weight), Dx: FOrEmpty(dx), DW: FOrEmpty(dWeight), DB: FOrEmpty(dBias));
        CheckBatchNormData(op, v.Dy.Length, n, c, s, nameof(dy));
        CheckBatchNormData(op, v.X.Length, n, c, s, nameof(x));
        if (v.Dx.Length != 0) CheckBatchNormData(op, v.Dx.Length, n, c, s, nameof(dx));
        CheckBatchNormChannels(op, v.Stat1.Length, c, stat1Name);
        CheckBatchNormChannels(op, v.Stat2.Length, c, stat2Name);
        CheckBatchNormAffine(op, v.W.Length, v.DW.Length, c);
        CheckBatchNormAffine(op, v.W.Length, v.DB.Length, c);
        return v;
    }

    /// <inheritdoc/>
    public override void BatchNormBackwardTraining(Storage dy, Storage x, int n, int c, int s, Storage saveMean, Storage saveInvStd, Storage? weight, Storage? dx, Storage? dWeight, Storage? dBias)
    {
        var (dyV, xv, meanV, invStdV, wv, dxV, dwV, dbV) = BatchNormBackwardViews("BackwardTraining", dy, x, n, c, s,
            saveMean, nameof(saveMean), saveInvStd, nameof(saveInvStd), weight, dx, dWeight, dBias);
        if (dxV.Length == 0 && dwV.Length == 0 && dbV.Length == 0) return;
        var launch = BatchNormPlanFor(n, c, s);
        var plan = launch.Plan;
        float m = (float)((double)n * s);
        Run("BatchNormBackwardTraining", () =>
        {
            var partials = RentFloat(2 * c * plan.Chunks);
            var coefficients = RentFloat(4 * c);
            LoadGradSums()(launch.Config, dyV, xv, meanV, plan, partials.View);
            LoadFinishGrads()(c, partials.View, c, plan.Chunks, m, 1, meanV, invStdV, 0f, wv, dwV, dbV, coefficients.View);
            if (dxV.Length > 0) LoadMap()(launch.Config, dyV, xv, plan, coefficients.View, dxV);
            GC.KeepAlive(partials);
            GC.KeepAlive(coefficients);
        });
    }

    /// <inheritdoc/>
    public override void BatchNormBackwardInference(Storage dy, Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, float eps, Storage? dx, Storage? dWeight, Storage? dBias)
    {
        var (dyV, xv, meanV, varV, wv, dxV, dwV, dbV) = BatchNormBackwardViews("BackwardInference", dy, x, n, c, s,
            runningMean, nameof(runningMean), runningVar, nameof(runningVar), weight, dx, dWeight, dBias);
        if (dxV.Length == 0 && dwV.Length == 0 && dbV.Length == 0) return;
        var launch = BatchNormPlanFor(n, c, s);
        var plan = launch.Plan;
        float m = (float)((double)n * s);
        bool sums = dwV.Length > 0 || dbV.Length > 0;   // dx alone needs no reduction in eval
        Run("BatchNormBackwardInference", () =>
        {
            var partials = sums ? RentFloat(2 * c * plan.Chunks) : null;
            var coefficients = RentFloat(4 * c);
            if (sums) LoadGradSums()(launch.Config, dyV, xv, meanV, plan, partials!.View);
            LoadFinishGrads()(c, FOrEmpty(partials), c, sums ? plan.Chunks : 0, m, 0, meanV, varV, eps, wv, dwV, dbV, coefficients.View);
            if (dxV.Length > 0) LoadMap()(launch.Config, dyV, FOrEmpty(null), plan, coefficients.View, dxV);
            GC.KeepAlive(partials);
            GC.KeepAlive(coefficients);
        });
    }

    /// <inheritdoc/>
    public override void BatchNormUpdateRunningStats(Storage batchMean, Storage batchVar, int m, float factor, Storage? cumulativeCount, Storage runningMean, Storage runningVar)
    {
        const string op = "UpdateRunningStats";
        var meanV = F(batchMean);
        var varV = F(batchVar);
        var countV = FOrEmpty(cumulativeCount);
        var runningMeanV = F(runningMean);
        var runningVarV = F(runningVar);
        int c = (int)meanV.Length;
        CheckBatchNormChannels(op, varV.Length, c, nameof(batchVar));
        CheckBatchNormChannels(op, runningMeanV.Length, c, nameof(runningMean));
        CheckBatchNormChannels(op, runningVarV.Length, c, nameof(runningVar));
        if (cumulativeCount is not null && countV.Length != 1)
            throw new ArgumentException($"BatchNorm {op}: cumulativeCount has {countV.Length} values, expected 1.", nameof(cumulativeCount));
        if (m < 2)
            throw new ArgumentOutOfRangeException(nameof(m), m, $"{op}: expected more than 1 value per channel when training, got m = {m}.");
        if (c == 0) return;
        float unbias = (float)(m / (m - 1.0));
        Run("BatchNormUpdateRunningStats", () => LoadUpdateRunningStats()(c, meanV, varV, unbias, factor, countV, runningMeanV, runningVarV));
    }

    // ---- kernels, loaded once per accelerator ----

    Action<KernelConfig, ArrayView<float>, BatchNormPlan, ArrayView<float>> LoadStats() =>
        _bnStats ??= Accelerator.LoadStreamKernel<ArrayView<float>, BatchNormPlan, ArrayView<float>>(BatchNormReductionKernels.Stats);

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormPlan, ArrayView<float>> LoadGradSums() =>
        _bnGradSums ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormPlan, ArrayView<float>>(BatchNormReductionKernels.GradSums);

    Action<KernelConfig, ArrayView<float>, ArrayView<float>, BatchNormPlan, ArrayView<float>, ArrayView<float>> LoadMap() =>
        _bnMap ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, BatchNormPlan, ArrayView<float>, ArrayView<float>>(BatchNormMapKernels.Map);

    Action<Index1D, ArrayView<float>, BatchNormPlan, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> LoadFinishStats() =>
        _bnFinishStats ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, BatchNormPlan, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BatchNormChannelKernels.FinishStats);

    Action<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, ArrayView<float>> LoadEvalCoefficients() =>
        _bnEvalCoefficients ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, ArrayView<float>>(BatchNormChannelKernels.EvalCoefficients);

    Action<Index1D, ArrayView<float>, int, int, float, int, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> LoadFinishGrads() =>
        _bnFinishGrads ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, float, int, ArrayView<float>, ArrayView<float>, float, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BatchNormChannelKernels.FinishGrads);

    Action<Index1D, ArrayView<float>, ArrayView<float>, float, float, ArrayView<float>, ArrayView<float>, ArrayView<float>> LoadUpdateRunningStats() =>
        _bnUpdateRunningStats ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, float, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BatchNormChannelKernels.UpdateRunningStats);

    // ---- argument checks (as the CPU kernels: the op, what was given, what was expected) ----

    static void CheckBatchNormData(string op, long length, int n, int c, int s, string name)
    {
        if (n < 1 || c < 1 || s < 1)
            throw new ArgumentException($"BatchNorm {op}: sizes must be positive, got n = {n}, c = {c}, s = {s}.");
        if (length != (long)n * c * s)
            throw new ArgumentException($"BatchNorm {op}: {name} has {length} values, expected n·c·s = {n}·{c}·{s} = {(long)n * c * s}.", name);
    }

    static void CheckBatchNormChannels(string op, long length, int c, string name)
    {
        if (length != c) throw new ArgumentException($"BatchNorm {op}: {name} has {length} values, expected c = {c}.", name);
    }

    // weight and the other per-channel affine buffer (bias, dWeight or dBias): each absent or [c].
    static void CheckBatchNormAffine(string op, long weightLength, long otherLength, int c)
    {
        if ((weightLength != 0 && weightLength != c) || (otherLength != 0 && otherLength != c))
            throw new ArgumentException($"BatchNorm {op}: per-channel affine buffers must be absent or have c = {c} values, got {weightLength} and {otherLength}.");
    }
}
