// The plain CPU backend: managed arrays, and the vectorised, parallel kernels in MiniNet.Kernels.
// Each method unwraps its storages and forwards to one kernel; nothing here knows about autograd.
using MiniNet.Kernels;

namespace MiniNet.Backends;

/// <summary>Float storage on the CPU: a managed array, rented from <see cref="CpuArrayPool"/> when large.</summary>
public sealed class CpuStorage : Storage
{
    // Returns a rented array to the pool once this storage is unreachable (null: not pooled).
    readonly CpuArrayPool.Lease? _lease;

    readonly float[] _data;

    /// <summary>Wraps <paramref name="data"/>; a wrapped array is never pooled.</summary>
    public CpuStorage(float[] data) => _data = data;

    internal CpuStorage(float[] data, CpuArrayPool.Lease lease)
    {
        _data = data;
        _lease = lease;
    }

    /// <summary>The elements; a pooled array is valid only while this storage is reachable and not released.</summary>
    public float[] Data
    {
        get
        {
            ThrowIfReleased();
            return _data;
        }
    }

    /// <inheritdoc/>
    protected override void OnRelease() => _lease?.Dispose();
    /// <summary>Whether <see cref="Data"/> was rented from the pool (it returns there after this storage dies).</summary>
    public bool IsPooled => _lease is not null;
    /// <inheritdoc/>
    public override int Length => _data.Length;
    /// <inheritdoc/>
    public override Device Device => Device.Cpu;
}

/// <summary>Int storage on the CPU (indices, class targets).</summary>
public sealed class CpuIntStorage(int[] data) : Storage
{
    /// <summary>The elements.</summary>
    public int[] Data
    {
        get
        {
            ThrowIfReleased();
            return data;
        }
    }
    /// <inheritdoc/>
    public override int Length => data.Length;
    /// <inheritdoc/>
    public override Device Device => Device.Cpu;
}

/// <summary>The CPU backend.</summary>
public sealed class CpuBackend : Backend
{
    /// <summary>The one instance, behind <see cref="Device.Cpu"/>.</summary>
    public static CpuBackend Instance { get; } = new();

    CpuBackend() { }

    static float[] F(Storage s) => ((CpuStorage)s).Data;
    static Span<float> FOrEmpty(Storage? s) => s is null ? [] : ((CpuStorage)s).Data;
    static int[] I(Storage s) => ((CpuIntStorage)s).Data;

    /// <inheritdoc/>
    public override Storage Allocate(int length) => CpuArrayPool.Shared.Rent(length, zero: true);
    /// <inheritdoc/>
    public override Storage AllocateUninitialized(int length) => CpuArrayPool.Shared.Rent(length, zero: false);
    /// <inheritdoc/>
    public override Storage AllocateInt(int length) => new CpuIntStorage(new int[length]);
    /// <inheritdoc/>
    public override Storage FromHost(ReadOnlySpan<float> data) => new CpuStorage(data.ToArray());
    /// <inheritdoc/>
    public override Storage FromHost(ReadOnlySpan<int> data) => new CpuIntStorage(data.ToArray());
    /// <inheritdoc/>
    public override void ToHost(Storage source, Span<float> destination) => F(source).CopyTo(destination);
    /// <inheritdoc/>
    public override void Copy(Storage source, Storage destination) => F(source).CopyTo(F(destination), 0);
    /// <inheritdoc/>
    public override void Fill(Storage buffer, float value) => Array.Fill(F(buffer), value);

    // Large same-length element-wise work is split in two halves, one per core; smaller work stays
    // on the calling thread, where a task would cost more than it saves.
    const int ParallelThreshold = 1 << 17;

    static void Split(int length, Action<int, int> body)
    {
        if (length < ParallelThreshold)
        {
            body(0, length);
            return;
        }
        int half = (length / 2 + 15) & ~15;
        ForkJoin.For(2, part => body(part == 0 ? 0 : half, part == 0 ? half : length - half));
    }

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, int[] aShape, Storage b, int[] bShape, Storage y, int[] yShape)
    {
        float[] av = F(a), bv = F(b), yv = F(y);
        if (av.Length == yv.Length && bv.Length == yv.Length)
            Split(yv.Length, (start, count) => Elementwise.Binary(op, av.AsSpan(start, count), [count], bv.AsSpan(start, count), [count], yv.AsSpan(start, count), [count]));
        else
            Elementwise.Binary(op, av, aShape, bv, bShape, yv, yShape);
    }

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, float scalar, Storage y)
    {
        float[] xv = F(x), yv = F(y);
        Split(yv.Length, (start, count) => Elementwise.Unary(op, xv.AsSpan(start, count), scalar, yv.AsSpan(start, count)));
    }

    /// <inheritdoc/>
    public override void AddScaledInPlace(Storage y, Storage x, float alpha)
    {
        float[] xv = F(x), yv = F(y);
        Split(yv.Length, (start, count) =>
        {
            var ys = yv.AsSpan(start, count);
            if (alpha == 1f) System.Numerics.Tensors.TensorPrimitives.Add(ys, xv.AsSpan(start, count), ys);
            else System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(xv.AsSpan(start, count), alpha, ys, ys);
        });
    }
    /// <inheritdoc/>
    public override void SumTo(Storage x, int[] xShape, Storage y, int[] yShape) => Elementwise.SumTo(F(x), xShape, F(y), yShape);
    /// <inheritdoc/>
    public override void Permute(Storage x, int[] xShape, int[] perm, Storage y) => Elementwise.Permute(F(x), xShape, perm, F(y));
    /// <inheritdoc/>
    public override int[] ArgMaxRows(Storage x, int rows, int cols)
    {
        var result = new int[rows];
        Elementwise.ArgMaxRows(F(x), rows, cols, result);
        return result;
    }
    /// <inheritdoc/>
    public override void DropoutMask(Storage mask, float p, ulong seed) => Elementwise.DropoutMask(F(mask), p, seed);

    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int m, int n, int k, Storage a, int aOffset, Storage b, int bOffset, Storage c, int cOffset, float beta) =>
        Kernels.Gemm.Multiply(transA, transB, m, n, k, F(a).AsSpan(aOffset, m * k), F(b).AsSpan(bOffset, k * n), F(c).AsSpan(cOffset, m * n), beta);

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage weight, Storage? bias, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage y) =>
        Conv2dKernels.Forward(F(x), F(weight), FOrEmpty(bias), n, cIn, h, w, cOut, kernelSize, stride, padding, F(y));
    /// <inheritdoc/>
    public override void Conv2dBackward(Storage dy, Storage x, Storage weight, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage? dx, Storage? dWeight, Storage? dBias) =>
        Conv2dKernels.Backward(F(dy), F(x), F(weight), n, cIn, h, w, cOut, kernelSize, stride, padding, FOrEmpty(dx), FOrEmpty(dWeight), FOrEmpty(dBias));
    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, int n, int c, int h, int w, int kernelSize, int stride, Storage y, Storage indices) =>
        MaxPool2dKernels.Forward(F(x), n, c, h, w, kernelSize, stride, F(y), I(indices));
    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage indices, int n, int c, int h, int w, int kernelSize, int stride, Storage dx) =>
        MaxPool2dKernels.Backward(F(dy), I(indices), n, c, h, w, MaxPool2dKernels.OutputSize(h, kernelSize, stride), MaxPool2dKernels.OutputSize(w, kernelSize, stride), F(dx));

    /// <inheritdoc/>
    public override void BatchNormForwardTraining(Storage x, int n, int c, int s, Storage? weight, Storage? bias, float eps, Storage y, Storage saveMean, Storage saveInvStd, Storage batchVar) =>
        BatchNormKernels.ForwardTraining(F(x), n, c, s, FOrEmpty(weight), FOrEmpty(bias), eps, F(y), F(saveMean), F(saveInvStd), F(batchVar));
    /// <inheritdoc/>
    public override void BatchNormForwardInference(Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, Storage? bias, float eps, Storage y) =>
        BatchNormKernels.ForwardInference(F(x), n, c, s, F(runningMean), F(runningVar), FOrEmpty(weight), FOrEmpty(bias), eps, F(y));
    /// <inheritdoc/>
    public override void BatchNormBackwardTraining(Storage dy, Storage x, int n, int c, int s, Storage saveMean, Storage saveInvStd, Storage? weight, Storage? dx, Storage? dWeight, Storage? dBias) =>
        BatchNormKernels.BackwardTraining(F(dy), F(x), n, c, s, F(saveMean), F(saveInvStd), FOrEmpty(weight), FOrEmpty(dx), FOrEmpty(dWeight), FOrEmpty(dBias));
    /// <inheritdoc/>
    public override void BatchNormBackwardInference(Storage dy, Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, float eps, Storage? dx, Storage? dWeight, Storage? dBias) =>
        BatchNormKernels.BackwardInference(F(dy), F(x), n, c, s, F(runningMean), F(runningVar), FOrEmpty(weight), eps, FOrEmpty(dx), FOrEmpty(dWeight), FOrEmpty(dBias));
    /// <inheritdoc/>
    public override void BatchNormUpdateRunningStats(Storage batchMean, Storage batchVar, int m, float factor, Storage? cumulativeCount, Storage runningMean, Storage runningVar) =>
        BatchNormKernels.UpdateRunningStats(F(batchMean), F(batchVar), m, cumulativeCount is null ? factor : (float)(1.0 / F(cumulativeCount)[0]), F(runningMean), F(runningVar));

    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, int n, int k, Storage targets, Storage probabilities, Storage loss) =>
        F(loss)[0] = CrossEntropyKernels.Forward(F(logits), n, k, I(targets), F(probabilities));
    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probabilities, int n, int k, Storage targets, Storage gradOutput, float scale, Storage dLogits) =>
        CrossEntropyKernels.Backward(F(probabilities), n, k, I(targets), F(gradOutput)[0] * scale, F(dLogits));
    /// <inheritdoc/>
    public override void LogSoftmax(Storage x, int n, int k, Storage y) => CrossEntropyKernels.LogSoftmax(F(x), n, k, F(y));
    /// <inheritdoc/>
    public override void LogSoftmaxBackward(Storage dy, Storage y, int n, int k, Storage dx) => CrossEntropyKernels.LogSoftmaxBackward(F(dy), F(y), n, k, F(dx));

    // The optimizer updates are element-wise, so the two halves give the same bits as one pass. A large
    // parameter's update is memory-bound (the seed CNN's 6.3M-weight Linear: p, grad and momentum, 125 MB
    // of traffic a step), and two cores move more bytes than one.
    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        float[] p = F(param), g = F(grad), buf = momentumBuffer is null ? [] : F(momentumBuffer);
        Split(p.Length, (start, count) => OptimizerKernels.SgdStep(p.AsSpan(start, count), g.AsSpan(start, count), buf.Length == 0 ? [] : buf.AsSpan(start, count),
            lr, momentum, dampening, weightDecay, nesterov, firstStep));
    }
    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage expAvg, Storage expAvgSq, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
    {
        float[] p = F(param), g = F(grad), m = F(expAvg), v = F(expAvgSq);
        Split(p.Length, (start, count) => OptimizerKernels.AdamStep(p.AsSpan(start, count), g.AsSpan(start, count), m.AsSpan(start, count), v.AsSpan(start, count),
            lr, beta1, beta2, eps, weightDecay, decoupled, step));
    }
}
