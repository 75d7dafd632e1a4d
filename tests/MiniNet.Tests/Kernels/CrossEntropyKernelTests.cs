// CrossEntropyKernels: a hand-computed loss, gradients against float64 central finite differences,
// stability for logits of ±1000, and LogSoftmax with its backward.
using MiniNet.Kernels;

namespace MiniNet.Tests.Kernels;

public class CrossEntropyKernelTests
{
    [Fact]
    public void Forward_MatchesHandComputation()
    {
        float[] logits = [1, 2, 3, 1, 1, 1];                         // [2, 3]
        int[] targets = [2, 0];
        float[] probabilities = new float[6];
        float loss = CrossEntropyKernels.Forward(logits, 2, 3, targets, probabilities);

        double sum0 = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        double expected = ((Math.Log(sum0) - 3) + Math.Log(3)) / 2;  // 0.7531091
        Assert.Equal(expected, loss, 1e-6);
        Assert.Equal(0.7531091, loss, 1e-6);
        BatchNormKernelTests.AssertClose(
            [(float)(Math.Exp(1) / sum0), (float)(Math.Exp(2) / sum0), (float)(Math.Exp(3) / sum0), 1 / 3f, 1 / 3f, 1 / 3f],
            probabilities, 1e-6);
    }

    [Theory]
    [InlineData(1f)]
    [InlineData(2.5f)]
    public void Backward_MatchesFiniteDifferences(float dLoss)
    {
        const int n = 3, k = 5;
        var rng = new Random(3);
        float[] logits = new float[n * k];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(rng.NextDouble() * 6 - 3);
        int[] targets = [4, 0, 2];
        float[] probabilities = new float[n * k], dLogits = new float[n * k];
        CrossEntropyKernels.Forward(logits, n, k, targets, probabilities);
        CrossEntropyKernels.Backward(probabilities, n, k, targets, dLoss / n, dLogits);

        double[] x = Array.ConvertAll(logits, v => (double)v);
        double[] expected = BatchNormKernelTests.FiniteDifferences(x, () => dLoss * LossFloat64(x, n, k, targets));
        BatchNormKernelTests.AssertClose(Array.ConvertAll(expected, v => (float)v), dLogits, 1e-5);
    }

    [Fact]
    public void LargeLogits_AreStable()
    {
        float[] logits = [1000, 0, -1000, 1000, 1000, 999];          // [2, 3]
        int[] targets = [0, 2];
        float[] probabilities = new float[6], dLogits = new float[6];
        float loss = CrossEntropyKernels.Forward(logits, 2, 3, targets, probabilities);
        Assert.Equal((0 + 1 + Math.Log(2 + Math.Exp(-1))) / 2, loss, 1e-6);
        Assert.All(probabilities, p => Assert.True(float.IsFinite(p)));
        Assert.Equal(1f, probabilities[0]);
        Assert.Equal(1.0, probabilities[3] + probabilities[4] + probabilities[5], 1e-6);

        CrossEntropyKernels.Backward(probabilities, 2, 3, targets, 0.5f, dLogits);
        Assert.All(dLogits, g => Assert.True(float.IsFinite(g)));
        Assert.Equal(0f, dLogits[0]);
    }

    [Fact]
    public void LogSoftmax_MatchesFloat64()
    {
        const int n = 4, k = 7;
        var rng = new Random(8);
        float[] x = new float[n * k], y = new float[n * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 10 - 5) + (i / k == 3 ? 1000 : 0);
        CrossEntropyKernels.LogSoftmax(x, n, k, y);
        BatchNormKernelTests.AssertClose(LogSoftmaxFloat64(Array.ConvertAll(x, v => (double)v), n, k), y, 1e-5);
    }

    [Fact]
    public void LogSoftmaxBackward_MatchesFiniteDifferences()
    {
        const int n = 3, k = 6;
        var rng = new Random(9);
        float[] x = new float[n * k], dy = new float[n * k], y = new float[n * k], dx = new float[n * k];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 4 - 2);
            dy[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        CrossEntropyKernels.LogSoftmax(x, n, k, y);
        CrossEntropyKernels.LogSoftmaxBackward(dy, y, n, k, dx);

        double[] xd = Array.ConvertAll(x, v => (double)v);
        double Loss()
        {
            double sum = 0;
            for (int i = 0; i < xd.Length; i++) sum += dy[i] * LogSoftmaxRow(xd, k, i);
            return sum;
        }
        double[] expected = BatchNormKernelTests.FiniteDifferences(xd, Loss);
        BatchNormKernelTests.AssertClose(Array.ConvertAll(expected, v => (float)v), dx, 1e-5);
    }

    [Fact]
    public void TargetOutOfRangeThrows()
    {
        float[] logits = new float[6], probabilities = new float[6];
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropyKernels.Forward(logits, 2, 3, [0, 3], probabilities));
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropyKernels.Backward(probabilities, 2, 3, [-1, 0], 1, logits));
        Assert.Throws<ArgumentException>(() => CrossEntropyKernels.Forward(logits, 3, 3, [0, 1, 2], probabilities));
    }

    private static double LossFloat64(double[] logits, int n, int k, int[] targets)
    {
        double total = 0;
        for (int i = 0; i < n; i++) total -= LogSoftmaxRow(logits, k, i * k + targets[i]);
        return total / n;
    }

    // log softmax of element `at` within its row of length k, in float64.
    private static double LogSoftmaxRow(double[] x, int k, int at)
    {
        int start = at / k * k;
        double max = double.NegativeInfinity, sum = 0;
        for (int j = start; j < start + k; j++) max = Math.Max(max, x[j]);
        for (int j = start; j < start + k; j++) sum += Math.Exp(x[j] - max);
        return x[at] - max - Math.Log(sum);
    }

    private static float[] LogSoftmaxFloat64(double[] x, int n, int k)
    {
        var y = new float[n * k];
        for (int i = 0; i < y.Length; i++) y[i] = (float)LogSoftmaxRow(x, k, i);
        return y;
    }
}
