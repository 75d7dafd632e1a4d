using System.Buffers.Binary;
using MiniNet.Data;
using MiniNet.Samples;
using Spectre.Console;

namespace MiniNet.Tests.Samples;

// The samples' command line end to end on a tiny synthetic MNIST-shaped data set written as IDX
// files into a temp folder (named with --data, so no cache, download or npm is involved).
[Collection(SerialTests.Name)]
public sealed class CliTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "mininet-cli-" + Guid.NewGuid().ToString("N"));
    readonly StringWriter _text = new();
    readonly IAnsiConsole _console;

    public CliTests()
    {
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(_text),
        });
        WriteDigits(Path.Combine(_dir, "data"), 192, 64);
    }

    public void Dispose()
    {
        _text.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // Ten "digits": class c lights a 4×4 block at a class-specific place of a 28×28 image, plus noise.
    static void WriteDigits(string folder, int trainCount, int testCount)
    {
        Directory.CreateDirectory(folder);
        var rng = new Generator(5);
        foreach (var (prefix, count) in new[] { ("train", trainCount), ("t10k", testCount) })
        {
            var images = new byte[count * 784];
            var labels = new byte[count];
            for (int i = 0; i < count; i++)
            {
                int c = rng.NextInt(10);
                labels[i] = (byte)c;
                for (int p = 0; p < 784; p++) images[i * 784 + p] = (byte)rng.NextInt(40);
                int top = 2 + 6 * (c / 4), left = 2 + 6 * (c % 4);
                for (int y = 0; y < 4; y++)
                {
                    for (int x = 0; x < 4; x++) images[i * 784 + (top + y) * 28 + left + x] = 250;
                }
            }
            Idx.WriteImages(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), images, count, 28, 28, gzip: prefix == "train");
            Idx.WriteLabels(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), labels);
        }
    }

    int Run(params string[] args) => Cli.Run(args, _console);

    static (int Width, int Height) PngSize(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 5000, $"{path}: only {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR"u8.ToArray(), bytes[12..16]);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    static string[] Rows(string csv) => File.ReadAllLines(csv).Where(l => l.Length > 0).ToArray();

    [Fact]
    public void Default_sample_trains_and_writes_its_csv_png_and_checkpoint()
    {
        string output = Path.Combine(_dir, "mlp");
        Assert.Equal(0, Run("--data", Path.Combine(_dir, "data"), "--epochs", "2", "--batch-size", "32", "--out", output));
        var rows = Rows(Path.Combine(output, "metrics.csv"));
        Assert.StartsWith("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds", rows[0]);
        Assert.Equal(3, rows.Length);
        double accuracy = double.Parse(rows[2].Split(',')[4], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy > 0.5, $"test accuracy {accuracy} after 2 epochs (chance is 0.1)\n{_text}");
        Assert.Equal((1200, 500), PngSize(Path.Combine(output, "curves.png")));
        Assert.True(File.Exists(Path.Combine(output, "checkpoint", "model.safetensors")));
        Assert.Contains("mnist-mlp", _text.ToString());
    }

    [Fact]
    public void Resume_goes_on_from_the_checkpoint_and_keeps_the_earlier_epochs()
    {
        string data = Path.Combine(_dir, "data"), output = Path.Combine(_dir, "resumed");
        string[] common = ["mnist-mlp", "--data", data, "--batch-size", "32", "--dropout", "0.3", "--out", output];
        Assert.Equal(0, Run([.. common, "--epochs", "1"]));
        var firstEpoch = Rows(Path.Combine(output, "metrics.csv"));
        int stepsPerEpoch = Rows(Path.Combine(output, "steps.csv")).Length - 1;
        Assert.Equal(0, Run([.. common, "--epochs", "2", "--resume"]));
        var rows = Rows(Path.Combine(output, "metrics.csv"));
        Assert.Equal(3, rows.Length);
        Assert.Equal(firstEpoch[1], rows[1]);
        Assert.StartsWith("2,", rows[2]);
        var steps = Rows(Path.Combine(output, "steps.csv")).Skip(1).Select(r => int.Parse(r.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(1, 2 * stepsPerEpoch), steps);
        Assert.Contains("Resumed", _text.ToString());
    }

    [Fact]
    public void Cnn_without_bn_and_compare_write_their_charts()
    {
        string data = Path.Combine(_dir, "data");
        Assert.Equal(0, Run("mnist-cnn", "--data", data, "--epochs", "1", "--batch-size", "64", "--no-bn", "--out", Path.Combine(_dir, "cnn")));
        Assert.DoesNotContain("BatchNorm", _text.ToString());
        Assert.Equal(2, Rows(Path.Combine(_dir, "cnn", "metrics.csv")).Length);
        Assert.Equal(0, Run("compare", "--model", "mnist-mlp", "--data", data, "--epochs", "1", "--batch-size", "32", "--out", Path.Combine(_dir, "compare")));
        Assert.Equal((1200, 500), PngSize(Path.Combine(_dir, "compare", "compare.png")));
        Assert.True(File.Exists(Path.Combine(_dir, "compare", "bn", "metrics.csv")));
        Assert.True(File.Exists(Path.Combine(_dir, "compare", "no-bn", "metrics.csv")));
    }

    [Fact]
    public void Device_ilgpu_cpu_trains_the_same_curve_as_the_cpu_and_resumes()
    {
        string data = Path.Combine(_dir, "data");
        string[] common = ["mnist-mlp", "--data", data, "--batch-size", "32", "--dropout", "0.2"];
        Assert.Equal(0, Run([.. common, "--epochs", "1", "--out", Path.Combine(_dir, "on-cpu")]));
        Assert.Equal(0, Run([.. common, "--epochs", "1", "--device", "ilgpu-cpu", "--out", Path.Combine(_dir, "on-gpu")]));
        Assert.Contains("on ilgpu-cpu", _text.ToString());
        var cpuSteps = Rows(Path.Combine(_dir, "on-cpu", "steps.csv"));
        var gpuSteps = Rows(Path.Combine(_dir, "on-gpu", "steps.csv"));
        Assert.Equal(cpuSteps.Length, gpuSteps.Length);
        for (int i = 1; i < cpuSteps.Length; i++)
        {
            // epoch, step, loss, accuracy, lr: losses agree to float tolerance, the rest exactly
            var a = cpuSteps[i].Split(',');
            var b = gpuSteps[i].Split(',');
            Assert.Equal(a[0..2], b[0..2]);
            double la = double.Parse(a[2], System.Globalization.CultureInfo.InvariantCulture), lb = double.Parse(b[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(la - lb) <= 1e-4 * (1 + Math.Abs(la)), $"step {i}: loss {lb} on ilgpu-cpu, {la} on cpu");
        }
        // the checkpoint written from the device resumes there
        Assert.Equal(0, Run([.. common, "--epochs", "2", "--device", "ilgpu-cpu", "--resume", "--out", Path.Combine(_dir, "on-gpu")]));
        Assert.Equal(3, Rows(Path.Combine(_dir, "on-gpu", "metrics.csv")).Length);
    }

    [Fact]
    public void Bad_options_give_one_clear_line_and_a_nonzero_exit()
    {
        Assert.NotEqual(0, Run("mnist-mlp", "--data", Path.Combine(_dir, "data"), "--batch-size", "1", "--out", Path.Combine(_dir, "x")));
        Assert.Contains("--batch-size must be at least 2", _text.ToString());
        string data = Path.Combine(_dir, "data"), output = Path.Combine(_dir, "x");
        Assert.NotEqual(0, Run("mnist-mlp", "--data", data, "--lr", "0", "--out", output));
        Assert.Contains("--lr must be positive", _text.ToString());
        Assert.NotEqual(0, Run("mnist-mlp", "--data", data, "--dropout", "1", "--out", output));
        Assert.Contains("--dropout must be in [0, 1)", _text.ToString());
        Assert.NotEqual(0, Run("mnist-mlp", "--data", data, "--epochs", "0", "--out", output));
        Assert.Contains("--epochs must be at least 1", _text.ToString());
        Assert.NotEqual(0, Run("mnist-mlp", "--data", data, "--device", "tpu", "--out", output));
        Assert.Contains("unknown device 'tpu'", _text.ToString());
        Assert.NotEqual(0, Run("mnist-mlp", "--data", data, "--device", "cuda:7", "--out", output));
        Assert.Contains("Device 'cuda:7': no such CUDA device on this machine. Available: cpu", _text.ToString());
        Assert.NotEqual(0, Run("mnist-mlp", "--optimizer", "rmsprop"));
        Assert.NotEqual(0, Run("no-such-command"));
    }

    [Fact]
    public void Help_lists_the_commands()
    {
        Assert.Equal(0, Run("--help"));
        string help = _text.ToString();
        foreach (var command in new[] { "mnist-mlp", "mnist-cnn", "cifar-cnn", "compare", "paper-fig1", "toy-bn", "bn-demo" })
            Assert.Contains(command, help);
    }
}
