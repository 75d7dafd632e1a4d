// Adam and AdamW: the first step moves each parameter by about lr·sign(g), and several steps with weight
// decay match a float64 re-implementation of torch.optim.Adam / AdamW's documented algorithm.
using MiniNet.Optim;

namespace MiniNet.Tests.Optim;

public class AdamTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FirstStep_MovesByLrTimesSignOfGradient(bool decoupled)
    {
        var p = Tensor.FromArray([1f, -2f, 0.5f], 3);
        p.RequiresGrad = true;
        Optimizer adam = decoupled ? new AdamW([p], lr: 0.01, weightDecay: 0) : new Adam([p], lr: 0.01);
        p.Grad = Tensor.FromArray([0.3f, -5f, 1e-3f], 3);
        adam.Step();
        // m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps) ≈ lr·sign(g).
        GradCheck.AssertClose([0.99f, -1.99f, 0.49f], p.ToArray(), atol: 1e-6, what: "p");
    }

    [Fact]
    public void AdamW_FirstStep_DecaysParameterBeforeTheUpdate()
    {
        var p = Tensor.FromArray([2f], 1);
        p.RequiresGrad = true;
        var adamW = new AdamW([p], lr: 0.1, weightDecay: 0.5);
        p.Grad = Tensor.FromArray([3f], 1);
        adamW.Step();
        Assert.Equal(2f * (1 - 0.1f * 0.5f) - 0.1f, p.Item(), 1e-6f);   // 1.8
    }

    public static TheoryData<bool, double> Configs() => new() { { false, 0.0 }, { false, 0.1 }, { true, 0.0 }, { true, 0.1 } };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Steps_MatchFloat64Reference(bool decoupled, double weightDecay)
    {
        const double lr = 0.01, beta1 = 0.8, beta2 = 0.95, eps = 1e-6;
        const int length = 13;
        var g = new Generator(2);
        var p = Tensor.Randn(g, length);
        p.RequiresGrad = true;
        var adam = decoupled ? new AdamW([p], lr, beta1, beta2, eps, weightDecay) : new Adam([p], lr, beta1, beta2, eps, weightDecay);

        double[] pRef = Array.ConvertAll(p.ToArray(), v => (double)v), m = new double[length], v = new double[length];
        for (int t = 1; t <= 5; t++)
        {
            var grad = Tensor.Randn(g, length);
            p.Grad = grad;
            adam.Step();
            float[] gs = grad.ToArray();
            for (int i = 0; i < length; i++)
            {
                double gi = gs[i];
                if (decoupled) pRef[i] *= 1 - lr * weightDecay;
                else gi += weightDecay * pRef[i];
                m[i] = beta1 * m[i] + (1 - beta1) * gi;
                v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
                double mHat = m[i] / (1 - Math.Pow(beta1, t)), vHat = v[i] / (1 - Math.Pow(beta2, t));
                pRef[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            GradCheck.AssertClose(Array.ConvertAll(pRef, x => (float)x), p.ToArray(), atol: 1e-6, rtol: 1e-5, what: $"p step {t}");
            Assert.Equal(t, adam.StepCount(0));
        }
    }

    [Fact]
    public void AdamW_DefaultsMatchPyTorch()
    {
        var p = Tensor.Zeros(1);
        p.RequiresGrad = true;
        var adamW = new AdamW([p]);
        Assert.Equal(1e-3, adamW.Lr);
        Assert.Equal(1e-2, adamW.WeightDecay);
        Assert.Equal(0.9, adamW.Beta1);
        Assert.Equal(0.999, adamW.Beta2);
        Assert.Equal(1e-8, adamW.Eps);
        Assert.Equal(0.0, new Adam([p]).WeightDecay);
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        var p = Tensor.Zeros(1);
        p.RequiresGrad = true;
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], lr: -1e-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], eps: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([p], weightDecay: -0.1));
    }
}
