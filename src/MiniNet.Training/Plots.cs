// PNG charts of training runs, drawn with ScottPlot (SkiaSharp underneath, no other package).
// SaveCurves: one PNG, two panels side by side. Left: loss; right: accuracy. Per run, one colour:
// the per-step training value smoothed by a centred moving average (a solid line) and the per-epoch
// test value (circles joined by a thin dashed line). x is the epoch: step i of an epoch e with n steps
// sits at e − 1 + i/n, so the epoch-e test marker sits at x = e, where that epoch's last step ends.
// A run with epochs but no steps (a metrics.csv read without steps.csv) plots its per-epoch training
// value instead. Non-finite values (a diverged run) are left out, breaking the line there; the loss
// legend says from which epoch. A run with no data yet draws nothing and says "(no data)" in the legend;
// an empty panel says "no data". So a History plots at any point of a fit.
// SaveLines: any x/y series on one chart (the samples' other figures), with the same non-finite rule.
// Every PNG is written atomically (temporary file, then rename) and its folder created.
using System.Globalization;
using ScottPlot;

namespace MiniNet.Training;

/// <summary>Training curves and line charts saved as PNG files.</summary>
public static class Plots
{
    const int MinSize = 100, MaxSize = 16384;

    /// <summary>
    /// Saves the loss and accuracy curves of <paramref name="runs"/> side by side in one PNG of
    /// <paramref name="width"/> × <paramref name="height"/> pixels. Each run has its own colour and legend
    /// entries named after <see cref="History.Name"/>; train curves are smoothed with a centred moving
    /// average of <paramref name="smoothing"/> steps (default: a fiftieth of the run's steps, at least 1;
    /// 1 plots raw values). Runs with no data yet are allowed.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="runs"/> is empty or holds null, a size is outside [100, 16384], or <paramref name="smoothing"/> is below 1.</exception>
    public static void SaveCurves(string pngPath, IReadOnlyList<History> runs, string title, int width = 1200, int height = 500,
        int? smoothing = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(title);
        CheckSize(nameof(SaveCurves), width, height);
        if (runs.Count == 0)
            throw new ArgumentException("Plots.SaveCurves: no runs given; pass at least one History.", nameof(runs));
        if (runs.Any(r => r is null))
            throw new ArgumentException("Plots.SaveCurves: runs holds a null History.", nameof(runs));
        if (smoothing < 1)
            throw new ArgumentOutOfRangeException(nameof(smoothing), $"Plots.SaveCurves: smoothing window must be at least 1 step, got {smoothing}.");

        var figure = new Multiplot();
        figure.AddPlots(2);
        figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot loss = figure.GetPlot(0), accuracy = figure.GetPlot(1);
        var palette = new ScottPlot.Palettes.Category10();
        double lastEpoch = 0;
        for (int r = 0; r < runs.Count; r++)
        {
            var run = runs[r];
            var color = palette.GetColor(r);
            var x = StepEpochs(run.Steps);
            int window = smoothing ?? Math.Max(1, run.Steps.Count / 50);
            var epochX = run.Epochs.Select(e => (double)e.Epoch).ToArray();
            bool noData = run.Steps.Count == 0 && run.Epochs.Count == 0;
            lastEpoch = x.Concat(epochX).Append(lastEpoch).Max();

            double? divergedAt = FirstNonFinite(x, run.Steps.Select(s => s.Loss))
                ?? FirstNonFinite(epochX, run.Epochs.Select(e => e.TrainLoss));
            string trainLabel = noData ? $"{run.Name} (no data)"
                : divergedAt is double at ? $"{run.Name} train (NaN/∞ from epoch {at.ToString("0.##", CultureInfo.InvariantCulture)})"
                : $"{run.Name} train";
            AddTrain(loss, run, x, window, s => s.Loss, e => e.TrainLoss, color, trainLabel);
            AddTrain(accuracy, run, x, window, s => s.Accuracy, e => e.TrainAccuracy, color,
                noData ? $"{run.Name} (no data)" : $"{run.Name} train");
            AddSegments(loss, epochX, run.Epochs.Select(e => e.TestLoss).ToArray(), color, $"{run.Name} test", markers: true);
            AddSegments(accuracy, epochX, run.Epochs.Select(e => e.TestAccuracy).ToArray(), color, $"{run.Name} test", markers: true);
        }
        Decorate(loss, $"{title}: loss", "epoch", "loss", Alignment.UpperRight);
        Decorate(accuracy, $"{title}: accuracy", "epoch", "accuracy", Alignment.LowerRight);
        // Both panels span epoch 0 to the last epoch any run reached, even where its values are non-finite.
        if (lastEpoch > 0)
        {
            foreach (var panel in new[] { loss, accuracy })
            {
                panel.Axes.AutoScale();
                panel.Axes.SetLimitsX(-0.03 * lastEpoch, 1.03 * lastEpoch);
            }
        }
        using var image = figure.Render(width, height);
        AtomicFile.WriteAllBytes(pngPath, image.GetImageBytes(ImageFormat.Png));
    }

    /// <summary>
    /// Saves <paramref name="series"/> as lines on one chart of <paramref name="width"/> × <paramref name="height"/>
    /// pixels, each with its own colour; series with a non-empty label appear in the legend. Non-finite
    /// points are left out, breaking the line there.
    /// </summary>
    /// <exception cref="ArgumentException">No series, a series whose X and Y differ in length, or a size outside [100, 16384].</exception>
    public static void SaveLines(string pngPath, string title, string xLabel, string yLabel,
        IReadOnlyList<(string Label, double[] X, double[] Y)> series, int width = 800, int height = 500)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(xLabel);
        ArgumentNullException.ThrowIfNull(yLabel);
        ArgumentNullException.ThrowIfNull(series);
        CheckSize(nameof(SaveLines), width, height);
        if (series.Count == 0)
            throw new ArgumentException("Plots.SaveLines: no series given; pass at least one.", nameof(series));
        for (int i = 0; i < series.Count; i++)
        {
            var (label, x, y) = series[i];
            if (x is null || y is null)
                throw new ArgumentException($"Plots.SaveLines: series {i} ('{label}') has a null X or Y array.", nameof(series));
            if (x.Length != y.Length)
            {
                throw new ArgumentException(
                    $"Plots.SaveLines: series {i} ('{label}') has {x.Length} x values but {y.Length} y values; expected equal lengths.", nameof(series));
            }
        }

        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < series.Count; i++)
            AddSegments(plot, series[i].X, series[i].Y, palette.GetColor(i), series[i].Label ?? "", markers: false);
        Decorate(plot, title, xLabel, yLabel, Alignment.UpperRight);
        AtomicFile.WriteAllBytes(pngPath, plot.GetImageBytes(width, height, ImageFormat.Png));
    }

    static void CheckSize(string op, int width, int height)
    {
        if (width < MinSize || width > MaxSize || height < MinSize || height > MaxSize)
        {
            throw new ArgumentOutOfRangeException(width < MinSize || width > MaxSize ? nameof(width) : nameof(height),
                $"Plots.{op}: image size {width}×{height} px; expected each side in [{MinSize}, {MaxSize}].");
        }
    }

    // The training curve: smoothed per-step values, or per-epoch values when the run kept no steps.
    static void AddTrain(Plot plot, History run, double[] x, int window, Func<StepRecord, double> step,
        Func<EpochRecord, double> epoch, Color color, string label)
    {
        if (run.Steps.Count > 0)
        {
            AddSegments(plot, x, MovingAverage(run.Steps.Select(step).ToArray(), window), color, label, markers: false);
        }
        else if (run.Epochs.Count > 0)
        {
            AddSegments(plot, run.Epochs.Select(e => (double)e.Epoch).ToArray(), run.Epochs.Select(epoch).ToArray(),
                color, label, markers: false);
        }
        else
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, LineColor = color, LineWidth = 2 });
        }
    }

    // Adds the finite runs of (x, y) as separate scatters of one colour, so a NaN or ∞ breaks the line;
    // only the first carries the legend label. A lone finite point gets a dot, so it stays visible. A series
    // whose points are all non-finite still gets its legend entry; an empty one gets none.
    static void AddSegments(Plot plot, double[] x, double[] y, Color color, string label, bool markers)
    {
        if (x.Length == 0)
            return;
        bool labelled = false;
        int start = 0;
        while (start < x.Length)
        {
            while (start < x.Length && !(double.IsFinite(x[start]) && double.IsFinite(y[start])))
                start++;
            int end = start;
            while (end < x.Length && double.IsFinite(x[end]) && double.IsFinite(y[end]))
                end++;
            if (end > start)
            {
                var scatter = plot.Add.Scatter(x[start..end], y[start..end], color);
                scatter.LineWidth = markers ? 1 : 2;
                scatter.LinePattern = markers ? LinePattern.Dashed : LinePattern.Solid;
                scatter.MarkerSize = markers ? 7 : end - start == 1 ? 5 : 0;
                scatter.MarkerShape = MarkerShape.FilledCircle;
                if (!labelled && label.Length > 0)
                {
                    scatter.LegendText = label;
                    labelled = true;
                }
            }
            start = end;
        }
        if (!labelled && label.Length > 0)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, LineColor = color, LineWidth = markers ? 1 : 2 });
    }

    static void Decorate(Plot plot, string title, string xLabel, string yLabel, Alignment legendCorner)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (!plot.GetPlottables().Any())
            plot.Add.Annotation("no data");
        if (plot.Legend.ManualItems.Count > 0 || plot.GetPlottables().Any(p => p.LegendItems.Any(i => !string.IsNullOrEmpty(i.LabelText))))
            plot.ShowLegend(legendCorner);
    }

    /// <summary>The x position of each step, in epochs: step i (1-based) of epoch e sits at e − 1 + i/n.</summary>
    /// <remarks>n is the largest step count of any epoch, so an epoch still in progress covers only the fraction it has run.</remarks>
    internal static double[] StepEpochs(IReadOnlyList<StepRecord> steps)
    {
        var perEpoch = new Dictionary<int, int>();
        foreach (var s in steps)
            perEpoch[s.Epoch] = perEpoch.GetValueOrDefault(s.Epoch) + 1;
        int n = perEpoch.Count == 0 ? 1 : perEpoch.Values.Max();
        var seen = new Dictionary<int, int>();
        var x = new double[steps.Count];
        for (int i = 0; i < steps.Count; i++)
        {
            int within = seen[steps[i].Epoch] = seen.GetValueOrDefault(steps[i].Epoch) + 1;
            x[i] = steps[i].Epoch - 1 + (double)within / n;
        }
        return x;
    }

    /// <summary>
    /// Centred moving average over <paramref name="window"/> values (window/2 either side, shrinking at the ends),
    /// averaging only the finite values in reach; a non-finite input stays non-finite in the output.
    /// </summary>
    /// <remarks>
    /// O(n) without subtracting sums, so a spike of 1e30 cannot wipe out the small values after it (running
    /// prefix sums would): cut the values into blocks of <paramref name="window"/>; a window of at most that
    /// length touches at most two blocks, so its sum is a suffix sum of one block plus a prefix sum of the next.
    /// </remarks>
    internal static double[] MovingAverage(double[] values, int window)
    {
        int n = values.Length;
        var prefix = new double[n]; var prefixCount = new int[n];   // over i's block, from its start to i
        var suffix = new double[n]; var suffixCount = new int[n];   // over i's block, from i to its end
        for (int i = 0; i < n; i++)
        {
            bool blockStart = i % window == 0;
            bool finite = double.IsFinite(values[i]);
            prefix[i] = (blockStart ? 0 : prefix[i - 1]) + (finite ? values[i] : 0);
            prefixCount[i] = (blockStart ? 0 : prefixCount[i - 1]) + (finite ? 1 : 0);
        }
        for (int i = n - 1; i >= 0; i--)
        {
            bool blockEnd = i == n - 1 || (i + 1) % window == 0;
            bool finite = double.IsFinite(values[i]);
            suffix[i] = (blockEnd ? 0 : suffix[i + 1]) + (finite ? values[i] : 0);
            suffixCount[i] = (blockEnd ? 0 : suffixCount[i + 1]) + (finite ? 1 : 0);
        }
        int before = (window - 1) / 2, after = window / 2;
        var smoothed = new double[n];
        for (int i = 0; i < n; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                smoothed[i] = values[i];
                continue;
            }
            int lo = Math.Max(0, i - before), last = Math.Min(n - 1, i + after);   // the window is [lo, last]
            double sum; int count;
            if (lo / window != last / window)
                (sum, count) = (suffix[lo] + prefix[last], suffixCount[lo] + prefixCount[last]);
            else if (lo % window == 0)
                (sum, count) = (prefix[last], prefixCount[last]);      // starts its block (the left edge, or a full window)
            else
                (sum, count) = (suffix[lo], suffixCount[lo]);          // ends its block (only at the right edge, n − 1)
            smoothed[i] = sum / count;
        }
        return smoothed;
    }

    static double? FirstNonFinite(double[] x, IEnumerable<double> values)
    {
        int i = 0;
        foreach (double v in values)
        {
            if (!double.IsFinite(v))
                return x[i];
            i++;
        }
        return null;
    }
}
