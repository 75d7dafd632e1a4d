// The ILGPU backend's optimizer steps (kernels in Kernels/OptimizerKernels.cs): the host computes the
// per-step scalars in float64 and rounds them to float exactly as the CPU kernel
// (MiniNet.Kernels.OptimizerKernels) does, then one launch updates the parameter and its state in place.
using ILGPU;
using ILGPU.Runtime;
using MiniNet.Gpu.Kernels;

namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdScalars>? _sgdStep;
    Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars>? _adamStep;

    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        ArrayView<float> p = F(param), g = F(grad), buffer = FOrEmpty(momentumBuffer);
        ParameterLength.Check(nameof(SgdStep), g.Length, p.Length, nameof(grad));
        if (momentum != 0) ParameterLength.Check(nameof(SgdStep), buffer.Length, p.Length, nameof(momentumBuffer));
        var s = new SgdScalars
        {
            Lr = (float)lr,
            Momentum = (float)momentum,
            Keep = (float)(1 - dampening),
            WeightDecay = (float)weightDecay,
            Terms = (weightDecay != 0 ? SgdTerms.Decay : 0) | (momentum != 0 ? SgdTerms.Momentum : 0)
                | (nesterov ? SgdTerms.Nesterov : 0) | (firstStep ? SgdTerms.FirstStep : 0),
        };
        if (p.Length == 0) return;
        Run("SgdStep", () => (_sgdStep ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdScalars>(
            OptimizerKernels.SgdStep))((int)p.Length, p, g, buffer, s));
    }

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage expAvg, Storage expAvgSq, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
    {
        ArrayView<float> p = F(param), g = F(grad), m = F(expAvg), v = F(expAvgSq);
        ParameterLength.Check(nameof(AdamStep), g.Length, p.Length, nameof(grad));
        ParameterLength.Check(nameof(AdamStep), m.Length, p.Length, nameof(expAvg));
        ParameterLength.Check(nameof(AdamStep), v.Length, p.Length, nameof(expAvgSq));
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, $"{nameof(AdamStep)}: step is 1-based, got {step}.");
        float w1 = (float)(1 - beta1);
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        var s = new AdamScalars
        {
            WeightDecay = (float)weightDecay,
            Shrink = (float)(1 - lr * weightDecay),
            W1 = w1,
            W1Low = w1 < 0.5f ? w1 : w1 - 1,
            Beta2 = (float)beta2,
            W2 = (float)(1 - beta2),
            NegStepSize = (float)(-(lr / bc1)),
            Bc2Sqrt = (float)Math.Sqrt(bc2),
            Eps = (float)eps,
            Decay = weightDecay == 0 ? AdamDecay.None : decoupled ? AdamDecay.Decoupled : AdamDecay.Coupled,
        };
        if (p.Length == 0) return;
        Run("AdamStep", () => (_adamStep ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars>(
            OptimizerKernels.AdamStep))((int)p.Length, p, g, m, v, s));
    }
}

// The length check of this file's ops (file-local, so no name can clash with another part of the backend).
file static class ParameterLength
{
    internal static void Check(string op, long length, long expected, string name)
    {
        if (length != expected)
            throw new ArgumentException($"{op}: {name} has {length} values, expected {expected} (the parameter's length).", name);
    }
}
