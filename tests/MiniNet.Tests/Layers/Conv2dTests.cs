// Conv2d: forward against a float64 direct convolution and gradients against finite differences
// over stride 1/2, padding 0/1, kernel 1/3, odd channel counts, non-square images, with and without bias.
using MiniNet.Layers;

namespace MiniNet.Tests.Layers;

public class Conv2dTests
{
    public static TheoryData<int, int, int, int, bool> Configs()
    {
        // kernel, stride, padding, (in, out) fixed at (3, 5) unless noted via the fourth column = out.
        var data = new TheoryData<int, int, int, int, bool>();
        foreach (int k in new[] { 1, 3 })
        {
            foreach (int stride in new[] { 1, 2 })
            {
                foreach (int padding in new[] { 0, 1 })
                {
                    data.Add(k, stride, padding, 5, true);
                }
            }
        }
        data.Add(3, 1, 1, 1, false);
        data.Add(3, 2, 0, 3, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_MatchesFloat64(int k, int stride, int padding, int cOut, bool bias)
    {
        const int n = 2, cIn = 3, h = 5, w = 7;
        var conv = new Conv2d(cIn, cOut, k, stride, padding, bias, new Generator(1));
        var x = Tensor.Randn(new Generator(2), n, cIn, h, w);
        var y = conv.Forward(x);

        int outH = (h + 2 * padding - k) / stride + 1, outW = (w + 2 * padding - k) / stride + 1;
        Assert.Equal([n, cOut, outH, outW], y.Shape);
        float[] xs = x.ToArray(), ws = conv.Weight.ToArray(), bs = conv.Bias?.ToArray() ?? new float[cOut];
        var expected = new float[n * cOut * outH * outW];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cOut; o++)
                for (int i = 0; i < outH; i++)
                    for (int j = 0; j < outW; j++)
                    {
                        double sum = bs[o];
                        for (int c = 0; c < cIn; c++)
                            for (int di = 0; di < k; di++)
                                for (int dj = 0; dj < k; dj++)
                                {
                                    int r = i * stride - padding + di, s = j * stride - padding + dj;
                                    if (r < 0 || r >= h || s < 0 || s >= w) continue;
                                    sum += (double)xs[((b * cIn + c) * h + r) * w + s] * ws[((o * cIn + c) * k + di) * k + dj];
                                }
                        expected[((b * cOut + o) * outH + i) * outW + j] = (float)sum;
                    }
        GradCheck.AssertClose(expected, y.ToArray(), what: "y");
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Backward_MatchesFiniteDifferences(int k, int stride, int padding, int cOut, bool bias)
    {
        var conv = new Conv2d(3, cOut, k, stride, padding, bias, new Generator(1));
        var x = GradCheck.Inputs(2, [2, 3, 5, 7])[0];
        Tensor[] inputs = bias ? [x, conv.Weight, conv.Bias!] : [x, conv.Weight];
        GradCheck.Check(ins => conv.Forward(ins[0]), inputs);
    }

    [Fact]
    public void Constructor_UsesPyTorchDefaults()
    {
        var conv = new Conv2d(3, 5, 3);
        Assert.Equal(["weight", "bias"], conv.NamedParameters().Select(p => p.Name));
        Assert.Equal([5, 3, 3, 3], conv.Weight.Shape);
        double bound = 1 / Math.Sqrt(27);
        Assert.All(conv.Weight.ToArray().Concat(conv.Bias!.ToArray()), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void Forward_WrongChannels_Throws()
    {
        var conv = new Conv2d(3, 5, 3);
        Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 4, 5, 5)));
        Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(3, 5, 5)));
    }
}
