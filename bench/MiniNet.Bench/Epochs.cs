// One epoch of the mnist-mlp and mnist-cnn samples against the same model trained with TorchSharp on
// the same data, batch size and optimizer. MiniNet's side is the samples' own loop: DataLoader
// (shuffle, normalise) and Trainer.Fit (forward, cross-entropy, backward, SGD step, loss.Item() and
// the argmax accuracy each step), then Trainer.Evaluate on the 10,000 test images. PyTorch's side is
// the usual loop: a randperm per epoch, index_select of the normalised images, forward,
// cross_entropy, backward, step, loss.item() and the accuracy each step, then eval under no_grad.
// Each framework trains `epochs` epochs, alternating (MiniNet epoch 1, PyTorch epoch 1, ...): the
// first epoch includes JIT and allocator warm-up on both sides.
using System.Diagnostics;
using System.Globalization;
using MiniNet.Data;
using MiniNet.Layers;
using MiniNet.Optim;
using MiniNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniNet.Bench;

public static class Epochs
{
    public static void Run(string model, int epochs)
    {
        var inv = CultureInfo.InvariantCulture;
        var (train, test) = Mnist.Load();
        bool cnn = model == "mnist-cnn";
        double lr = cnn ? 0.01 : 0.05;   // the samples' defaults (Classify.Defaults)
        const int batch = 64;

        Generator.ManualSeed(0);
        var net = cnn ? Cases.SeedCnn() : Cases.SeedMlp();
        var trainer = new Trainer(net, new SGD(net.Parameters(), lr, momentum: 0.9));
        var trainLoader = new DataLoader(train, batch, shuffle: true, seed: 0, dropLast: true, normalize: Normalize.Mnist);
        var testLoader = new DataLoader(test, 1000, normalize: Normalize.Mnist);

        torch.manual_seed(0);
        var tnet = cnn ? Cases.TorchSeedCnn() : Cases.TorchSeedMlp();
        var topt = optim.SGD(tnet.parameters(), lr, momentum: 0.9);
        using var tTrainX = Images(train);
        using var tTrainY = torch.tensor(train.Labels.Select(v => (long)v).ToArray());
        using var tTestX = Images(test);
        using var tTestY = torch.tensor(test.Labels.Select(v => (long)v).ToArray());

        Console.WriteLine($"{model}: {trainLoader.Count} steps of {batch} per epoch, SGD momentum 0.9 lr {lr.ToString(inv)}; {Environment.ProcessorCount} cores");
        Console.WriteLine("| model | epoch | MiniNet train s | PyTorch train s | ratio | MiniNet eval s | PyTorch eval s | MiniNet test acc | PyTorch test acc |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            trainer.Fit(trainLoader, null, epochs: 1);
            double mineTrain = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var mineEval = trainer.Evaluate(testLoader);
            double mineEvalS = clock.Elapsed.TotalSeconds;

            clock.Restart();
            TorchEpoch(tnet, topt, tTrainX, tTrainY, batch, trainLoader.Count);
            double theirTrain = clock.Elapsed.TotalSeconds;
            clock.Restart();
            double theirAcc = TorchAccuracy(tnet, tTestX, tTestY);
            double theirEvalS = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(inv, $"| {model} | {epoch} | {mineTrain:F2} | {theirTrain:F2} | {mineTrain / theirTrain:F2} | {mineEvalS:F2} | {theirEvalS:F2} | {mineEval.Accuracy:P2} | {theirAcc:P2} |"));
        }
    }

    // The images as one normalised float tensor [count, 1, 28, 28], as torchvision's ToTensor + Normalize give.
    static torch.Tensor Images(ImageDataset data)
    {
        var bytes = data.Images.ToArray();
        var floats = new float[bytes.Length];
        float mean = Normalize.Mnist.Mean[0], std = Normalize.Mnist.Std[0];
        for (int i = 0; i < bytes.Length; i++) floats[i] = (bytes[i] / 255f - mean) / std;
        return torch.tensor(floats, [data.Count, data.Channels, data.Height, data.Width]);
    }

    static void TorchEpoch(nn.Module<torch.Tensor, torch.Tensor> net, optim.Optimizer opt, torch.Tensor x, torch.Tensor y, int batch, int steps)
    {
        net.train();
        using var order = torch.randperm(x.shape[0]);
        double lossSum = 0;
        long correct = 0;
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var index = order.narrow(0, (long)step * batch, batch);
            var inputs = x.index_select(0, index);
            var targets = y.index_select(0, index);
            opt.zero_grad();
            var logits = net.forward(inputs);
            var loss = nn.functional.cross_entropy(logits, targets);
            loss.backward();
            opt.step();
            lossSum += loss.item<float>();
            correct += logits.argmax(1).eq(targets).sum().item<long>();
        }
        GC.KeepAlive(lossSum + correct);
    }

    static double TorchAccuracy(nn.Module<torch.Tensor, torch.Tensor> net, torch.Tensor x, torch.Tensor y)
    {
        net.eval();
        using var _ = torch.no_grad();
        long correct = 0, count = x.shape[0];
        for (long start = 0; start < count; start += 1000)
        {
            using var scope = torch.NewDisposeScope();
            long size = Math.Min(1000, count - start);
            var logits = net.forward(x.narrow(0, start, size));
            correct += logits.argmax(1).eq(y.narrow(0, start, size)).sum().item<long>();
        }
        return (double)correct / count;
    }
}
