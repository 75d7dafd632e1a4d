// Optimizer update kernels: one fused, vectorised pass over a parameter and its state, updated in place.
// Formulas and their order of operations follow PyTorch's single-tensor CPU paths (torch.optim.SGD and
// torch.optim.Adam, maximize = false, amsgrad = false), including where PyTorch's vector kernels fuse a
// multiply-add: `a.add_(b, alpha)` is fma(b, alpha, a), `lerp_` is fma(w, end − start, start) for w < 0.5.
// Scalars PyTorch computes in Python (1 − dampening, bias corrections, step size) are computed in float64
// here too, from each hyperparameter's value as written (see AsWritten).
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
    public static void SgdStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer, float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep)
    {
        CheckLength(nameof(SgdStep), grad.Length, param.Length, nameof(grad));
        if (momentum != 0) CheckLength(nameof(SgdStep), momentumBuffer.Length, param.Length, nameof(momentumBuffer));
        bool decay = weightDecay != 0, useMomentum = momentum != 0;
        float keep = (float)(1 - AsWritten(dampening));
        int length = param.Length, width = Vector<float>.Count, i = 0;
        Vector<float> vDecay = new(weightDecay), vMomentum = new(momentum), vKeep = new(keep), vStep = new(-lr);
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
                if (decay) d = MathF.FusedMultiplyAdd(p[i], weightDecay, d);
                if (useMomentum)
                {
                    float b = firstStep ? d : MathF.FusedMultiplyAdd(d, keep, buf[i] * momentum);
                    buf[i] = b;
                    d = nesterov ? MathF.FusedMultiplyAdd(b, momentum, d) : b;
                }
                p[i] = MathF.FusedMultiplyAdd(d, -lr, p[i]);
            }
        }
    }

    /// <summary>
    /// One torch.optim.Adam step (decoupled = false) or AdamW step (decoupled = true) at 1-based step t:
    /// m = beta1·m + (1 − beta1)·g, v = beta2·v + (1 − beta2)·g², p −= lr/(1 − beta1^t) · m / (sqrt(v)/sqrt(1 − beta2^t) + eps).
    /// Adam adds weightDecay·p to the gradient; AdamW first scales p by 1 − lr·weightDecay.
    /// </summary>
    public static void AdamStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq, float lr, float beta1, float beta2, float eps, float weightDecay, bool decoupled, int step)
    {
        CheckLength(nameof(AdamStep), grad.Length, param.Length, nameof(grad));
        CheckLength(nameof(AdamStep), expAvg.Length, param.Length, nameof(expAvg));
        CheckLength(nameof(AdamStep), expAvgSq.Length, param.Length, nameof(expAvgSq));
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, $"{nameof(AdamStep)}: step is 1-based, got {step}.");
        bool coupledDecay = weightDecay != 0 && !decoupled, scaleParam = weightDecay != 0 && decoupled;
        double lrWritten = AsWritten(lr), beta1Written = AsWritten(beta1), beta2Written = AsWritten(beta2);
        float shrink = (float)(1 - lrWritten * AsWritten(weightDecay));
        float w1 = (float)(1 - beta1Written), w1Low = w1 < 0.5f ? w1 : w1 - 1;      // lerp weight, and its form for w >= 0.5
        float w2 = (float)(1 - beta2Written);
        double bc1 = 1 - Math.Pow(beta1Written, step), bc2 = 1 - Math.Pow(beta2Written, step);
        float negStepSize = (float)(-(lrWritten / bc1)), bc2Sqrt = (float)Math.Sqrt(bc2);
        int length = param.Length, width = Vector<float>.Count, i = 0;
        Vector<float> vDecay = new(weightDecay), vShrink = new(shrink), vW1 = new(w1Low), vBeta2 = new(beta2), vW2 = new(w2);
        Vector<float> vStep = new(negStepSize), vBc2Sqrt = new(bc2Sqrt), vEps = new(eps);
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
                if (coupledDecay) gi = MathF.FusedMultiplyAdd(pi, weightDecay, gi);
                if (scaleParam) pi *= shrink;
                float mi = MathF.FusedMultiplyAdd(w1Low, gi - m[i], w1 < 0.5f ? m[i] : gi);
                float vi = v[i] * beta2 + w2 * gi * gi;
                float denom = MathF.Sqrt(vi) / bc2Sqrt + eps;
                m[i] = mi;
                v[i] = vi;
                p[i] = pi + negStepSize * mi / denom;
            }
        }
    }

    // Hyperparameters arrive as float, but PyTorch's are Python floats: 0.999f is 0.99900001287, which would
    // put 1 − beta2 1.3e-5 off PyTorch's 0.001. A float's 7-significant-digit decimal value is what the caller
    // wrote (0.999f → 0.999), so float64 scalars start from it. Values decimal cannot hold pass unchanged.
    private static double AsWritten(float value) =>
        float.IsFinite(value) && (value == 0 || Math.Abs(value) is > 1e-20f and < 1e20f) ? (double)(decimal)value : value;

    private static void CheckLength(string op, int length, int expected, string name)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{op}: {name} has {length} values, expected {expected} (the parameter's length).", name);
        }
    }
}
