// Batch normalisation kernels with PyTorch's semantics: float32 data, float64 per-channel statistics.
//
// Layout: x is viewed as [n, c, s] (s = 1 for BatchNorm1d on [N, C], s = L for [N, C, L], s = H*W for
// BatchNorm2d). Channel ci owns m = n*s values: n segments of s contiguous floats, c*s floats apart.
// Training normalises with the batch mean and the BIASED variance; UpdateRunningStats feeds the running
// variance the UNBIASED one, batchVar·m/(m − 1), as PyTorch does. Outputs are overwritten, never accumulated.
//
// Work is split two ways, each channel's statistics and output computed while its data is still in cache:
// - s >= 16 ("segments"): one channel per task; vector loops over its n segments (eval forward: the
//   n·c segments in memory order, one contiguous range per core).
// - s < 16 ("rows"): a task owns a block of whole channels, i.e. a column block of every row; per-column
//   float64 accumulators are folded per channel, outputs are written with per-column coefficients.
// Tasks run under ForkJoin.For once n·c·s exceeds ParallelThreshold.
//
// Precision: statistics are two-pass. Float partial sums are flushed to float64 every FlushLength values,
// the first pass sums x − x[0] (shifted), and the second pass sums deviations from the first pass's
// mean and subtracts their squared mean (corrected two-pass), so a channel of 1e6 values with mean 1000
// and std 1 gets its variance to float rounding (2e-8 relative measured; a float sum of squares would
// lose it entirely). The row layout accumulates in float64 throughout.
//
// Traps:
// - var + eps == 0 (a constant channel with eps = 0) gives invStd = 0, not infinity: y = bias and
//   dx = 0 instead of NaN (PyTorch would give NaN there). With eps > 0 a constant channel gives
//   x − mean = 0 exactly, so y = bias exactly.
// - Empty weight/bias spans mean affine off (weight 1, bias 0); empty gradient spans mean "not needed".
// - y is computed as (x − center)·scale + shift with center the float64 mean rounded to float and shift
//   = bias − (mean − center)·scale, not PyTorch's x·scale + (bias − mean·scale): this keeps y = bias exact
//   for a constant channel and loses nothing to large means.
//
// JIT: the hot loops are marked AggressiveOptimization (compiled optimised on first call) and the row layout
// uses its own vector loops rather than TensorPrimitives: under tiered compilation on a busy 2-core machine
// the background JIT did not promote that code within hundreds of calls (measured on [128, 256], MiniNet
// alone, minimum of 300 calls: train forward 0.24 -> 0.06 ms, backward 0.12 -> 0.065 ms, eval 0.07 -> 0.025 ms;
// 0.023, 0.028, 0.013 ms with tiering off).
//
// The *Naive methods are scalar float64 references with the same signatures: the test oracle.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace MiniNet.Kernels;

/// <summary>Batch normalisation kernels over x viewed as [n, c, s], with PyTorch's semantics.</summary>
public static unsafe class BatchNormKernels
{
    private const long ParallelThreshold = 32 * 1024;
    private const int RowLayoutMaxS = 16;
    private const int RowBlockColumns = 512;
    private const int FlushLength = 1024;

    /// <summary>
    /// Training forward: per-channel batch mean and biased variance over (n, s),
    /// y = (x − mean) / sqrt(var + eps) · weight + bias. Writes saveMean, saveInvStd (for backward) and
    /// batchVar (the biased variance), each [c]. Empty weight and bias mean affine off.
    /// </summary>
    public static void ForwardTraining(ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y, Span<float> saveMean, Span<float> saveInvStd, Span<float> batchVar)
    {
        CheckData(nameof(ForwardTraining), x.Length, n, c, s, nameof(x));
        CheckData(nameof(ForwardTraining), y.Length, n, c, s, nameof(y));
        CheckAffine(nameof(ForwardTraining), weight.Length, bias.Length, c);
        CheckChannels(nameof(ForwardTraining), saveMean.Length, c, nameof(saveMean));
        CheckChannels(nameof(ForwardTraining), saveInvStd.Length, c, nameof(saveInvStd));
        CheckChannels(nameof(ForwardTraining), batchVar.Length, c, nameof(batchVar));
        fixed (float* px = x, py = y, pw = weight, pb = bias, pMean = saveMean, pInvStd = saveInvStd, pVar = batchVar)
        {
            Run(new Job
            {
                X = px, Y = py, Weight = pw, Bias = pb, Mean = pMean, InvStd = pInvStd, Var = pVar,
                N = n, C = c, S = s, Eps = eps, Training = true,
            }, backward: false);
        }
    }

    /// <summary>
    /// Eval forward, one fused scale-and-shift per element:
    /// y = (x − runningMean) / sqrt(runningVar + eps) · weight + bias.
    /// </summary>
    public static void ForwardInference(ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y)
    {
        CheckData(nameof(ForwardInference), x.Length, n, c, s, nameof(x));
        CheckData(nameof(ForwardInference), y.Length, n, c, s, nameof(y));
        CheckAffine(nameof(ForwardInference), weight.Length, bias.Length, c);
        CheckChannels(nameof(ForwardInference), runningMean.Length, c, nameof(runningMean));
        CheckChannels(nameof(ForwardInference), runningVar.Length, c, nameof(runningVar));
        fixed (float* px = x, py = y, pw = weight, pb = bias, pMean = runningMean, pVar = runningVar)
        {
            Run(new Job
            {
                X = px, Y = py, Weight = pw, Bias = pb, Mean = pMean, Var = pVar,
                N = n, C = c, S = s, Eps = eps, Training = false,
            }, backward: false);
        }
    }

    // Training backward. With xhat = (x − mean)·invStd, y = xhat·w + b, and mean, invStd functions of x:
    //   dBias = Σ dy,  dWeight = Σ dy·xhat                     (sums over the channel's m values)
    //   dxhat = dy·w;  dvar = Σ dxhat·(x − mean)·(−1/2)·invStd³;  dmean = −invStd·Σ dxhat (its dvar term is 0)
    //   dx = dxhat·invStd + dvar·2(x − mean)/m + dmean/m
    //      = w·invStd/m · (m·dy − Σ dy − xhat·Σ dy·xhat)
    // which the kernel evaluates as dx = a·dy + b·(x − mean) + c0 with, per channel,
    //   a = w·invStd,  b = −a·invStd²·Σ dy·(x − mean) / m,  c0 = −a·Σ dy / m.
    // Pass 1 reduces Σ dy and Σ dy·(x − mean); pass 2 writes dx.

    /// <summary>
    /// Training backward (batch statistics depend on x): dBias = Σ dy, dWeight = Σ dy·xhat,
    /// dx = weight·invStd/m · (m·dy − Σ dy − xhat·Σ dy·xhat). All outputs are overwritten; any may be
    /// empty (not needed). Empty weight means 1.
    /// </summary>
    public static void BackwardTraining(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> saveMean, ReadOnlySpan<float> saveInvStd, ReadOnlySpan<float> weight, Span<float> dx, Span<float> dWeight, Span<float> dBias)
    {
        CheckData(nameof(BackwardTraining), dy.Length, n, c, s, nameof(dy));
        CheckData(nameof(BackwardTraining), x.Length, n, c, s, nameof(x));
        CheckOptionalData(nameof(BackwardTraining), dx.Length, n, c, s, nameof(dx));
        CheckChannels(nameof(BackwardTraining), saveMean.Length, c, nameof(saveMean));
        CheckChannels(nameof(BackwardTraining), saveInvStd.Length, c, nameof(saveInvStd));
        CheckAffine(nameof(BackwardTraining), weight.Length, dWeight.Length, c);
        CheckAffine(nameof(BackwardTraining), weight.Length, dBias.Length, c);
        fixed (float* pdy = dy, px = x, pMean = saveMean, pInvStd = saveInvStd, pw = weight, pdx = dx, pdw = dWeight, pdb = dBias)
        {
            Run(new Job
            {
                Dy = pdy, X = px, Mean = pMean, InvStd = pInvStd, Weight = pw, Dx = pdx, DWeight = pdw, DBias = pdb,
                N = n, C = c, S = s, Training = true,
            }, backward: true);
        }
    }

    // Eval backward. mean and invStd are constants, so y = (x − mean)·invStd·w + b is affine in x:
    //   dx = dy·w·invStd,  dWeight = Σ dy·(x − mean)·invStd,  dBias = Σ dy.

    /// <summary>
    /// Eval backward (running statistics are constants): dx = dy·weight / sqrt(runningVar + eps),
    /// dWeight = Σ dy·xhat, dBias = Σ dy. Outputs are overwritten; any may be empty (not needed).
    /// </summary>
    public static void BackwardInference(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, ReadOnlySpan<float> weight, float eps, Span<float> dx, Span<float> dWeight, Span<float> dBias)
    {
        CheckData(nameof(BackwardInference), dy.Length, n, c, s, nameof(dy));
        CheckData(nameof(BackwardInference), x.Length, n, c, s, nameof(x));
        CheckOptionalData(nameof(BackwardInference), dx.Length, n, c, s, nameof(dx));
        CheckChannels(nameof(BackwardInference), runningMean.Length, c, nameof(runningMean));
        CheckChannels(nameof(BackwardInference), runningVar.Length, c, nameof(runningVar));
        CheckAffine(nameof(BackwardInference), weight.Length, dWeight.Length, c);
        CheckAffine(nameof(BackwardInference), weight.Length, dBias.Length, c);
        fixed (float* pdy = dy, px = x, pMean = runningMean, pVar = runningVar, pw = weight, pdx = dx, pdw = dWeight, pdb = dBias)
        {
            Run(new Job
            {
                Dy = pdy, X = px, Mean = pMean, Var = pVar, Weight = pw, Dx = pdx, DWeight = pdw, DBias = pdb,
                N = n, C = c, S = s, Eps = eps, Training = false,
            }, backward: true);
        }
    }

    /// <summary>
    /// PyTorch's running-statistics update: running = (1 − factor)·running + factor·batch, with the unbiased
    /// variance batchVar·m/(m − 1) for runningVar. factor is the momentum, or 1/numBatchesTracked for the
    /// cumulative average. m = n·s values per channel, at least 2.
    /// </summary>
    public static void UpdateRunningStats(ReadOnlySpan<float> batchMean, ReadOnlySpan<float> batchVar, int m, float factor, Span<float> runningMean, Span<float> runningVar)
    {
        int c = batchMean.Length;
        CheckChannels(nameof(UpdateRunningStats), batchVar.Length, c, nameof(batchVar));
        CheckChannels(nameof(UpdateRunningStats), runningMean.Length, c, nameof(runningMean));
        CheckChannels(nameof(UpdateRunningStats), runningVar.Length, c, nameof(runningVar));
        if (m < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(m), m, $"{nameof(UpdateRunningStats)}: expected more than 1 value per channel when training, got m = {m}.");
        }
        double f = factor, unbias = m / (m - 1.0);
        for (int ci = 0; ci < c; ci++)
        {
            runningMean[ci] = (float)(f * batchMean[ci] + (1 - f) * runningMean[ci]);
            runningVar[ci] = (float)(f * batchVar[ci] * unbias + (1 - f) * runningVar[ci]);
        }
    }

    /// <summary>Scalar float64 reference for <see cref="ForwardTraining"/>.</summary>
    public static void ForwardTrainingNaive(ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y, Span<float> saveMean, Span<float> saveInvStd, Span<float> batchVar)
    {
        CheckData(nameof(ForwardTrainingNaive), x.Length, n, c, s, nameof(x));
        CheckData(nameof(ForwardTrainingNaive), y.Length, n, c, s, nameof(y));
        CheckAffine(nameof(ForwardTrainingNaive), weight.Length, bias.Length, c);
        double m = (double)n * s;
        for (int ci = 0; ci < c; ci++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++) sum += x[(i * c + ci) * s + j];
            }
            double mean = sum / m, sq = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    double d = x[(i * c + ci) * s + j] - mean;
                    sq += d * d;
                }
            }
            double variance = sq / m;
            double invStd = InvStd(variance, eps);
            double w = weight.IsEmpty ? 1 : weight[ci], b = bias.IsEmpty ? 0 : bias[ci];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ci) * s + j;
                    y[at] = (float)((x[at] - mean) * invStd * w + b);
                }
            }
            saveMean[ci] = (float)mean;
            saveInvStd[ci] = (float)invStd;
            batchVar[ci] = (float)variance;
        }
    }

    /// <summary>Scalar float64 reference for <see cref="ForwardInference"/>.</summary>
    public static void ForwardInferenceNaive(ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y)
    {
        CheckData(nameof(ForwardInferenceNaive), x.Length, n, c, s, nameof(x));
        CheckData(nameof(ForwardInferenceNaive), y.Length, n, c, s, nameof(y));
        CheckAffine(nameof(ForwardInferenceNaive), weight.Length, bias.Length, c);
        for (int i = 0; i < n; i++)
        {
            for (int ci = 0; ci < c; ci++)
            {
                double invStd = InvStd(runningVar[ci], eps);
                double w = weight.IsEmpty ? 1 : weight[ci], b = bias.IsEmpty ? 0 : bias[ci];
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ci) * s + j;
                    y[at] = (float)((x[at] - (double)runningMean[ci]) * invStd * w + b);
                }
            }
        }
    }

    /// <summary>Scalar float64 reference for <see cref="BackwardTraining"/>.</summary>
    public static void BackwardTrainingNaive(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> saveMean, ReadOnlySpan<float> saveInvStd, ReadOnlySpan<float> weight, Span<float> dx, Span<float> dWeight, Span<float> dBias)
    {
        CheckData(nameof(BackwardTrainingNaive), dy.Length, n, c, s, nameof(dy));
        CheckData(nameof(BackwardTrainingNaive), x.Length, n, c, s, nameof(x));
        CheckOptionalData(nameof(BackwardTrainingNaive), dx.Length, n, c, s, nameof(dx));
        CheckAffine(nameof(BackwardTrainingNaive), weight.Length, dWeight.Length, c);
        CheckAffine(nameof(BackwardTrainingNaive), weight.Length, dBias.Length, c);
        double m = (double)n * s;
        for (int ci = 0; ci < c; ci++)
        {
            double mean = saveMean[ci], invStd = saveInvStd[ci], w = weight.IsEmpty ? 1 : weight[ci];
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ci) * s + j;
                    sumDy += dy[at];
                    sumDyXhat += dy[at] * (x[at] - mean) * invStd;
                }
            }
            if (!dBias.IsEmpty) dBias[ci] = (float)sumDy;
            if (!dWeight.IsEmpty) dWeight[ci] = (float)sumDyXhat;
            if (dx.IsEmpty) continue;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ci) * s + j;
                    double xhat = (x[at] - mean) * invStd;
                    dx[at] = (float)(w * invStd / m * (m * dy[at] - sumDy - xhat * sumDyXhat));
                }
            }
        }
    }

    // Everything one call needs, as pointers, so that the parallel lambda can capture it (spans cannot be).
    // Forward training writes Mean/InvStd/Var; otherwise they are read (Var = running variance).
    private struct Job
    {
        public float* X, Y, Dy, Dx;       // [n, c, s]; Y, Dy, Dx null where unused or not needed
        public float* Weight, Bias;       // [c], null = affine off
        public float* Mean, InvStd, Var;  // [c]
        public float* DWeight, DBias;     // [c], null = not needed
        public int N, C, S;
        public float Eps;
        public bool Training;
    }

    private static void Run(Job job, bool backward)
    {
        bool rows = job.S < RowLayoutMaxS;
        if (!rows && !backward && !job.Training)
        {
            ForwardInferenceSegments(job);
            return;
        }
        int perTask = rows ? Math.Max(1, RowBlockColumns / job.S) : 1;
        int tasks = (job.C + perTask - 1) / perTask;
        if (tasks > 1 && (long)job.N * job.C * job.S > ParallelThreshold)
        {
            RunParallel(job, backward, rows, perTask, tasks);
            return;
        }
        for (int t = 0; t < tasks; t++) RunTask(job, backward, rows, t * perTask, Math.Min(job.C, (t + 1) * perTask));
    }

    // Separate from Run so that the closure is only allocated when the work runs in parallel.
    private static void RunParallel(Job job, bool backward, bool rows, int perTask, int tasks) =>
        ForkJoin.For(tasks, t => RunTask(job, backward, rows, t * perTask, Math.Min(job.C, (t + 1) * perTask)));

    private static void RunTask(in Job job, bool backward, bool rows, int c0, int c1)
    {
        if (rows)
        {
            if (backward) BackwardRows(job, c0, c1);
            else ForwardRows(job, c0, c1);
            return;
        }
        for (int ci = c0; ci < c1; ci++)
        {
            if (backward) BackwardSegments(job, ci);
            else ForwardSegments(job, ci);
        }
    }

    private static double InvStd(double variance, float eps) => variance + eps > 0 ? 1 / Math.Sqrt(variance + eps) : 0;

    // y = (x − mean)·scale + bias is evaluated as (x − center)·scale + shift with center = (float)mean: the
    // shift absorbs the mean's float rounding, shift = bias − (mean − center)·scale, so a large mean
    // (e.g. 1000, whose float ulp is 6e-5) costs no accuracy in y.
    private static float Shift(double mean, float center, double scale, double bias) => (float)(bias - (mean - center) * scale);

    // ---- Segment layout (s >= RowLayoutMaxS): one channel, n segments of s floats, c*s apart.

    // Training forward of one channel (eval forward: ForwardInferenceSegments).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardSegments(in Job job, int ci)
    {
        int s = job.S, stride = job.C * s;
        float* x = job.X + (nint)ci * s, y = job.Y + (nint)ci * s;
        SegmentStats(x, job.N, s, stride, out double mean, out double variance);
        double invStd = InvStd(variance, job.Eps);
        job.Mean[ci] = (float)mean;
        job.InvStd[ci] = (float)invStd;
        job.Var[ci] = (float)variance;
        double scale = (job.Weight == null ? 1 : job.Weight[ci]) * invStd;
        float center = (float)mean, shift = Shift(mean, center, scale, job.Bias == null ? 0 : job.Bias[ci]);
        for (int i = 0; i < job.N; i++)
        {
            ScaleShift(x + (nint)i * stride, y + (nint)i * stride, s, center, (float)scale, shift);
        }
    }

    // Eval forward, segment layout: the per-channel coefficients first (as ForwardSegments computes them),
    // then the n·c segments in memory order, split into one contiguous range per core. A task per
    // channel would make each core jump c·s floats between segments; one stream each is what the
    // prefetchers and PyTorch's kernel do (~0.3 ms for 6.4 MB here, from ~0.34 per channel).
    [SkipLocalsInit]
    private static void ForwardInferenceSegments(Job job)
    {
        int c = job.C;
        var coefficients = new float[3 * c];
        for (int ci = 0; ci < c; ci++)
        {
            double mean = job.Mean[ci], scale = (job.Weight == null ? 1 : job.Weight[ci]) * InvStd(job.Var[ci], job.Eps);
            float center = (float)mean;
            coefficients[ci] = center;
            coefficients[c + ci] = (float)scale;
            coefficients[2 * c + ci] = Shift(mean, center, scale, job.Bias == null ? 0 : job.Bias[ci]);
        }
        long segments = (long)job.N * c;
        int parts = segments * job.S > ParallelThreshold ? (int)Math.Min(Environment.ProcessorCount, segments) : 1;
        if (parts == 1)
        {
            ScaleShiftSegments(job, coefficients, 0, segments);
            return;
        }
        ForkJoin.For(parts, p => ScaleShiftSegments(job, coefficients, segments * p / parts, segments * (p + 1) / parts));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleShiftSegments(in Job job, float[] coefficients, long first, long end)
    {
        int c = job.C, s = job.S;
        for (long r = first; r < end; r++)
        {
            int ci = (int)(r % c);
            ScaleShift(job.X + r * s, job.Y + r * s, s, coefficients[ci], coefficients[c + ci], coefficients[2 * c + ci]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardSegments(in Job job, int ci)
    {
        int s = job.S, stride = job.C * s;
        float* x = job.X + (nint)ci * s, dy = job.Dy + (nint)ci * s;
        float mean = job.Mean[ci];
        double invStd = job.Training ? job.InvStd[ci] : InvStd(job.Var[ci], job.Eps);
        double sumDy = 0, sumDyDev = 0;
        if ((job.Training && job.Dx != null) || job.DWeight != null || job.DBias != null)
        {
            for (int i = 0; i < job.N; i++) SumDyDeviations(dy + (nint)i * stride, x + (nint)i * stride, s, mean, ref sumDy, ref sumDyDev);
        }
        if (job.DWeight != null) job.DWeight[ci] = (float)(sumDyDev * invStd);
        if (job.DBias != null) job.DBias[ci] = (float)sumDy;
        if (job.Dx == null) return;
        float* dx = job.Dx + (nint)ci * s;
        double a = (job.Weight == null ? 1 : job.Weight[ci]) * invStd, m = (double)job.N * s;
        if (!job.Training)
        {
            for (int i = 0; i < job.N; i++)
            {
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(dy + (nint)i * stride, s), (float)a, new Span<float>(dx + (nint)i * stride, s));
            }
            return;
        }
        float b = (float)(-a * invStd * invStd * sumDyDev / m), c0 = (float)(-a * sumDy / m);
        for (int i = 0; i < job.N; i++)
        {
            BackwardDx(dy + (nint)i * stride, x + (nint)i * stride, dx + (nint)i * stride, s, mean, (float)a, b, c0);
        }
    }

    // Corrected two-pass statistics of one channel (see the file comment). Biased variance.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SegmentStats(float* x, int n, int s, int stride, out double mean, out double variance)
    {
        double m = (double)n * s;
        float shift = x[0];
        double sum = 0;
        for (int i = 0; i < n; i++) sum += SumShifted(x + (nint)i * stride, s, shift);
        float center = (float)(shift + sum / m);
        double sumDev = 0, sumSq = 0;
        for (int i = 0; i < n; i++) SumDeviations(x + (nint)i * stride, s, center, ref sumDev, ref sumSq);
        double offset = sumDev / m;
        mean = center + offset;
        variance = Math.Max(sumSq / m - offset * offset, 0);
    }

    // Σ (x − shift) over one segment: float vector partial sums, flushed to float64 every FlushLength values.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumShifted(float* x, int length, float shift)
    {
        int w = Vector<float>.Count;
        var k = new Vector<float>(shift);
        double total = 0;
        for (int start = 0; start < length; start += FlushLength)
        {
            int end = Math.Min(length, start + FlushLength), i = start;
            Vector<float> acc0 = Vector<float>.Zero, acc1 = Vector<float>.Zero;
            for (; i <= end - 2 * w; i += 2 * w)
            {
                acc0 += Vector.Load(x + i) - k;
                acc1 += Vector.Load(x + i + w) - k;
            }
            if (i <= end - w)
            {
                acc0 += Vector.Load(x + i) - k;
                i += w;
            }
            float partial = Vector.Sum(acc0 + acc1);
            for (; i < end; i++) partial += x[i] - shift;
            total += partial;
        }
        return total;
    }

    // sumDev += Σ (x − center), sumSq += Σ (x − center)² over one segment, flushed like SumShifted.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumDeviations(float* x, int length, float center, ref double sumDev, ref double sumSq)
    {
        int w = Vector<float>.Count;
        var k = new Vector<float>(center);
        for (int start = 0; start < length; start += FlushLength)
        {
            int end = Math.Min(length, start + FlushLength), i = start;
            Vector<float> dev0 = Vector<float>.Zero, dev1 = Vector<float>.Zero, sq0 = Vector<float>.Zero, sq1 = Vector<float>.Zero;
            for (; i <= end - 2 * w; i += 2 * w)
            {
                var d0 = Vector.Load(x + i) - k;
                var d1 = Vector.Load(x + i + w) - k;
                dev0 += d0;
                dev1 += d1;
                sq0 = Vector.FusedMultiplyAdd(d0, d0, sq0);
                sq1 = Vector.FusedMultiplyAdd(d1, d1, sq1);
            }
            if (i <= end - w)
            {
                var d0 = Vector.Load(x + i) - k;
                dev0 += d0;
                sq0 = Vector.FusedMultiplyAdd(d0, d0, sq0);
                i += w;
            }
            float partialDev = Vector.Sum(dev0 + dev1), partialSq = Vector.Sum(sq0 + sq1);
            for (; i < end; i++)
            {
                float d = x[i] - center;
                partialDev += d;
                partialSq += d * d;
            }
            sumDev += partialDev;
            sumSq += partialSq;
        }
    }

    // sumDy += Σ dy, sumDyDev += Σ dy·(x − mean) over one segment, flushed like SumShifted.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumDyDeviations(float* dy, float* x, int length, float mean, ref double sumDy, ref double sumDyDev)
    {
        int w = Vector<float>.Count;
        var k = new Vector<float>(mean);
        for (int start = 0; start < length; start += FlushLength)
        {
            int end = Math.Min(length, start + FlushLength), i = start;
            Vector<float> g0 = Vector<float>.Zero, g1 = Vector<float>.Zero, gd0 = Vector<float>.Zero, gd1 = Vector<float>.Zero;
            for (; i <= end - 2 * w; i += 2 * w)
            {
                var dy0 = Vector.Load(dy + i);
                var dy1 = Vector.Load(dy + i + w);
                g0 += dy0;
                g1 += dy1;
                gd0 = Vector.FusedMultiplyAdd(dy0, Vector.Load(x + i) - k, gd0);
                gd1 = Vector.FusedMultiplyAdd(dy1, Vector.Load(x + i + w) - k, gd1);
            }
            if (i <= end - w)
            {
                var dy0 = Vector.Load(dy + i);
                g0 += dy0;
                gd0 = Vector.FusedMultiplyAdd(dy0, Vector.Load(x + i) - k, gd0);
                i += w;
            }
            float partialDy = Vector.Sum(g0 + g1), partialDyDev = Vector.Sum(gd0 + gd1);
            for (; i < end; i++)
            {
                partialDy += dy[i];
                partialDyDev += dy[i] * (x[i] - mean);
            }
            sumDy += partialDy;
            sumDyDev += partialDyDev;
        }
    }

    // y = (x − center)·scale + shift over one segment.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    //
    // Four vectors a block, the next block loaded before the current one is stored: pooled arrays start
    // at nearly the same offset in their pages, so y[i] usually sits a few bytes from x[i] modulo 4 KiB,
    // and a load issued just after a store to an address equal in its low 12 bits waits for that store
    // (4K aliasing). Loading ahead keeps the stores behind the loads they would alias with.
    private static void ScaleShift(float* x, float* y, int length, float center, float scale, float shift)
    {
        int w = Vector<float>.Count, block = 4 * w, i = 0;
        Vector<float> vc = new(center), va = new(scale), vb = new(shift);
        if (length >= 2 * block)
        {
            var a0 = Vector.Load(x);
            var a1 = Vector.Load(x + w);
            var a2 = Vector.Load(x + (2 * w));
            var a3 = Vector.Load(x + (3 * w));
            for (i = block; i <= length - block; i += block)
            {
                var b0 = Vector.Load(x + i);
                var b1 = Vector.Load(x + i + w);
                var b2 = Vector.Load(x + i + (2 * w));
                var b3 = Vector.Load(x + i + (3 * w));
                Vector.FusedMultiplyAdd(a0 - vc, va, vb).Store(y + i - block);
                Vector.FusedMultiplyAdd(a1 - vc, va, vb).Store(y + i - block + w);
                Vector.FusedMultiplyAdd(a2 - vc, va, vb).Store(y + i - block + (2 * w));
                Vector.FusedMultiplyAdd(a3 - vc, va, vb).Store(y + i - block + (3 * w));
                (a0, a1, a2, a3) = (b0, b1, b2, b3);
            }

            Vector.FusedMultiplyAdd(a0 - vc, va, vb).Store(y + i - block);
            Vector.FusedMultiplyAdd(a1 - vc, va, vb).Store(y + i - block + w);
            Vector.FusedMultiplyAdd(a2 - vc, va, vb).Store(y + i - block + (2 * w));
            Vector.FusedMultiplyAdd(a3 - vc, va, vb).Store(y + i - block + (3 * w));
        }

        for (; i <= length - w; i += w) Vector.FusedMultiplyAdd(Vector.Load(x + i) - vc, va, vb).Store(y + i);
        for (; i < length; i++) y[i] = MathF.FusedMultiplyAdd(x[i] - center, scale, shift);
    }

    // dx = a·dy + b·(x − mean) + c0 over one segment.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardDx(float* dy, float* x, float* dx, int length, float mean, float a, float b, float c0)
    {
        int w = Vector<float>.Count, i = 0;
        Vector<float> vm = new(mean), va = new(a), vb = new(b), vc = new(c0);
        for (; i <= length - w; i += w)
        {
            Vector.FusedMultiplyAdd(Vector.Load(dy + i), va, Vector.FusedMultiplyAdd(Vector.Load(x + i) - vm, vb, vc)).Store(dx + i);
        }
        for (; i < length; i++) dx[i] = MathF.FusedMultiplyAdd(dy[i], a, MathF.FusedMultiplyAdd(x[i] - mean, b, c0));
    }

    // ---- Row layout (s < RowLayoutMaxS): channels [c0, c1) are columns [c0*s, c1*s) of every row of c*s floats.

    [SkipLocalsInit]    // every scratch buffer is filled or cleared before use
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(in Job job, int c0, int c1)
    {
        int s = job.S, stride = job.C * s, width = (c1 - c0) * s, offset = c0 * s;
        double m = (double)job.N * s;
        float* center = stackalloc float[width], scale = stackalloc float[width], shift = stackalloc float[width];
        double* acc = stackalloc double[width], mean = stackalloc double[width];
        if (job.Training)
        {
            new Span<double>(acc, width).Clear();
            for (int i = 0; i < job.N; i++) AddColumns(job.X + offset + (nint)i * stride, width, acc);
            for (int k = 0; k < c1 - c0; k++) new Span<double>(mean + k * s, s).Fill(FoldColumns(acc + k * s, s) / m);
            new Span<double>(acc, width).Clear();
            for (int i = 0; i < job.N; i++) AddSquaredDeviations(job.X + offset + (nint)i * stride, width, mean, acc);
        }
        for (int k = 0; k < c1 - c0; k++)
        {
            int ci = c0 + k;
            double channelMean, invStd;
            if (job.Training)
            {
                channelMean = mean[k * s];
                double variance = FoldColumns(acc + k * s, s) / m;
                invStd = InvStd(variance, job.Eps);
                job.Mean[ci] = (float)channelMean;
                job.InvStd[ci] = (float)invStd;
                job.Var[ci] = (float)variance;
            }
            else
            {
                channelMean = job.Mean[ci];
                invStd = InvStd(job.Var[ci], job.Eps);
            }
            double channelScale = (job.Weight == null ? 1 : job.Weight[ci]) * invStd;
            float channelCenter = (float)channelMean;
            new Span<float>(center + k * s, s).Fill(channelCenter);
            new Span<float>(scale + k * s, s).Fill((float)channelScale);
            new Span<float>(shift + k * s, s).Fill(Shift(channelMean, channelCenter, channelScale, job.Bias == null ? 0 : job.Bias[ci]));
        }
        for (int i = 0; i < job.N; i++)
        {
            ScaleShiftColumns(job.X + offset + (nint)i * stride, job.Y + offset + (nint)i * stride, width, center, scale, shift);
        }
    }

    [SkipLocalsInit]    // every scratch buffer is filled or cleared before use
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRows(in Job job, int c0, int c1)
    {
        int s = job.S, stride = job.C * s, width = (c1 - c0) * s, offset = c0 * s;
        double m = (double)job.N * s;
        float* meanF = stackalloc float[width], a = stackalloc float[width], b = stackalloc float[width], c = stackalloc float[width];
        double* mean = stackalloc double[width], sumDy = stackalloc double[width], sumDyDev = stackalloc double[width];
        for (int k = 0; k < c1 - c0; k++)
        {
            new Span<double>(mean + k * s, s).Fill(job.Mean[c0 + k]);
            new Span<float>(meanF + k * s, s).Fill(job.Mean[c0 + k]);
        }
        new Span<double>(sumDy, width).Clear();
        new Span<double>(sumDyDev, width).Clear();
        if ((job.Training && job.Dx != null) || job.DWeight != null || job.DBias != null)
        {
            for (int i = 0; i < job.N; i++)
            {
                AddDyDeviations(job.Dy + offset + (nint)i * stride, job.X + offset + (nint)i * stride, width, mean, sumDy, sumDyDev);
            }
        }
        for (int k = 0; k < c1 - c0; k++)
        {
            int ci = c0 + k;
            double invStd = job.Training ? job.InvStd[ci] : InvStd(job.Var[ci], job.Eps);
            double channelDy = FoldColumns(sumDy + k * s, s), channelDyDev = FoldColumns(sumDyDev + k * s, s);
            if (job.DWeight != null) job.DWeight[ci] = (float)(channelDyDev * invStd);
            if (job.DBias != null) job.DBias[ci] = (float)channelDy;
            double ak = (job.Weight == null ? 1 : job.Weight[ci]) * invStd;
            new Span<float>(a + k * s, s).Fill((float)ak);
            new Span<float>(b + k * s, s).Fill((float)(-ak * invStd * invStd * channelDyDev / m));
            new Span<float>(c + k * s, s).Fill((float)(-ak * channelDy / m));
        }
        if (job.Dx == null) return;
        for (int i = 0; i < job.N; i++)
        {
            float* dy = job.Dy + offset + (nint)i * stride, dx = job.Dx + offset + (nint)i * stride;
            if (!job.Training)
            {
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(dy, width), new ReadOnlySpan<float>(a, width), new Span<float>(dx, width));
                continue;
            }
            BackwardDxColumns(dy, job.X + offset + (nint)i * stride, dx, width, meanF, a, b, c);
        }
    }

    // y[j] = (x[j] − center[j])·scale[j] + shift[j] over one row's column block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleShiftColumns(float* x, float* y, int width, float* center, float* scale, float* shift)
    {
        int w = Vector<float>.Count, j = 0;
        for (; j <= width - w; j += w)
        {
            Vector.FusedMultiplyAdd(Vector.Load(x + j) - Vector.Load(center + j), Vector.Load(scale + j), Vector.Load(shift + j)).Store(y + j);
        }
        for (; j < width; j++) y[j] = MathF.FusedMultiplyAdd(x[j] - center[j], scale[j], shift[j]);
    }

    // dx[j] = a[j]·dy[j] + b[j]·(x[j] − mean[j]) + c[j] over one row's column block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardDxColumns(float* dy, float* x, float* dx, int width, float* mean, float* a, float* b, float* c)
    {
        int w = Vector<float>.Count, j = 0;
        for (; j <= width - w; j += w)
        {
            var dev = Vector.Load(x + j) - Vector.Load(mean + j);
            Vector.FusedMultiplyAdd(Vector.Load(dy + j), Vector.Load(a + j), Vector.FusedMultiplyAdd(dev, Vector.Load(b + j), Vector.Load(c + j))).Store(dx + j);
        }
        for (; j < width; j++) dx[j] = MathF.FusedMultiplyAdd(dy[j], a[j], MathF.FusedMultiplyAdd(x[j] - mean[j], b[j], c[j]));
    }

    private static double FoldColumns(double* columns, int s)
    {
        double total = 0;
        for (int j = 0; j < s; j++) total += columns[j];
        return total;
    }

    // acc[j] += x[j], in float64.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddColumns(float* x, int width, double* acc)
    {
        int w = Vector<float>.Count, h = Vector<double>.Count, j = 0;
        for (; j <= width - w; j += w)
        {
            Vector.Widen(Vector.Load(x + j), out Vector<double> lo, out Vector<double> hi);
            (Vector.Load(acc + j) + lo).Store(acc + j);
            (Vector.Load(acc + j + h) + hi).Store(acc + j + h);
        }
        for (; j < width; j++) acc[j] += x[j];
    }

    // acc[j] += (x[j] − mean[j])², in float64.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddSquaredDeviations(float* x, int width, double* mean, double* acc)
    {
        int w = Vector<float>.Count, h = Vector<double>.Count, j = 0;
        for (; j <= width - w; j += w)
        {
            Vector.Widen(Vector.Load(x + j), out Vector<double> lo, out Vector<double> hi);
            lo -= Vector.Load(mean + j);
            hi -= Vector.Load(mean + j + h);
            Vector.FusedMultiplyAdd(lo, lo, Vector.Load(acc + j)).Store(acc + j);
            Vector.FusedMultiplyAdd(hi, hi, Vector.Load(acc + j + h)).Store(acc + j + h);
        }
        for (; j < width; j++)
        {
            double d = x[j] - mean[j];
            acc[j] += d * d;
        }
    }

    // sumDy[j] += dy[j], sumDyDev[j] += dy[j]·(x[j] − mean[j]), in float64.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddDyDeviations(float* dy, float* x, int width, double* mean, double* sumDy, double* sumDyDev)
    {
        int w = Vector<float>.Count, h = Vector<double>.Count, j = 0;
        for (; j <= width - w; j += w)
        {
            Vector.Widen(Vector.Load(dy + j), out Vector<double> gLo, out Vector<double> gHi);
            Vector.Widen(Vector.Load(x + j), out Vector<double> xLo, out Vector<double> xHi);
            (Vector.Load(sumDy + j) + gLo).Store(sumDy + j);
            (Vector.Load(sumDy + j + h) + gHi).Store(sumDy + j + h);
            Vector.FusedMultiplyAdd(gLo, xLo - Vector.Load(mean + j), Vector.Load(sumDyDev + j)).Store(sumDyDev + j);
            Vector.FusedMultiplyAdd(gHi, xHi - Vector.Load(mean + j + h), Vector.Load(sumDyDev + j + h)).Store(sumDyDev + j + h);
        }
        for (; j < width; j++)
        {
            sumDy[j] += dy[j];
            sumDyDev[j] += dy[j] * (x[j] - mean[j]);
        }
    }

    // ---- Argument checks: the op, what was given, what was expected.

    private static void CheckData(string op, int length, int n, int c, int s, string name)
    {
        if (n < 1 || c < 1 || s < 1)
        {
            throw new ArgumentException($"BatchNorm {op}: sizes must be positive, got n = {n}, c = {c}, s = {s}.");
        }
        if (length != (long)n * c * s)
        {
            throw new ArgumentException($"BatchNorm {op}: {name} has {length} values, expected n·c·s = {n}·{c}·{s} = {(long)n * c * s}.", name);
        }
    }

    private static void CheckOptionalData(string op, int length, int n, int c, int s, string name)
    {
        if (length != 0) CheckData(op, length, n, c, s, name);
    }

    private static void CheckChannels(string op, int length, int c, string name)
    {
        if (length != c) throw new ArgumentException($"BatchNorm {op}: {name} has {length} values, expected c = {c}.", name);
    }

    // weight and the other per-channel affine span (bias, dWeight or dBias): each empty or [c].
    private static void CheckAffine(string op, int weightLength, int otherLength, int c)
    {
        if ((weightLength != 0 && weightLength != c) || (otherLength != 0 && otherLength != c))
        {
            throw new ArgumentException($"BatchNorm {op}: per-channel affine spans must be empty or have c = {c} values, got {weightLength} and {otherLength}.");
        }
    }
}
