// SGD: hand-computed steps and several steps of every option (momentum, dampening, weight decay,
// nesterov) against a float64 re-implementation of torch.optim.SGD's documented algorithm.
using MiniNet.Optim;

namespace MiniNet.Tests.Optim;

public class SgdTests
{
    [Fact]
    public void Plain_HandComputed()
    {
        var p = GradCheck.Param(1f);
        var sgd = new SGD([p], lr: 0.1);
        p.Grad = Tensor.FromArray([2f], 1);
        sgd.Step();
        Assert.Equal(0.8f, p.Item(), 1e-6f);                    // 1 − 0.1·2
        Assert.Null(sgd.MomentumBuffer(0));
    }

    [Fact]
    public void Momentum_HandComputed()
    {
        var p = GradCheck.Param(1f);
        var sgd = new SGD([p], lr: 0.1, momentum: 0.9);
        p.Grad = Tensor.FromArray([2f], 1);
        sgd.Step();
        Assert.Equal(2f, sgd.MomentumBuffer(0)!.Item());         // first step: buf = g
        Assert.Equal(0.8f, p.Item(), 1e-6f);
        sgd.Step();
        Assert.Equal(3.8f, sgd.MomentumBuffer(0)!.Item(), 1e-6f); // 0.9·2 + 2
        Assert.Equal(0.42f, p.Item(), 1e-6f);                    // 0.8 − 0.1·3.8
    }

    [Theory]
    [InlineData(0.0, 0.0, 0.0, false)]
    [InlineData(0.0, 0.0, 0.1, false)]
    [InlineData(0.9, 0.0, 0.0, false)]
    [InlineData(0.9, 0.3, 0.0, false)]
    [InlineData(0.9, 0.0, 0.01, true)]
    [InlineData(0.5, 0.2, 0.05, false)]
    [InlineData(0.8, 0.0, 0.0, true)]
    public void Steps_MatchFloat64Reference(double momentum, double dampening, double weightDecay, bool nesterov)
    {
        const double lr = 0.05;
        const int length = 11;
        var g = new Generator(1);
        var p = Tensor.Randn(g, length);
        p.RequiresGrad = true;
        var grad = Tensor.Randn(g, length);
        var sgd = new SGD([p], lr, momentum, dampening, weightDecay, nesterov);

        double[] pRef = Array.ConvertAll(p.ToArray(), v => (double)v), buf = new double[length];
        float[] gs = grad.ToArray();
        for (int step = 1; step <= 4; step++)
        {
            p.Grad = grad;
            sgd.Step();
            for (int i = 0; i < length; i++)
            {
                double d = gs[i] + weightDecay * pRef[i];
                if (momentum != 0)
                {
                    buf[i] = step == 1 ? d : momentum * buf[i] + (1 - dampening) * d;
                    d = nesterov ? d + momentum * buf[i] : buf[i];
                }
                pRef[i] -= lr * d;
            }
            GradCheck.AssertClose(Array.ConvertAll(pRef, v => (float)v), p.ToArray(), atol: 1e-6, rtol: 1e-5, what: $"p step {step}");
            if (momentum != 0) GradCheck.AssertClose(Array.ConvertAll(buf, v => (float)v), sgd.MomentumBuffer(0)!.ToArray(), atol: 1e-6, rtol: 1e-5, what: $"buf step {step}");
        }
    }

    [Fact]
    public void InvalidArguments_Throw()
    {
        var p = GradCheck.Param(1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], lr: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], lr: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], lr: 0.1, momentum: -0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([p], lr: 0.1, weightDecay: -1));
        Assert.Throws<ArgumentException>(() => new SGD([p], lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => new SGD([p], lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
    }
}
