// End to end: the seed MLP (Linear 784→256, ReLU, BatchNorm1d, Linear 256→10) trained with SGD
// (momentum 0.9) and cross-entropy on a synthetic separable 10-class problem (class prototypes plus
// noise) learns it. Everything is seeded, so the run is deterministic.
using MiniNet.Layers;
using MiniNet.Optim;

namespace MiniNet.Tests.Layers;

public class TrainingTests
{
    const int Features = 784, Classes = 10, Samples = 320, BatchSize = 32;

    static (float[] X, int[] Y) Dataset(Generator g)
    {
        var prototypes = Tensor.Randn(g, Classes, Features).ToArray();
        var x = new float[Samples * Features];
        var y = new int[Samples];
        for (int i = 0; i < Samples; i++)
        {
            y[i] = i % Classes;
            for (int j = 0; j < Features; j++) x[i * Features + j] = prototypes[y[i] * Features + j] + 1.5f * (float)g.NextNormal();
        }
        return (x, y);
    }

    static float Accuracy(Module model, float[] x, int[] y)
    {
        model.Eval();
        using var _ = Autograd.NoGrad();
        var predicted = model.Forward(Tensor.FromArray(x, Samples, Features)).ArgMax();
        model.Train();
        return predicted.Zip(y, (p, t) => p == t ? 1f : 0f).Average();
    }

    static (float Before, float After, float[] Losses) Train()
    {
        Generator.ManualSeed(0);
        var g = new Generator(1);
        var (x, y) = Dataset(g);
        var model = new Sequential(
            new Linear(Features, 256, generator: g), new ReLU(), new BatchNorm1d(256), new Linear(256, Classes, generator: g));
        var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        var criterion = new CrossEntropyLoss();
        float before = Accuracy(model, x, y);
        var losses = new List<float>();
        var order = Enumerable.Range(0, Samples).ToArray();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = g.NextInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            for (int start = 0; start < Samples; start += BatchSize)
            {
                var batchX = new float[BatchSize * Features];
                var batchY = new int[BatchSize];
                for (int b = 0; b < BatchSize; b++)
                {
                    Array.Copy(x, order[start + b] * Features, batchX, b * Features, Features);
                    batchY[b] = y[order[start + b]];
                }
                optimizer.ZeroGrad();
                var loss = criterion.Forward(model.Forward(Tensor.FromArray(batchX, BatchSize, Features)), batchY);
                loss.Backward();
                optimizer.Step();
                losses.Add(loss.Item());
            }
        }
        return (before, Accuracy(model, x, y), [.. losses]);
    }

    [Fact]
    public void SeedMlp_LearnsSeparableProblem_Deterministically()
    {
        var (before, after, losses) = Train();
        Assert.InRange(before, 0f, 0.3f);
        Assert.True(after > 0.9f, $"train accuracy {after:P1} after 3 epochs (loss {losses[0]:G4} → {losses[^1]:G4})");
        Assert.True(losses[^1] < losses[0] / 4, $"loss {losses[0]:G4} → {losses[^1]:G4}");

        var (_, again, lossesAgain) = Train();
        Assert.Equal(after, again);
        Assert.Equal(losses, lossesAgain);
    }
}
