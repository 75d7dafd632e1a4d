// Dropout: identity in eval; in training each element is kept with probability 1 − p and scaled by
// 1/(1 − p), the gradient is that same mask·scale, and a generator seed fixes the mask.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class DropoutTests
{
    [Fact]
    public void Eval_IsIdentity()
    {
        var dropout = new Dropout(0.5, new Generator(1));
        dropout.Eval();
        var x = GradCheck.Inputs(1, [3, 5, 7])[0];
        Assert.Equal(x.ToArray(), dropout.Forward(x).ToArray());
        GradCheck.Check(ins => dropout.Forward(ins[0]), [x]);
    }

    [Theory]
    [InlineData(0.2)]
    [InlineData(0.5)]
    [InlineData(0.7)]
    public void Train_KeepsAboutOneMinusPAndScalesKeptValues(double p)
    {
        const int count = 100_000;
        var dropout = new Dropout(p, new Generator(3));
        var x = Tensor.Rand(new Generator(4), count) + 0.5f;
        float[] xs = x.ToArray(), ys = dropout.Forward(x).ToArray();
        int kept = 0;
        for (int i = 0; i < count; i++)
        {
            if (ys[i] == 0) continue;
            kept++;
            Assert.Equal(xs[i] / (1 - p), ys[i], 1e-5 * ys[i]);
        }
        // Binomial(count, 1 − p): the standard deviation of the kept fraction is under 0.0016.
        Assert.InRange(kept / (double)count, 1 - p - 0.01, 1 - p + 0.01);
    }

    [Fact]
    public void Train_GradientIsMaskTimesScale()
    {
        const double p = 0.3;
        var dropout = new Dropout(p, new Generator(5));
        var x = Tensor.Rand(new Generator(6), 4, 33) + 0.5f;
        x.RequiresGrad = true;
        var y = dropout.Forward(x);
        var dy = Tensor.Randn(new Generator(7), 4, 33);
        y.Backward(dy);
        float[] xs = x.ToArray(), ys = y.ToArray(), g = x.Grad!.ToArray(), dys = dy.ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            float mask = ys[i] == 0 ? 0f : (float)(1 / (1 - p));
            Assert.Equal(mask * dys[i], g[i], 1e-5f);
        }
    }

    [Fact]
    public void SameSeed_GivesSameMask()
    {
        var x = Tensor.Ones(5, 41);
        var a = new Dropout(0.5, new Generator(9)).Forward(x).ToArray();
        var b = new Dropout(0.5, new Generator(9)).Forward(x).ToArray();
        var c = new Dropout(0.5, new Generator(10)).Forward(x).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);

        Generator.ManualSeed(11);
        var d = new Dropout(0.5).Forward(x).ToArray();
        Generator.ManualSeed(11);
        Assert.Equal(d, new Dropout(0.5).Forward(x).ToArray());
    }

    [Fact]
    public void SuccessiveCalls_DrawNewMasks()
    {
        var dropout = new Dropout(0.5, new Generator(12));
        var x = Tensor.Ones(200);
        Assert.NotEqual(dropout.Forward(x).ToArray(), dropout.Forward(x).ToArray());
    }

    [Fact]
    public void EdgeProbabilities()
    {
        var x = Tensor.Randn(new Generator(13), 3, 7);
        Assert.Equal(x.ToArray(), new Dropout(0).Forward(x).ToArray());
        Assert.All(new Dropout(1).Forward(x).ToArray(), v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5));
    }
}
