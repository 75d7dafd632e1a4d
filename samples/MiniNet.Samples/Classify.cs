// The classification samples (mnist-mlp, mnist-cnn, cifar-cnn) and `compare`: load the data
// (fetching it if needed), build the model, train it with Trainer.Fit, and after every epoch write
// metrics.csv, steps.csv and curves.png into the output folder, with a checkpoint for --resume.
using System.Globalization;
using MiniNet.Data;
using MiniNet.Layers;
using MiniNet.Optim;
using MiniNet.Training;
using Spectre.Console;

namespace MiniNet.Samples;

/// <summary>Settings of one training run; null values take the model's defaults.</summary>
public sealed record TrainSettings
{
    /// <summary>mnist-mlp, mnist-cnn or cifar-cnn.</summary>
    public required string Model { get; init; }
    /// <summary>Total epochs (a resumed run goes on to this many).</summary>
    public int? Epochs { get; init; }
    /// <summary>Mini-batch size.</summary>
    public int? BatchSize { get; init; }
    /// <summary>Initial learning rate (cosine-annealed to 0 over the run).</summary>
    public double? LearningRate { get; init; }
    /// <summary>sgd (momentum 0.9) or adam.</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>Seeds initialisation, shuffling, augmentation and dropout.</summary>
    public long Seed { get; init; }
    /// <summary>A folder holding the data set's files (else MININET_DATA, the cache, a download).</summary>
    public string? DataFolder { get; init; }
    /// <summary>Output folder (default out/&lt;run name&gt;).</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Continue from the checkpoint in the output folder.</summary>
    public bool Resume { get; init; }
    /// <summary>Dropout before the last layer (0: none).</summary>
    public double Dropout { get; init; }
    /// <summary>False trains the same network without its BatchNorm layers.</summary>
    public bool BatchNorm { get; init; } = true;
    /// <summary>Where to train: cpu, cuda[:N], opencl[:N], ilgpu-cpu or best (see <c>Device.Get</c>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>The run's name: the model, with "-no-bn" when BatchNorm is off.</summary>
    public string RunName => BatchNorm ? Model : Model + "-no-bn";
}

/// <summary>Trains the classification samples.</summary>
public static class Classify
{
    /// <summary>The models this runner knows.</summary>
    public static readonly string[] ModelNames = ["mnist-mlp", "mnist-cnn", "cifar-cnn"];

    // Per-model defaults: epochs, batch size, SGD learning rate.
    static (int Epochs, int BatchSize, double Lr) Defaults(string model) => model switch
    {
        "mnist-mlp" => (5, 64, 0.05),
        "mnist-cnn" => (3, 64, 0.01),
        "cifar-cnn" => (15, 64, 0.02),
        _ => throw new ArgumentException($"Unknown model '{model}'; expected one of {string.Join(", ", ModelNames)}.", nameof(model)),
    };

    /// <summary>Trains one run and returns its history (also written to the output folder).</summary>
    public static History Run(TrainSettings settings, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(console);
        var (train, test) = LoadData(settings.Model, settings.DataFolder, console);
        return Run(settings, train, test, console);
    }

    /// <summary>Trains one run on data already loaded.</summary>
    public static History Run(TrainSettings settings, ImageDataset train, ImageDataset test, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(console);
        var defaults = Defaults(settings.Model);
        int epochs = settings.Epochs ?? defaults.Epochs;
        int batchSize = settings.BatchSize ?? defaults.BatchSize;
        bool adam = settings.Optimizer switch
        {
            "sgd" => false,
            "adam" => true,
            _ => throw new ArgumentException($"Unknown optimizer '{settings.Optimizer}'; expected sgd or adam.", nameof(settings)),
        };
        double lr = settings.LearningRate ?? (adam ? 1e-3 : defaults.Lr);
        if (epochs < 1) throw new ArgumentException($"--epochs must be at least 1, got {epochs}.", nameof(settings));
        if (batchSize < 2) throw new ArgumentException($"--batch-size must be at least 2 (BatchNorm needs two samples), got {batchSize}.", nameof(settings));
        if (!(lr > 0)) throw new ArgumentException($"--lr must be positive, got {lr}.", nameof(settings));
        if (settings.Dropout is < 0 or >= 1) throw new ArgumentException($"--dropout must be in [0, 1), got {settings.Dropout}.", nameof(settings));
        var device = MiniNet.Device.Get(settings.Device);
        string output = settings.OutputDirectory ?? Path.Combine("out", settings.RunName);
        Directory.CreateDirectory(output);

        Generator.ManualSeed(settings.Seed);
        var model = settings.Model == "mnist-mlp"
            ? Models.MnistMlp(settings.BatchNorm, settings.Dropout, train.Channels * train.Height * train.Width, train.NumClasses)
            : Models.Cnn(train.Channels, train.Height, settings.BatchNorm, settings.Dropout, train.NumClasses);
        model.To(device);   // initialised on the CPU (same weights on every device for a seed), then moved
        Optimizer optimizer = adam ? new Adam(model.Parameters(), lr) : new SGD(model.Parameters(), lr, momentum: 0.9);

        var normalize = settings.Model == "cifar-cnn" ? Normalize.Cifar10 : Normalize.Mnist;
        var augment = settings.Model == "cifar-cnn" ? new Augment(CropPadding: 4, HorizontalFlip: true) : null;
        var trainLoader = new DataLoader(train, batchSize, shuffle: true, seed: settings.Seed, dropLast: true, normalize: normalize, augment: augment);
        var testLoader = new DataLoader(test, 1000, normalize: normalize);

        console.MarkupLineInterpolated($"[bold]{settings.RunName}[/]: {train.Count} training and {test.Count} test images, {epochs} epochs of {trainLoader.Count} batches of {batchSize}, {(adam ? "Adam" : "SGD momentum 0.9")} lr {lr.ToString(CultureInfo.InvariantCulture)} (cosine to 0), seed {settings.Seed}, on {device.Name}.");
        console.WriteLine(model.ToString());

        string metrics = Path.Combine(output, "metrics.csv"), steps = Path.Combine(output, "steps.csv"), curves = Path.Combine(output, "curves.png");
        var trainer = new Trainer(model, optimizer)
        {
            Scheduler = new CosineAnnealingLR(optimizer, epochs * trainLoader.Count),
            SchedulerInterval = SchedulerInterval.Step,
            Reporter = new ConsoleReporter(console),
            CheckpointDirectory = Path.Combine(output, "checkpoint"),
            OnEpochEnd = history =>
            {
                history.Name = settings.RunName;
                history.WriteCsv(metrics);
                history.WriteStepsCsv(steps);
                Plots.SaveCurves(curves, [history], settings.RunName);
            },
        };
        var result = trainer.Fit(trainLoader, testLoader, epochs, settings.Resume);
        result.Name = settings.RunName;
        if (result.Epochs.Count > 0)
        {
            var last = result.Epochs[^1];
            console.MarkupLineInterpolated($"[green]{settings.RunName}: test accuracy {100 * last.TestAccuracy:F2}% after {last.Epoch} epoch{(last.Epoch == 1 ? "" : "s")}.[/] Wrote {metrics}, {steps}, {curves}.");
        }
        return result;
    }

    /// <summary>Trains the model with and without BatchNorm and plots both on one chart.</summary>
    public static (History WithBn, History WithoutBn) Compare(TrainSettings settings, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(console);
        var (train, test) = LoadData(settings.Model, settings.DataFolder, console);
        string output = settings.OutputDirectory ?? Path.Combine("out", "compare-" + settings.Model);
        var withBn = Run(settings with { BatchNorm = true, OutputDirectory = Path.Combine(output, "bn") }, train, test, console);
        var withoutBn = Run(settings with { BatchNorm = false, OutputDirectory = Path.Combine(output, "no-bn") }, train, test, console);
        withBn.Name = "with BN";
        withoutBn.Name = "without BN";
        string chart = Path.Combine(output, "compare.png");
        Plots.SaveCurves(chart, [withBn, withoutBn], $"{settings.Model}: with and without BatchNorm");
        console.MarkupLineInterpolated($"Wrote {chart}.");
        return (withBn, withoutBn);
    }

    /// <summary>Loads the model's data set: MNIST for the mnist-* models, CIFAR-10 for cifar-cnn.</summary>
    public static (ImageDataset Train, ImageDataset Test) LoadData(string model, string? dataFolder, IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        Defaults(model);
        var options = new DataSourceOptions { Folder = dataFolder, Log = new ConsoleWriter(console), Progress = new DownloadBar(console) };
        return model == "cifar-cnn" ? Cifar10.Load(options) : Mnist.Load(options);
    }

    // Download progress: a line per 10% (a live bar would fight with other output while loading).
    sealed class DownloadBar(IAnsiConsole console) : IProgress<DownloadProgress>
    {
        readonly Dictionary<string, int> _shown = [];

        public void Report(DownloadProgress value)
        {
            int tenth = value.BytesTotal is > 0 ? (int)(10 * value.BytesDone / value.BytesTotal.Value) : -1;
            if (_shown.TryGetValue(value.File, out int last) && last >= tenth) return;
            _shown[value.File] = tenth;
            string size = $"{value.BytesDone / 1e6:F1} MB" + (value.BytesTotal is > 0 ? $" of {value.BytesTotal.Value / 1e6:F1} MB" : "");
            string bar = tenth >= 0 ? "[" + new string('#', tenth) + new string('.', 10 - tenth) + "] " : "";
            console.MarkupLineInterpolated($"[grey]  {value.File} {bar}{size}[/]");
        }
    }
}
