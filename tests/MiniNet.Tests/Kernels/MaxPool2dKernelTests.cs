// MaxPool2d kernel tests: hand examples for values, indices, ties and NaN; random inputs against a
// window scan written here; backward against the naive scatter, including overlapping windows
// (stride < kernel) where one pixel collects several gradients, and sizes large enough to thread.
using MiniNet.Kernels;

namespace MiniNet.Tests.Kernels;

public class MaxPool2dKernelTests
{
    [Fact]
    public void Forward_hand_example()
    {
        float[] x =
        [
            1, 3, 2, 0,
            5, 4, -1, 7,
            0, 0, 9, 8,
            6, 2, 8, 9,
        ];
        float[] y = new float[4];
        int[] indices = new int[4];
        MaxPool2dKernels.Forward(x, 1, 1, 4, 4, 2, 2, y, indices);
        Assert.Equal([5f, 7f, 6f, 9f], y);
        Assert.Equal([4, 7, 12, 10], indices);
    }

    [Fact]
    public void Ties_keep_the_first_maximum_in_row_major_order()
    {
        float[] x =
        [
            2, 2, 1, 3,
            2, 2, 3, 3,
        ];
        float[] y = new float[2];
        int[] indices = new int[2];
        MaxPool2dKernels.Forward(x, 1, 1, 2, 4, 2, 2, y, indices);
        Assert.Equal([2f, 3f], y);
        Assert.Equal([0, 3], indices);

        float[] negative = [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity];
        MaxPool2dKernels.Forward(negative, 1, 1, 2, 2, 2, 2, y.AsSpan(0, 1), indices.AsSpan(0, 1));
        Assert.Equal(float.NegativeInfinity, y[0]);
        Assert.Equal(0, indices[0]);
    }

    [Fact]
    public void NaN_wins_the_window()
    {
        float[] x =
        [
            1, float.NaN, 5, 4,
            9, 2, 3, float.NaN,
        ];
        float[] y = new float[2];
        int[] indices = new int[2];
        MaxPool2dKernels.Forward(x, 1, 1, 2, 4, 2, 2, y, indices);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(1, indices[0]);
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(7, indices[1]);
    }

    [Fact]
    public void Overlapping_windows_accumulate_in_backward()
    {
        // 3 × 3 windows with stride 1 on a 4 × 4 plane: the centre-ish maximum 9 wins all four windows.
        float[] x =
        [
            0, 1, 0, 0,
            1, 9, 2, 0,
            0, 2, 1, 0,
            0, 0, 0, 0,
        ];
        float[] y = new float[4];
        int[] indices = new int[4];
        MaxPool2dKernels.Forward(x, 1, 1, 4, 4, 3, 1, y, indices);
        Assert.Equal([9f, 9f, 9f, 9f], y);
        Assert.Equal([5, 5, 5, 5], indices);
        float[] dx = Enumerable.Repeat(float.NaN, 16).ToArray();
        MaxPool2dKernels.Backward([1f, 2f, 3f, 4f], indices, 1, 1, 4, 4, 2, 2, dx);
        float[] expected = new float[16];
        expected[5] = 10f;
        Assert.Equal(expected, dx);
    }

    [Theory]
    [InlineData(1, 1, 5, 5, 2, 2)]
    [InlineData(3, 5, 7, 9, 3, 2)]
    [InlineData(2, 3, 8, 5, 2, 3)]
    [InlineData(3, 2, 6, 7, 3, 1)]
    [InlineData(1, 4, 9, 9, 1, 2)]
    [InlineData(8, 16, 32, 32, 3, 1)]
    [InlineData(4, 32, 64, 48, 2, 2)]
    [InlineData(3, 5, 28, 28, 2, 2)]      // the seed CNN's planes: 14 outputs a row (8 + a masked 6)
    [InlineData(3, 5, 14, 14, 2, 2)]      // 7 outputs a row: one masked group, the plane's last row scalar
    [InlineData(2, 3, 35, 33, 2, 2)]      // odd sizes: the last row and column unused
    [InlineData(2, 2, 4, 40, 2, 2)]       // 20 outputs a row: two full groups and a masked 4
    [InlineData(1, 1, 2, 2, 2, 2)]
    public void Forward_and_backward_match_references(int n, int c, int h, int w, int k, int stride)
    {
        var rng = new Random(20);
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.Length; i++)
        {
            // Few distinct values, so ties are common.
            x[i] = rng.Next(-4, 5);
        }

        int outH = MaxPool2dKernels.OutputSize(h, k, stride);
        int outW = MaxPool2dKernels.OutputSize(w, k, stride);
        float[] y = new float[n * c * outH * outW];
        int[] indices = new int[y.Length];
        MaxPool2dKernels.Forward(x, n, c, h, w, k, stride, y, indices);
        for (int p = 0; p < n * c; p++)
        {
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    float best = float.NegativeInfinity;
                    int argmax = -1;
                    for (int ky = 0; ky < k; ky++)
                    {
                        for (int kx = 0; kx < k; kx++)
                        {
                            int index = (((oy * stride) + ky) * w) + (ox * stride) + kx;
                            if (argmax < 0 || x[(p * h * w) + index] > best)
                            {
                                best = x[(p * h * w) + index];
                                argmax = index;
                            }
                        }
                    }

                    int o = (((p * outH) + oy) * outW) + ox;
                    Assert.Equal(best, y[o]);
                    Assert.Equal(argmax, indices[o]);
                }
            }
        }

        float[] dy = new float[y.Length];
        for (int i = 0; i < dy.Length; i++)
        {
            dy[i] = (float)((rng.NextDouble() * 2.0) - 1.0);
        }

        float[] expected = new float[x.Length];
        MaxPool2dKernels.BackwardNaive(dy, indices, n, c, h, w, outH, outW, expected);
        float[] dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        MaxPool2dKernels.Backward(dy, indices, n, c, h, w, outH, outW, dx);
        Assert.Equal(expected, dx);
    }

    // The vector 2 × 2 path keeps the scalar rule lane by lane: NaN wins (the last NaN of a window),
    // -inf and ties keep the first tap.
    [Fact]
    public void Vector_2x2_windows_keep_the_NaN_and_tie_rules()
    {
        int h = 6, w = 36;
        var rng = new Random(3);
        float[] choices = [float.NaN, float.NegativeInfinity, float.PositiveInfinity, -1f, 0f, 2f];
        float[] x = new float[h * w];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = choices[rng.Next(choices.Length)];
        }

        int outH = h / 2, outW = w / 2;
        float[] y = new float[outH * outW];
        int[] indices = new int[y.Length];
        MaxPool2dKernels.Forward(x, 1, 1, h, w, 2, 2, y, indices);
        for (int oy = 0; oy < outH; oy++)
        {
            for (int ox = 0; ox < outW; ox++)
            {
                int first = (2 * oy * w) + (2 * ox);
                float best = x[first];
                int argmax = first;
                foreach (int tap in new[] { first + 1, first + w, first + w + 1 })
                {
                    if (x[tap] > best || float.IsNaN(x[tap]))
                    {
                        best = x[tap];
                        argmax = tap;
                    }
                }

                Assert.Equal(argmax, indices[(oy * outW) + ox]);
                Assert.Equal(best, y[(oy * outW) + ox]);
            }
        }
    }

    [Fact]
    public void Bad_shapes_and_indices_are_rejected()
    {
        Assert.Equal(2, MaxPool2dKernels.OutputSize(5, 2, 2));
        Assert.Throws<ArgumentException>(() => MaxPool2dKernels.OutputSize(2, 3, 1));
        Assert.Throws<ArgumentException>(() => MaxPool2dKernels.Forward(new float[15], 1, 1, 4, 4, 2, 2, new float[4], new int[4]));
        Assert.Throws<ArgumentException>(() => MaxPool2dKernels.Backward(new float[1], [4], 1, 1, 2, 2, 1, 1, new float[4]));
    }
}
