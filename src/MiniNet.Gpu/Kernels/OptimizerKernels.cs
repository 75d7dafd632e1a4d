// Optimizer update ILGPU kernels: one thread per parameter element updates the parameter and its state
// in place. Reference semantics: MiniNet.Kernels.OptimizerKernels (PyTorch's torch.optim.SGD and Adam /
// AdamW formulas), operation for operation: the scalars PyTorch computes in Python (1 − dampening, the
// bias corrections, the step size) are computed by the host in float64 and rounded once, exactly as the
// CPU kernel does, and arrive here in a small struct. The CPU fuses some multiply-adds; ILGPU 1.5 has
// no float FMA intrinsic, so they are written a·b + c: on CUDA ptxas contracts that into one fma (its
// default), on ILGPU's CPU accelerator the product is rounded first, so there the last bit may differ.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace MiniNet.Gpu.Kernels;

/// <summary>SGD's per-step scalars, rounded to float as the CPU kernel rounds them (a kernel argument).</summary>
public readonly record struct SgdScalars
{
    /// <summary>The learning rate.</summary>
    public float Lr { get; init; }
    /// <summary>The momentum factor.</summary>
    public float Momentum { get; init; }
    /// <summary>1 − dampening.</summary>
    public float Keep { get; init; }
    /// <summary>The L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; init; }
    /// <summary>Which parts of the update apply.</summary>
    public SgdTerms Terms { get; init; }
}

/// <summary>The parts of an SGD step that apply (an enum, as kernel arguments must be blittable: no bool).</summary>
[Flags]
public enum SgdTerms
{
    /// <summary>Plain SGD.</summary>
    None = 0,
    /// <summary>weightDecay ≠ 0.</summary>
    Decay = 1,
    /// <summary>momentum ≠ 0 (the momentum buffer exists).</summary>
    Momentum = 2,
    /// <summary>Nesterov momentum.</summary>
    Nesterov = 4,
    /// <summary>The first step with momentum: the buffer starts as the gradient.</summary>
    FirstStep = 8,
}

/// <summary>Adam's per-step scalars, rounded to float as the CPU kernel rounds them (a kernel argument).</summary>
public readonly record struct AdamScalars
{
    /// <summary>The weight decay.</summary>
    public float WeightDecay { get; init; }
    /// <summary>1 − lr·weightDecay (AdamW's parameter scale).</summary>
    public float Shrink { get; init; }
    /// <summary>1 − beta1, lerp's weight.</summary>
    public float W1 { get; init; }
    /// <summary>The factor lerp multiplies by: W1 below 0.5, else W1 − 1 (lerp then starts from the end).</summary>
    public float W1Low { get; init; }
    /// <summary>beta2.</summary>
    public float Beta2 { get; init; }
    /// <summary>1 − beta2.</summary>
    public float W2 { get; init; }
    /// <summary>−lr / (1 − beta1^t).</summary>
    public float NegStepSize { get; init; }
    /// <summary>√(1 − beta2^t).</summary>
    public float Bc2Sqrt { get; init; }
    /// <summary>Added to the denominator.</summary>
    public float Eps { get; init; }
    /// <summary>How weight decay applies.</summary>
    public AdamDecay Decay { get; init; }
}

/// <summary>How Adam's weight decay applies (an enum, as kernel arguments must be blittable: no bool).</summary>
public enum AdamDecay
{
    /// <summary>No weight decay.</summary>
    None,
    /// <summary>Adam: g += weightDecay·p.</summary>
    Coupled,
    /// <summary>AdamW: p ·= 1 − lr·weightDecay first.</summary>
    Decoupled,
}

/// <summary>In-place SGD and Adam/AdamW updates.</summary>
internal static class OptimizerKernels
{
    // g = grad + weightDecay·p; with momentum, buf = firstStep ? g : momentum·buf + (1 − dampening)·g and
    // g = nesterov ? g + momentum·buf : buf; then p −= lr·g.

    /// <summary>One SGD step on element i of param, grad and (when momentum ≠ 0) momentumBuffer.</summary>
    public static void SgdStep(Index1D i, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> momentumBuffer, SgdScalars s)
    {
        if (i >= param.Length) return;
        float p = param[i];
        float d = grad[i];
        if ((s.Terms & SgdTerms.Decay) != 0) d = p * s.WeightDecay + d;               // d_p.add(p, alpha=weight_decay)
        if ((s.Terms & SgdTerms.Momentum) != 0)
        {
            float b = (s.Terms & SgdTerms.FirstStep) != 0 ? d : d * s.Keep + momentumBuffer[i] * s.Momentum;
            momentumBuffer[i] = b;
            d = (s.Terms & SgdTerms.Nesterov) != 0 ? b * s.Momentum + d : b;
        }
        param[i] = d * -s.Lr + p;                             // p.add_(d_p, alpha=-lr)
    }

    // Adam: g += weightDecay·p; AdamW: p ·= 1 − lr·weightDecay. Then m = lerp(m, g, 1 − beta1),
    // v = beta2·v + (1 − beta2)·g², p += −lr/(1 − beta1^t) · m / (√v / √(1 − beta2^t) + eps).

    /// <summary>One Adam (or AdamW) step on element i of param, grad, expAvg and expAvgSq.</summary>
    public static void AdamStep(Index1D i, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> expAvg, ArrayView<float> expAvgSq, AdamScalars s)
    {
        if (i >= param.Length) return;
        float p = param[i], g = grad[i];
        if (s.Decay == AdamDecay.Coupled) g = p * s.WeightDecay + g;         // grad.add(p, alpha=weight_decay)
        if (s.Decay == AdamDecay.Decoupled) p *= s.Shrink;                                                // p.mul_(1 − lr·weight_decay)
        float m = expAvg[i];
        m = s.W1Low * (g - m) + (s.W1 < 0.5f ? m : g);             // m.lerp_(g, 1 − beta1)
        float v = expAvgSq[i] * s.Beta2 + s.W2 * g * g;                                // v.mul_(beta2).addcmul_(g, g, 1 − beta2)
        float denom = XMath.Sqrt(v) / s.Bc2Sqrt + s.Eps;
        expAvg[i] = m;
        expAvgSq[i] = v;
        param[i] = p + s.NegStepSize * m / denom;                                       // p.addcdiv_(m, denom, −step_size)
    }
}
