// Plots: the PNG files are real PNGs of the asked size with the runs drawn in their colours (decoded with
// SkiaSharp, which ScottPlot brings); empty and diverged histories plot; bad arguments are named; and the
// moving average and step positions behind the curves are checked against plain references.
using MiniNet.Training;
using SkiaSharp;

namespace MiniNet.Tests.Training;

public class PlotsTests
{
    static readonly SKColor Blue = new(0x1f, 0x77, 0xb4), Orange = new(0xff, 0x7f, 0x0e);   // Category10's first two

    // Checks the signature and the IHDR chunk, which PNG requires first; returns (width, height).
    static (int Width, int Height) PngSize(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 33, $"{path}: {bytes.Length} bytes is too short for a PNG");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        int BigEndian(int at) => (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
        return (BigEndian(16), BigEndian(20));
    }

    // How many pixels of `color` (within a small tolerance, for anti-aliasing) lie in columns [x0, x1).
    static int CountColor(SKBitmap bitmap, SKColor color, int x0, int x1)
    {
        int count = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = x0; x < x1; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) <= 12 && Math.Abs(p.Green - color.Green) <= 12 && Math.Abs(p.Blue - color.Blue) <= 12)
                    count++;
            }
        }
        return count;
    }

    [Fact]
    public void SaveCurves_draws_two_runs_in_two_colours_on_both_panels()
    {
        using var dir = new TempFolder();
        string path = dir.File("plots", "curves.png");
        var runs = new[] { TrainingFiles.Run("with BN", 4, 30, 2.3, seed: 1), TrainingFiles.Run("without BN", 4, 30, 1.5, seed: 2) };
        Plots.SaveCurves(path, runs, "BN vs no BN", 1000, 420);

        Assert.Equal((1000, 420), PngSize(path));
        Assert.InRange(new FileInfo(path).Length, 10_000, 2_000_000);
        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal((1000, 420), (bitmap.Width, bitmap.Height));
        foreach (var color in new[] { Blue, Orange })
        {
            Assert.True(CountColor(bitmap, color, 0, 500) > 300, $"loss panel: too few pixels of {color}");
            Assert.True(CountColor(bitmap, color, 500, 1000) > 300, $"accuracy panel: too few pixels of {color}");
        }
        Assert.Equal(["curves.png"], Directory.GetFiles(dir.File("plots")).Select(Path.GetFileName));
    }

    [Fact]
    public void SaveCurves_plots_a_fresh_history_an_epochs_only_history_and_a_diverged_one()
    {
        using var dir = new TempFolder();
        Plots.SaveCurves(dir.File("fresh.png"), [new History("fresh")], "nothing yet");
        Assert.Equal((1200, 500), PngSize(dir.File("fresh.png")));

        var epochsOnly = TrainingFiles.Run("csv", 5, 10, 2, seed: 3);
        epochsOnly.Steps.Clear();
        Plots.SaveCurves(dir.File("epochs.png"), [epochsOnly], "from metrics.csv");
        using (var bitmap = SKBitmap.Decode(dir.File("epochs.png")))
            Assert.True(CountColor(bitmap, Blue, 0, 600) > 200);

        var diverged = TrainingFiles.Run("lr 10", 3, 20, 2, seed: 4);
        for (int i = 30; i < diverged.Steps.Count; i++)
            diverged.Steps[i] = diverged.Steps[i] with { Loss = i % 2 == 0 ? double.NaN : double.PositiveInfinity, Accuracy = double.NaN };
        diverged.Epochs[1] = diverged.Epochs[1] with { TestLoss = double.NaN, TrainLoss = double.PositiveInfinity };
        diverged.Epochs[2] = diverged.Epochs[2] with { TestLoss = double.NegativeInfinity, TestAccuracy = double.NaN };
        Plots.SaveCurves(dir.File("diverged.png"), [diverged, new History("empty")], "diverged", smoothing: 5);
        using (var bitmap = SKBitmap.Decode(dir.File("diverged.png")))
            Assert.True(CountColor(bitmap, Blue, 0, 600) > 100);
    }

    [Fact]
    public void SaveCurves_names_bad_arguments()
    {
        using var dir = new TempFolder();
        string path = dir.File("x.png");
        var run = TrainingFiles.Run("a", 1, 5, 1, seed: 5);
        Assert.Contains("no runs", Assert.Throws<ArgumentException>(() => Plots.SaveCurves(path, [], "t")).Message, StringComparison.Ordinal);
        Assert.Contains("null History", Assert.Throws<ArgumentException>(() => Plots.SaveCurves(path, [run, null!], "t")).Message, StringComparison.Ordinal);
        Assert.Contains("10×500", Assert.Throws<ArgumentOutOfRangeException>(() => Plots.SaveCurves(path, [run], "t", 10, 500)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Plots.SaveCurves(path, [run], "t", 500, 20_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => Plots.SaveCurves(path, [run], "t", smoothing: 0));
        Assert.Throws<ArgumentException>(() => Plots.SaveCurves(" ", [run], "t"));
        Assert.False(Directory.Exists(dir.Path));
    }

    [Fact]
    public void SaveLines_draws_each_series_in_its_colour_and_skips_non_finite_points()
    {
        using var dir = new TempFolder();
        string path = dir.File("lines.png");
        double[] x = Enumerable.Range(0, 200).Select(i => i / 20.0).ToArray();
        double[] sine = x.Select(Math.Sin).ToArray();
        double[] cosine = x.Select(v => v is > 4 and < 5 ? double.NaN : Math.Cos(v)).ToArray();
        cosine[10] = double.PositiveInfinity;
        Plots.SaveLines(path, "BN paper, figure 1(b)", "step", "activation", [("sin", x, sine), ("cos", x, cosine), ("", [], [])]);

        Assert.Equal((800, 500), PngSize(path));
        using var bitmap = SKBitmap.Decode(path);
        Assert.True(CountColor(bitmap, Blue, 0, 800) > 300);
        Assert.True(CountColor(bitmap, Orange, 0, 800) > 300);
    }

    [Fact]
    public void SaveLines_names_bad_arguments()
    {
        using var dir = new TempFolder();
        string path = dir.File("x.png");
        var ex = Assert.Throws<ArgumentException>(() => Plots.SaveLines(path, "t", "x", "y", [("ok", [1, 2], [1, 2]), ("short", [1, 2, 3], [1, 2])]));
        Assert.Contains("series 1 ('short') has 3 x values but 2 y values", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Plots.SaveLines(path, "t", "x", "y", []));
        Assert.Throws<ArgumentException>(() => Plots.SaveLines(path, "t", "x", "y", [("null", null!, [1.0])]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Plots.SaveLines(path, "t", "x", "y", [("a", [1.0], [1.0])], 800, 99));
        Assert.False(Directory.Exists(dir.Path));
    }

    [Fact]
    public void MovingAverage_matches_a_plain_windowed_mean_of_the_finite_values()
    {
        var random = new Random(7);
        foreach (int n in new[] { 0, 1, 2, 5, 13, 40 })
        {
            double[] values = Enumerable.Range(0, n).Select(_ => random.NextDouble() switch
            {
                < 0.1 => double.NaN,
                < 0.15 => double.PositiveInfinity,
                < 0.2 => 1e30,
                var u => u,
            }).ToArray();
            for (int window = 1; window <= 9; window++)
            {
                double[] smoothed = Plots.MovingAverage(values, window);
                Assert.Equal(n, smoothed.Length);
                for (int i = 0; i < n; i++)
                {
                    if (!double.IsFinite(values[i]))
                    {
                        Assert.Equal(values[i], smoothed[i]);
                        continue;
                    }
                    int lo = Math.Max(0, i - (window - 1) / 2), hi = Math.Min(n - 1, i + window / 2);
                    double[] reach = values[lo..(hi + 1)].Where(double.IsFinite).ToArray();
                    double expected = reach.Average();
                    Assert.True(Math.Abs(smoothed[i] - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)),
                        $"n={n} window={window} i={i}: {smoothed[i]} vs {expected}");
                }
            }
        }
    }

    [Fact]
    public void MovingAverage_keeps_small_values_exact_after_a_huge_spike()
    {
        double[] values = [0.5, 1e30, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25];
        double[] smoothed = Plots.MovingAverage(values, 3);
        Assert.Equal([0.25, 0.25, 0.25, 0.25, 0.25], smoothed[3..]);
    }

    [Fact]
    public void StepEpochs_places_step_i_of_n_at_epoch_minus_one_plus_i_over_n()
    {
        var steps = new List<StepRecord>();
        int global = 0;
        foreach (var (epoch, count) in new[] { (1, 4), (2, 4), (3, 2) })
        {
            for (int i = 0; i < count; i++)
                steps.Add(new StepRecord(epoch, ++global, 1, 0.5, 0.1));
        }
        Assert.Equal([0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5], Plots.StepEpochs(steps));
        Assert.Empty(Plots.StepEpochs([]));
    }
}
