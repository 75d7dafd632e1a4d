// Optimizer update kernels: one fused, vectorised pass over a parameter and its state, updated in place.
// Formulas and their order of operations follow PyTorch's single-tensor CPU paths (torch.optim.SGD and
// torch.optim.Adam, maximize = false, amsgrad = false), including where PyTorch's vector kernels fuse a
// multiply-add: `a.add_(b, alpha)` is fma(b, alpha, a), `lerp_` is fma(w, end − start, start) for w < 0.5.
// Hyperparameters arrive in float64, as PyTorch's Python floats, so the scalars PyTorch computes in Python
// (1 − dampening, bias corrections, step size) are computed in float64 here too, then rounded once.
// Traps: SGD's momentum buffer is the gradient itself on the first step (no dampening then); Adam's
// step is 1-based; AdamW (decoupled) scales the parameter before the moments are updated.
using System.Numerics;

namespace MiniNet.Kernels;

/// <summary>In-place parameter updates for SGD and Adam/AdamW, with PyTorch's semantics.</summary>
public static unsafe class OptimizerKernels
{
    /// <summary>
    /// One torch.optim.SGD step: g = grad + weightDecay·p; with momentum, buf = firstStep ? g :
    /// momentum·buf + (1 − dampening)·g and g = nesterov ? g + momentum·buf : buf; then p −= lr·g.
    /// momentumBuffer may be empty when momentum is 0.
    /// </summary>
    public static void SgdStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        CheckLength(nameof(SgdStep), grad.Length, param.Length, nameof(grad));
        if (momentum != 0) CheckLength(nameof(SgdStep), momentumBuffer.Length, param.Length, nameof(momentumBuffer));
        bool decay = weightDecay != 0, useMomentum = momentum != 0;
        float keep = (float)(1 - dampening), fDecay = (float)weightDecay, fMomentum = (float)momentum, fLr = (float)lr;
        int length = param.Length, width = Vector<float>.Count, i = 0;
        Vector<float> vDecay = new(fDecay), vMomentum = new(fMomentum), vKeep = new(keep), vStep = new(-fLr);
        fixed (float* p = param, g = grad, buf = momentumBuffer)
        {
            for (; i <= length - width; i += width)
            {
                var pi = Vector.Load(p + i);
                var d = Vector.Load(g + i);                                   // d_p
                if (decay) d = Vector.FusedMultiplyAdd(pi, vDecay, d);        // d_p.add(p, alpha=weight_decay)
                if (useMomentum)
                {
                    var b = firstStep ? d : Vector.FusedMultiplyAdd(d, vKeep, Vector.Load(buf + i) * vMomentum);
                    b.Store(buf + i);
                    d = nesterov ? Vector.FusedMultiplyAdd(b, vMomentum, d) : b;
                }
                Vector.FusedMultiplyAdd(d, vStep, pi).Store(p + i);           // p.add_(d_p, alpha=-lr)
            }
            for (; i < length; i++)
            {
                float d = g[i];
                if (decay) d = MathF.FusedMultiplyAdd(p[i], fDecay, d);
                if (useMomentum)
                {
                    float b = firstStep ? d : MathF.FusedMultiplyAdd(d, keep, buf[i] * fMomentum);
                    buf[i] = b;
                    d = nesterov ? MathF.FusedMultiplyAdd(b, fMomentum, d) : b;
                }
                p[i] = MathF.FusedMultiplyAdd(d, -fLr, p[i]);
            }
        }
    }

    /// <summary>
    /// One torch.optim.Adam step (decoupled = false) or AdamW step (decoupled = true) at 1-based step t:
    /// m = beta1·m + (1 − beta1)·g, v = beta2·v + (1 − beta2)·g², p −= lr/(1 − beta1^t) · m / (sqrt(v)/sqrt(1 − beta2^t) + eps).
    /// Adam adds weightDecay·p to the gradient; AdamW first scales p by 1 − lr·weightDecay.
    /// </summary>
    public static void AdamStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step)
    {
        CheckLength(nameof(AdamStep), grad.Length, param.Length, nameof(grad));
        CheckLength(nameof(AdamStep), expAvg.Length, param.Length, nameof(expAvg));
        CheckLength(nameof(AdamStep), expAvgSq.Length, param.Length, nameof(expAvgSq));
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, $"{nameof(AdamStep)}: step is 1-based, got {step}.");
        bool coupledDecay = weightDecay != 0 && !decoupled, scaleParam = weightDecay != 0 && decoupled;
        float shrink = (float)(1 - lr * weightDecay), fDecay = (float)weightDecay, fBeta2 = (float)beta2, fEps = (float)eps;
        float w1 = (float)(1 - beta1), w1Low = w1 < 0.5f ? w1 : w1 - 1;      // lerp weight, and its form for w >= 0.5
        float w2 = (float)(1 - beta2);
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        float negStepSize = (float)(-(lr / bc1)), bc2Sqrt = (float)Math.Sqrt(bc2);
        int length = param.Length, width = Vector<float>.Count, i = 0;
        Vector<float> vDecay = new(fDecay), vShrink = new(shrink), vW1 = new(w1Low), vBeta2 = new(fBeta2), vW2 = new(w2);
        Vector<float> vStep = new(negStepSize), vBc2Sqrt = new(bc2Sqrt), vEps = new(fEps);
        fixed (float* p = param, g = grad, m = expAvg, v = expAvgSq)
        {
            for (; i <= length - width; i += width)
            {
                var pi = Vector.Load(p + i);
                var gi = Vector.Load(g + i);
                if (coupledDecay) gi = Vector.FusedMultiplyAdd(pi, vDecay, gi);   // grad.add(p, alpha=weight_decay)
                if (scaleParam) pi *= vShrink;                                    // p.mul_(1 − lr·weight_decay)
                var mi = Vector.Load(m + i);
                mi = Vector.FusedMultiplyAdd(vW1, gi - mi, w1 < 0.5f ? mi : gi);  // m.lerp_(g, 1 − beta1)
                var vi = Vector.Load(v + i) * vBeta2 + vW2 * gi * gi;             // v.mul_(beta2).addcmul_(g, g, 1 − beta2)
                var denom = Vector.SquareRoot(vi) / vBc2Sqrt + vEps;
                mi.Store(m + i);
                vi.Store(v + i);
                (pi + vStep * mi / denom).Store(p + i);                          // p.addcdiv_(m, denom, −step_size)
            }
            for (; i < length; i++)
            {
                float pi = p[i], gi = g[i];
                if (coupledDecay) gi = MathF.FusedMultiplyAdd(pi, fDecay, gi);
                if (scaleParam) pi *= shrink;
                float mi = MathF.FusedMultiplyAdd(w1Low, gi - m[i], w1 < 0.5f ? m[i] : gi);
                float vi = v[i] * fBeta2 + w2 * gi * gi;
                float denom = MathF.Sqrt(vi) / bc2Sqrt + fEps;
                m[i] = mi;
                v[i] = vi;
                p[i] = pi + negStepSize * mi / denom;
            }
        }
    }

    private static void CheckLength(string op, int length, int expected, string name)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{op}: {name} has {length} values, expected {expected} (the parameter's length).", name);
        }
    }
}
