// The samples' command line (System.CommandLine). With no command it trains the default sample,
// mnist-mlp. Every training command writes metrics.csv, steps.csv, curves.png and a checkpoint
// into --out (default out/<run name>).
using System.CommandLine;
using System.Globalization;
using MiniNet.Data;
using Spectre.Console;

namespace MiniNet.Samples;

/// <summary>Entry point of the samples.</summary>
public static class Cli
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code.</summary>
    public static int Run(string[] args, IAnsiConsole? console = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var ui = console ?? AnsiConsole.Console;
        // Redirected output (a log file, CI): no 80-column wrapping of long lines.
        if (console is null && Console.IsOutputRedirected) ui.Profile.Width = 1000;
        var root = new RootCommand("MiniNet samples: BatchNorm on MNIST and CIFAR-10, the BN paper's figure, and small BN walk-throughs. Without a command: mnist-mlp.");

        var mlp = TrainingCommand("mnist-mlp", "The MLP (Linear 784→256, ReLU, BatchNorm1d, Linear 256→10) on MNIST (default sample).", ui);
        root.Add(mlp.Command);
        root.Add(TrainingCommand("mnist-cnn", "The two-conv CNN with BatchNorm2d on MNIST.", ui).Command);
        root.Add(TrainingCommand("cifar-cnn", "The same CNN on CIFAR-10 (random crop and flip).", ui).Command);
        root.Add(CompareCommand(ui));
        root.Add(PaperFig1Command(ui));
        root.Add(ToyBnCommand(ui));
        root.Add(BnDemoCommand(ui));
        foreach (var option in mlp.Command.Options) root.Add(option);
        root.SetAction(mlp.Action);

        var invocation = new InvocationConfiguration { Output = new ConsoleWriter(ui), Error = new ConsoleWriter(ui) };
        return root.Parse(args).Invoke(invocation);
    }

    // Options shared by the training commands.
    sealed class TrainingOptions
    {
        public Option<int?> Epochs { get; } = new("--epochs") { Description = "Total epochs (default per model: mnist-mlp 5, mnist-cnn 3, cifar-cnn 15)." };
        public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "Mini-batch size (default 64)." };
        public Option<double?> Lr { get; } = new("--lr") { Description = "Initial learning rate, cosine-annealed to 0 (default: SGD 0.05 MLP, 0.01 mnist-cnn, 0.02 cifar-cnn; Adam 0.001)." };
        public Option<string> Optimizer { get; } = new Option<string>("--optimizer") { Description = "sgd (momentum 0.9) or adam.", DefaultValueFactory = _ => "sgd" }.AcceptOnlyFromAmong("sgd", "adam");
        public Option<long> Seed { get; } = new("--seed") { Description = "Seed: the same seed gives the same curve.", DefaultValueFactory = _ => 0 };
        public Option<string?> Data { get; } = new("--data") { Description = "Folder holding the data files (else $MININET_DATA, the cache ~/.cache/mininet, a download)." };
        public Option<string?> Out { get; } = new("--out") { Description = "Output folder (default out/<run>)." };
        public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the checkpoint in the output folder." };
        public Option<double> Dropout { get; } = new("--dropout") { Description = "Dropout before the last layer (default 0).", DefaultValueFactory = _ => 0 };
        public Option<string> Device { get; } = DeviceOption();

        public IEnumerable<Option> All => [Epochs, BatchSize, Lr, Optimizer, Seed, Data, Out, Resume, Dropout, Device];

        public TrainSettings Read(ParseResult r, string model) => new()
        {
            Model = model,
            Epochs = r.GetValue(Epochs),
            BatchSize = r.GetValue(BatchSize),
            LearningRate = r.GetValue(Lr),
            Optimizer = r.GetValue(Optimizer)!,
            Seed = r.GetValue(Seed),
            DataFolder = r.GetValue(Data),
            OutputDirectory = r.GetValue(Out),
            Resume = r.GetValue(Resume),
            Dropout = r.GetValue(Dropout),
            Device = r.GetValue(Device)!,
        };
    }

    // --device: cpu (default), cuda[:N], opencl[:N], ilgpu-cpu or best; resolved when the run starts,
    // so an absent GPU is reported with the devices that are present.
    static Option<string> DeviceOption() => new("--device")
    {
        Description = "Where to train: cpu, cuda, cuda:N, opencl, opencl:N, ilgpu-cpu (the GPU kernels on the CPU) or best (CUDA, then OpenCL, then ilgpu-cpu).",
        DefaultValueFactory = _ => "cpu",
    };

    static (Command Command, Func<ParseResult, int> Action) TrainingCommand(string model, string description, IAnsiConsole ui)
    {
        var command = new Command(model, description);
        var options = new TrainingOptions();
        var noBn = new Option<bool>("--no-bn") { Description = "Train the same network without its BatchNorm layers." };
        foreach (var o in options.All) command.Add(o);
        command.Add(noBn);
        int Action(ParseResult r) => Guarded(ui, () => Classify.Run(options.Read(r, model) with { BatchNorm = !r.GetValue(noBn) }, ui));
        command.SetAction(Action);
        return (command, Action);
    }

    static Command CompareCommand(IAnsiConsole ui)
    {
        var command = new Command("compare", "Train a model with and without BatchNorm and plot both curves on one chart.");
        var model = new Option<string>("--model") { Description = "mnist-mlp, mnist-cnn or cifar-cnn.", DefaultValueFactory = _ => "mnist-mlp" }.AcceptOnlyFromAmong(Classify.ModelNames);
        var options = new TrainingOptions();
        command.Add(model);
        foreach (var o in options.All) command.Add(o);
        command.SetAction(r => Guarded(ui, () => Classify.Compare(options.Read(r, r.GetValue(model)!), ui)));
        return command;
    }

    static Command PaperFig1Command(IAnsiConsole ui)
    {
        var command = new Command("paper-fig1", "The BN paper's MNIST experiment (Figure 1): 3×100 sigmoid MLP with and without BN, plain SGD.");
        var steps = new Option<int>("--steps") { Description = "Training steps (paper: 50,000).", DefaultValueFactory = _ => 50_000 };
        var lr = new Option<double>("--lr") { Description = "Plain SGD learning rate for both networks.", DefaultValueFactory = _ => 0.5 };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch size (paper: 60).", DefaultValueFactory = _ => 60 };
        var every = new Option<int>("--eval-every") { Description = "Steps between evaluations.", DefaultValueFactory = _ => 500 };
        var seed = new Option<long>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 0 };
        var data = new Option<string?>("--data") { Description = "Folder holding the MNIST files." };
        var output = new Option<string>("--out") { Description = "Output folder.", DefaultValueFactory = _ => Path.Combine("out", "paper-fig1") };
        var device = DeviceOption();
        foreach (var o in new Option[] { steps, lr, batch, every, seed, data, output, device }) command.Add(o);
        command.SetAction(r => Guarded(ui, () =>
        {
            var (train, test) = Classify.LoadData("mnist-mlp", r.GetValue(data), ui);
            var options = new PaperFig1Options(r.GetValue(steps), r.GetValue(batch), r.GetValue(lr), r.GetValue(every), r.GetValue(seed), r.GetValue(output)!, Device.Get(r.GetValue(device)!));
            var result = PaperFig1.Run(Flatten(train), [.. train.Labels], Flatten(test), [.. test.Labels], options, new ConsoleWriter(ui));
            ui.MarkupLineInterpolated($"[green]Wrote {string.Join(", ", result.Files)}.[/]");
        }));
        return command;
    }

    static Command ToyBnCommand(IAnsiConsole ui)
    {
        var command = new Command("toy-bn", "Linear 10→5, BatchNorm1d(5), Linear 5→1 on a 10×10 random input, printed step by step.");
        var seed = new Option<long>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps to show.", DefaultValueFactory = _ => 3 };
        command.Add(seed);
        command.Add(steps);
        command.SetAction(r => Guarded(ui, () => ToyBn.Run(new ConsoleWriter(ui), r.GetValue(seed), r.GetValue(steps))));
        return command;
    }

    static Command BnDemoCommand(IAnsiConsole ui)
    {
        var command = new Command("bn-demo", "BatchNorm of {1, 2, 3, 4, 5} with every intermediate value.");
        command.SetAction(_ => Guarded(ui, () => BnDemo.Run(new ConsoleWriter(ui))));
        return command;
    }

    // MNIST images as normalised floats, [N·784].
    static float[] Flatten(ImageDataset data)
    {
        var norm = Normalize.Mnist;
        var images = data.Images.Span;
        var x = new float[images.Length];
        for (int i = 0; i < x.Length; i++) x[i] = (images[i] / 255f - norm.Mean[0]) / norm.Std[0];
        return x;
    }

    // Runs a command body; a user-facing failure (bad option value, missing or corrupt data)
    // prints one clear line and exits with 1 instead of a stack trace.
    static int Guarded(IAnsiConsole ui, Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException)
        {
            ui.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
    }
}
