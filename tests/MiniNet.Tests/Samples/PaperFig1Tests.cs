// PaperFig1 on a tiny synthetic problem shaped like MNIST (600 train / 200 test images of 784
// features, 10 classes: a prototype per class plus noise): it writes its CSV and three PNGs, the
// result has one entry per evaluation (every EvalEvery steps and after the last), both networks
// learn, and bad input is rejected before anything is trained or written.
using System.Globalization;
using MiniNet.Samples;

namespace MiniNet.Tests.Samples;

public sealed class PaperFig1Tests : IDisposable
{
    const int Features = 784, Classes = 10;
    readonly string _dir = Path.Combine(Path.GetTempPath(), "mininet-paperfig1-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    static (float[] X, int[] Y) Synthetic(int count, Generator g, float[] prototypes)
    {
        var x = new float[count * Features];
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            y[i] = g.NextInt(Classes);
            for (int j = 0; j < Features; j++) x[i * Features + j] = 0.3f * prototypes[y[i] * Features + j] + (float)g.NextNormal();
        }
        return (x, y);
    }

    static (float[] TrainX, int[] TrainY, float[] TestX, int[] TestY) Data()
    {
        var g = new Generator(42);
        var prototypes = Tensor.Randn(g, Classes, Features).ToArray();
        var (trainX, trainY) = Synthetic(600, g, prototypes);
        var (testX, testY) = Synthetic(200, g, prototypes);
        return (trainX, trainY, testX, testY);
    }

    PaperFig1Options Options(int steps = 50) => new(Steps: steps, BatchSize: 60, LearningRate: 0.5, EvalEvery: 20, Seed: 0, OutputDirectory: _dir);

    [Fact]
    public void Writes_the_csv_and_three_pngs_with_one_row_per_evaluation()
    {
        var (trainX, trainY, testX, testY) = Data();
        var log = new StringWriter();
        var result = PaperFig1.Run(trainX, trainY, testX, testY, Options(), log);

        Assert.Equal([20, 40, 50], result.EvalSteps);
        Assert.Equal(3, result.AccuracyPlain.Length);
        Assert.Equal(3, result.AccuracyBn.Length);
        foreach (var percentiles in result.PercentilesPlain.Concat(result.PercentilesBn))
        {
            Assert.Equal(3, percentiles.Length);
            Assert.All(percentiles, p => Assert.True(double.IsFinite(p)));
            Assert.True(percentiles[0] <= percentiles[1] && percentiles[1] <= percentiles[2], string.Join(", ", percentiles));
        }
        // A separable problem: after 50 steps the BN network is far above chance (10%), while the
        // plain one, from the same small initial weights, has hardly started (the paper's point).
        Assert.All(result.AccuracyPlain.Concat(result.AccuracyBn), a => Assert.InRange(a, 0, 1));
        Assert.True(result.AccuracyBn[^1] > 0.5, $"accuracy with BN {result.AccuracyBn[^1]}");
        Assert.True(result.AccuracyBn[^1] > result.AccuracyPlain[^1], $"accuracy with BN {result.AccuracyBn[^1]}, without {result.AccuracyPlain[^1]}");

        string[] names = ["paper-fig1.csv", "paper-fig1a.png", "paper-fig1b.png", "paper-fig1c.png"];
        Assert.Equal(names.Select(n => Path.Combine(Path.GetFullPath(_dir), n)), result.Files);
        Assert.Equal(names.Order(), Directory.GetFiles(_dir).Select(Path.GetFileName).Order());   // no temporary files left

        var csv = File.ReadAllLines(result.Files[0]);
        Assert.Equal("step,acc_plain,acc_bn,p15_plain,p50_plain,p85_plain,p15_bn,p50_bn,p85_bn", csv[0]);
        Assert.Equal(4, csv.Length);
        var last = csv[3].Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(50, last[0]);
        Assert.Equal(result.AccuracyBn[^1], last[2], 4);
        Assert.Equal(result.PercentilesBn[^1][2], last[8], 5);

        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        foreach (var png in result.Files.Skip(1))
        {
            var bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 10_000, $"{png} has only {bytes.Length} bytes");
            Assert.Equal(signature, bytes[..8]);
        }
        Assert.Contains("step     50/50", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_is_rejected_before_anything_is_written()
    {
        var (trainX, trainY, testX, testY) = Data();
        var badLabel = (int[])trainY.Clone();
        badLabel[7] = 10;
        var ex = Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, badLabel, testX, testY, Options(), TextWriter.Null));
        Assert.Contains("train label 7 is 10", ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, trainY, testX[..^1], testY, Options(), TextWriter.Null));
        Assert.Contains("test images hold", ex.Message, StringComparison.Ordinal);

        var nan = (float[])testX.Clone();
        nan[3 * Features + 5] = float.NaN;
        ex = Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, trainY, nan, testY, Options(), TextWriter.Null));
        Assert.Contains("test image 3, feature 5 is NaN", ex.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, trainY, testX, testY, Options() with { BatchSize = 1 }, TextWriter.Null));
        Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, trainY, testX, testY, Options() with { BatchSize = 601 }, TextWriter.Null));
        Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, trainY, testX, testY, Options() with { EvalEvery = 0 }, TextWriter.Null));
        Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, trainY, testX, testY, Options(steps: 0), TextWriter.Null));
        Assert.Throws<ArgumentException>(() => PaperFig1.Run(trainX, trainY, testX, testY, Options() with { LearningRate = double.NaN }, TextWriter.Null));
        Assert.False(Directory.Exists(_dir));
    }

    [Fact]
    public void A_diverging_run_stops_with_an_error_instead_of_plotting_nans()
    {
        // A step size beyond float range turns the weights infinite at once; the next loss is NaN.
        var (trainX, trainY, testX, testY) = Data();
        var ex = Assert.Throws<InvalidOperationException>(() =>
            PaperFig1.Run(trainX, trainY, testX, testY, Options() with { LearningRate = 1e300 }, TextWriter.Null));
        Assert.Contains("became", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir));
    }
}
