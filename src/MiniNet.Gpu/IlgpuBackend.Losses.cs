// The ILGPU backend's softmax cross-entropy and log-softmax (kernels in Kernels/LossKernels.cs): host-side
// checks and launches, one group per row of [n, k]. Contracts as in Backend.cs; results as the CPU
// backend's (MiniNet.Kernels.CrossEntropyKernels) to float rounding.
// The mean loss stays on the device: per-row losses go to scratch, and SumRows (the fixed-order reduction
// behind SumTo) sums them times 1/n into `loss`; the backward reads gradOutput[0] on the device too, so
// a training step copies nothing to the host.
using ILGPU;
using ILGPU.Runtime;
using MiniNet.Gpu.Kernels;

namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    Action<KernelConfig, ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _crossEntropyForward;
    Action<Index1D, ArrayView<float>, ArrayView<float>, float, ArrayView<float>>? _crossEntropyBackwardScale;
    Action<Index1D, ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>, float, ArrayView<float>>? _crossEntropyBackwardTargets;
    Action<KernelConfig, ArrayView<float>, int, int, ArrayView<float>>? _logSoftmax;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>>? _logSoftmaxBackward;

    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, int n, int k, Storage targets, Storage probabilities, Storage loss)
    {
        ArrayView<float> x = F(logits), p = F(probabilities), lossView = F(loss);
        var t = I(targets);
        Rows.Check("CrossEntropy Forward", x.Length, n, k, nameof(logits));
        Rows.Check("CrossEntropy Forward", p.Length, n, k, nameof(probabilities));
        if (t.Length != n)
            throw new ArgumentException($"CrossEntropy Forward: targets has {t.Length} values, expected n = {n}.", nameof(targets));
        if (lossView.Length != 1)
            throw new ArgumentException($"CrossEntropy Forward: loss has {lossView.Length} values, expected 1.", nameof(loss));
        Run("CrossEntropyForward", () =>
        {
            if (n == 0)
            {
                LaunchFill(lossView, float.NaN);                           // the mean of nothing, as the CPU
                return;
            }
            var rowLoss = RentFloat(n);                                   // [n]
            (_crossEntropyForward ??= Accelerator.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>, ArrayView<float>>(CrossEntropyKernels.Forward))(
                new KernelConfig(n, RowGroupSize(k)), x, n, k, t, p, rowLoss.View);
            LaunchSumRows(rowLoss.View, 1, 1, n, lossView, 1f / n);
            GC.KeepAlive(rowLoss);
        });
    }

    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probabilities, int n, int k, Storage targets, Storage gradOutput, float scale, Storage dLogits)
    {
        ArrayView<float> p = F(probabilities), g = F(gradOutput), dx = F(dLogits);
        var t = I(targets);
        Rows.Check("CrossEntropy Backward", p.Length, n, k, nameof(probabilities));
        Rows.Check("CrossEntropy Backward", dx.Length, n, k, nameof(dLogits));
        if (t.Length != n)
            throw new ArgumentException($"CrossEntropy Backward: targets has {t.Length} values, expected n = {n}.", nameof(targets));
        if (g.Length < 1)
            throw new ArgumentException("CrossEntropy Backward: gradOutput is empty; expected the loss's one-element gradient.", nameof(gradOutput));
        if (n == 0) return;
        Run("CrossEntropyBackward", () =>
        {
            (_crossEntropyBackwardScale ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float, ArrayView<float>>(
                CrossEntropyKernels.BackwardScale))((int)dx.Length, p, g, scale, dx);
            (_crossEntropyBackwardTargets ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>, float, ArrayView<float>>(
                CrossEntropyKernels.BackwardTargets))(n, p, n, k, t, g, scale, dx);
        });
    }

    /// <inheritdoc/>
    public override void LogSoftmax(Storage x, int n, int k, Storage y)
    {
        ArrayView<float> xv = F(x), yv = F(y);
        Rows.Check("LogSoftmax", xv.Length, n, k, nameof(x));
        Rows.Check("LogSoftmax", yv.Length, n, k, nameof(y));
        if (n == 0) return;
        Run("LogSoftmax", () => (_logSoftmax ??= Accelerator.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>>(LogSoftmaxKernels.Forward))(
            new KernelConfig(n, RowGroupSize(k)), xv, n, k, yv));
    }

    /// <inheritdoc/>
    public override void LogSoftmaxBackward(Storage dy, Storage y, int n, int k, Storage dx)
    {
        ArrayView<float> dyv = F(dy), yv = F(y), dxv = F(dx);
        Rows.Check("LogSoftmaxBackward", dyv.Length, n, k, nameof(dy));
        Rows.Check("LogSoftmaxBackward", yv.Length, n, k, nameof(y));
        Rows.Check("LogSoftmaxBackward", dxv.Length, n, k, nameof(dx));
        if (n == 0) return;
        Run("LogSoftmaxBackward", () => (_logSoftmaxBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>>(LogSoftmaxKernels.Backward))(
            new KernelConfig(n, RowGroupSize(k)), dyv, yv, n, k, dxv));
    }
}

// The row checks of this file's ops (file-local, so no name can clash with another part of the backend).
file static class Rows
{
    internal static void Check(string op, long length, int n, int k, string name)
    {
        if (n < 0 || k < 1 || length != (long)n * k)
            throw new ArgumentException($"{op}: {name} has {length} values, expected n·k = {n}·{k} with k >= 1.", name);
    }
}
