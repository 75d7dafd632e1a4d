// Quickstart: the seed MLP (Linear 784→256, ReLU, BatchNorm1d(256), Linear 256→10) trained with
// SGD + momentum and softmax cross-entropy on a synthetic, separable 10-class problem shaped like
// MNIST (784 features). It needs no download; the MNIST/CIFAR samples come with the data loaders.
//   dotnet run -c Release --project samples/MiniNet.Samples [-- epochs [seed]]
using System.Diagnostics;
using System.Globalization;
using MiniNet;
using MiniNet.Layers;
using MiniNet.Optim;

int epochs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
int seed = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0;
Generator.ManualSeed(seed);
var rng = new Generator(seed + 1);

const int Features = 784, Classes = 10, TrainCount = 6000, TestCount = 1000, BatchSize = 64;
var prototypes = Tensor.Randn(rng, Classes, Features).ToArray();
(float[] X, int[] Y) MakeSet(int count)
{
    var x = new float[count * Features];
    var y = new int[count];
    for (int i = 0; i < count; i++)
    {
        y[i] = rng.NextInt(Classes);
        for (int j = 0; j < Features; j++)
            x[i * Features + j] = 0.1f * prototypes[y[i] * Features + j] + (float)rng.NextNormal();
    }
    return (x, y);
}
var (trainX, trainY) = MakeSet(TrainCount);
var (testX, testY) = MakeSet(TestCount);

var model = new Sequential(new Linear(Features, 256), new ReLU(), new BatchNorm1d(256), new Linear(256, Classes));
var lossFn = new CrossEntropyLoss();
var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
Console.WriteLine(model);
Console.WriteLine($"synthetic data: {TrainCount} train / {TestCount} test samples, {Features} features, {Classes} classes");

var order = Enumerable.Range(0, TrainCount).ToArray();
for (int epoch = 1; epoch <= epochs; epoch++)
{
    var clock = Stopwatch.StartNew();
    model.Train();
    for (int i = order.Length - 1; i > 0; i--)
    {
        int j = rng.NextInt(i + 1);
        (order[i], order[j]) = (order[j], order[i]);
    }
    double lossSum = 0;
    int batches = 0;
    for (int start = 0; start + BatchSize <= TrainCount; start += BatchSize)
    {
        var xb = new float[BatchSize * Features];
        var yb = new int[BatchSize];
        for (int b = 0; b < BatchSize; b++)
        {
            int idx = order[start + b];
            Array.Copy(trainX, idx * Features, xb, b * Features, Features);
            yb[b] = trainY[idx];
        }
        optimizer.ZeroGrad();
        var loss = lossFn.Forward(model.Forward(Tensor.FromArray(xb, BatchSize, Features)), yb);
        loss.Backward();
        optimizer.Step();
        lossSum += loss.Item();
        batches++;
    }

    model.Eval();
    int correct = 0;
    using (Autograd.NoGrad())
    {
        var predicted = model.Forward(Tensor.FromArray(testX, TestCount, Features)).ArgMax();
        for (int i = 0; i < TestCount; i++) correct += predicted[i] == testY[i] ? 1 : 0;
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"epoch {epoch}: train loss {lossSum / batches:F4}, test accuracy {100.0 * correct / TestCount:F1}%, {clock.Elapsed.TotalSeconds:F2} s"));
}
