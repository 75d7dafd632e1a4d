// The MNIST experiment of the Batch Normalization paper (Ioffe & Szegedy 2015, §4.1, Figure 1):
// a 784-100-100-100-10 network of sigmoid units trained with and without BN, side by side.
//
// Contract
// - Input: MNIST-shaped data already normalised, x [N·784] row-major, labels in [0, 10).
// - Both networks start from the same weights (drawn from one seed, N(0, InitStd²), biases 0) and
//   see the same mini-batches (a shuffled permutation per epoch, from the same seed), so the only
//   difference is BN. With BN each hidden layer is Linear(bias: false) → BatchNorm1d → Sigmoid
//   (β takes the bias's place, §3.2); without, Linear (with bias) → Sigmoid.
// - Plain SGD (no momentum), one learning rate for both, softmax cross-entropy.
// - Every EvalEvery steps and after the last one, in eval mode over the whole test set: test
//   accuracy, and the 15th, 50th and 85th percentiles of the input to the sigmoid of one fixed unit
//   (ProbeUnit) of the last hidden layer; for BN that input is the BN output γ·x̂ + β.
// - Writes paper-fig1.csv, paper-fig1a.png (accuracy), paper-fig1b.png and paper-fig1c.png (the
//   percentiles without and with BN, one y range for both) into OutputDirectory; each file is
//   written under a temporary name and renamed when complete.
// - Bad input or options throw before any training; a non-finite loss stops the run with an error.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MiniNet.Layers;
using MiniNet.Optim;

namespace MiniNet.Samples;

/// <summary>Options of <see cref="PaperFig1.Run"/>; the defaults are the paper's setup.</summary>
/// <param name="Steps">Training steps (mini-batches) for each network; the paper runs 50,000.</param>
/// <param name="BatchSize">Examples per mini-batch (the paper: 60).</param>
/// <param name="LearningRate">Plain SGD step size, the same for both networks.</param>
/// <param name="EvalEvery">Evaluate on the test set every this many steps (and after the last step).</param>
/// <param name="Seed">Seeds the initial weights (shared by both networks) and the mini-batch order.</param>
/// <param name="OutputDirectory">Folder for the CSV and the three PNGs (created if missing).</param>
public sealed record PaperFig1Options(int Steps = 50000, int BatchSize = 60, double LearningRate = 0.5, int EvalEvery = 500, long Seed = 0, string OutputDirectory = "out/paper-fig1", Device? Device = null);

/// <summary>What <see cref="PaperFig1.Run"/> measured, one entry per evaluation.</summary>
/// <param name="EvalSteps">The step after which each evaluation was taken.</param>
/// <param name="AccuracyPlain">Test accuracy (fraction in [0, 1]) of the network without BN.</param>
/// <param name="AccuracyBn">Test accuracy (fraction in [0, 1]) of the network with BN.</param>
/// <param name="PercentilesPlain">[eval][3]: the 15th, 50th and 85th percentiles of the probed sigmoid's input, without BN.</param>
/// <param name="PercentilesBn">[eval][3]: the same with BN (the BN output that enters the sigmoid).</param>
/// <param name="Files">Full paths of the files written: the CSV, then figures a, b and c.</param>
public sealed record PaperFig1Result(int[] EvalSteps, double[] AccuracyPlain, double[] AccuracyBn, double[][] PercentilesPlain, double[][] PercentilesBn, string[] Files);

/// <summary>Figure 1 of the Batch Normalization paper: MNIST, three sigmoid layers, with and without BN.</summary>
public static class PaperFig1
{
    /// <summary>Input features (28·28 pixels).</summary>
    public const int Features = 784;
    /// <summary>Units in each of the three hidden layers.</summary>
    public const int Hidden = 100;
    /// <summary>Output classes.</summary>
    public const int Classes = 10;
    /// <summary>The unit of the last hidden layer whose sigmoid input is tracked.</summary>
    public const int ProbeUnit = 0;
    /// <summary>Standard deviation of the Gaussian initial weights ("small random Gaussian values", §4.1); biases start at 0.</summary>
    public const double InitStd = 0.01;

    static readonly double[] Percentiles = [15, 50, 85];
    const int EvalChunk = 1000;

    /// <summary>Trains both networks and writes the figure's CSV and PNGs.</summary>
    /// <param name="trainX">Training images [N·784], row-major, already normalised.</param>
    /// <param name="trainY">Training labels [N] in [0, 10).</param>
    /// <param name="testX">Test images [M·784], normalised like the training ones.</param>
    /// <param name="testY">Test labels [M] in [0, 10).</param>
    /// <param name="options">Steps, batch size, learning rate, evaluation period, seed, output folder.</param>
    /// <param name="log">Receives the setup and one progress line per evaluation.</param>
    /// <exception cref="ArgumentException">Mismatched sizes, labels out of range, non-finite pixels, or invalid options.</exception>
    /// <exception cref="InvalidOperationException">A network's loss became non-finite.</exception>
    public static PaperFig1Result Run(float[] trainX, int[] trainY, float[] testX, int[] testY, PaperFig1Options options, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        CheckData("train", trainX, trainY);
        CheckData("test", testX, testY);
        CheckOptions(options, trainY.Length);

        var plain = new SigmoidMlp(batchNorm: false, new Generator(options.Seed));
        var bn = new SigmoidMlp(batchNorm: true, new Generator(options.Seed));
        var nets = new[] { plain, bn };
        var device = options.Device ?? Device.Cpu;
        foreach (var net in nets) net.To(device);
        var optimizers = nets.Select(n => new SGD(n.Parameters(), options.LearningRate)).ToArray();
        var order = new BatchOrder(trainY.Length, new Generator(options.Seed + 1));

        log.WriteLine(Invariant($"PaperFig1: {Features}-{Hidden}-{Hidden}-{Hidden}-{Classes} sigmoid network, softmax cross-entropy; weights N(0, {InitStd}²), biases 0"));
        log.WriteLine(Invariant($"  with BN: Linear(bias: false) → BatchNorm1d({Hidden}) → Sigmoid per hidden layer; without: Linear → Sigmoid"));
        log.WriteLine(Invariant($"  plain SGD lr {options.LearningRate}, batch {options.BatchSize}, {options.Steps} steps, seed {options.Seed}, on {device.Name}; {trainY.Length} train / {testY.Length} test images; probe: unit {ProbeUnit} of hidden layer 3"));

        int evals = (options.Steps + options.EvalEvery - 1) / options.EvalEvery;
        var evalSteps = new int[evals];
        var accuracy = new[] { new double[evals], new double[evals] };
        var percentiles = new[] { new double[evals][], new double[evals][] };
        var lossSums = new double[2];
        var xb = new float[options.BatchSize * Features];   // [B, 784]
        var yb = new int[options.BatchSize];
        var clock = Stopwatch.StartNew();
        int e = 0, sinceEval = 0;
        for (int step = 1; step <= options.Steps; step++)
        {
            order.NextBatch(trainX, trainY, xb, yb);
            var batch = Tensor.FromArray(xb, options.BatchSize, Features).To(device);
            for (int k = 0; k < nets.Length; k++)
            {
                optimizers[k].ZeroGrad();
                var loss = Functional.CrossEntropy(nets[k].Forward(batch), yb);
                loss.Backward();
                optimizers[k].Step();
                float value = loss.Item();
                if (!float.IsFinite(value))
                    throw new InvalidOperationException(Invariant($"PaperFig1: the loss of the network {Label(k)} became {value} at step {step} (learning rate {options.LearningRate}); try a smaller one."));
                lossSums[k] += value;
            }
            sinceEval++;
            if (step % options.EvalEvery != 0 && step != options.Steps) continue;

            evalSteps[e] = step;
            for (int k = 0; k < nets.Length; k++)
                (accuracy[k][e], percentiles[k][e]) = Evaluate(nets[k], testX, testY);
            log.WriteLine(Invariant(
                $"step {step,6}/{options.Steps}: train loss {lossSums[0] / sinceEval:F4} / {lossSums[1] / sinceEval:F4}, test accuracy {100 * accuracy[0][e],6:F2}% / {100 * accuracy[1][e],6:F2}% (without / with BN), {clock.Elapsed.TotalSeconds:F1} s"));
            lossSums[0] = lossSums[1] = 0;
            sinceEval = 0;
            e++;
        }

        Directory.CreateDirectory(options.OutputDirectory);
        string dir = Path.GetFullPath(options.OutputDirectory);
        var result = new PaperFig1Result(evalSteps, accuracy[0], accuracy[1], percentiles[0], percentiles[1],
            [Path.Combine(dir, "paper-fig1.csv"), Path.Combine(dir, "paper-fig1a.png"), Path.Combine(dir, "paper-fig1b.png"), Path.Combine(dir, "paper-fig1c.png")]);
        WriteCsv(result, result.Files[0]);
        Figures.Save(result);
        log.WriteLine(Invariant($"wrote {string.Join(", ", result.Files.Select(Path.GetFileName))} to {dir} ({clock.Elapsed.TotalSeconds:F1} s in all)"));
        return result;
    }

    static string Label(int k) => k == 0 ? "without BN" : "with BN";

    // Test accuracy and the probe unit's sigmoid-input percentiles, in eval mode, without a graph.
    static (double Accuracy, double[] Percentiles) Evaluate(SigmoidMlp net, float[] testX, int[] testY)
    {
        int count = testY.Length, correct = 0;
        var probe = new double[count];
        net.Eval();
        using (Autograd.NoGrad())
        {
            for (int start = 0; start < count; start += EvalChunk)
            {
                int rows = Math.Min(EvalChunk, count - start);
                var x = Tensor.FromArray(testX[(start * Features)..((start + rows) * Features)], rows, Features).To(net.Device);
                var predicted = net.Forward(x, out var preActivation).ArgMax();
                var pre = preActivation.ToArray();   // [rows, 100]
                for (int i = 0; i < rows; i++)
                {
                    correct += predicted[i] == testY[start + i] ? 1 : 0;
                    probe[start + i] = pre[i * Hidden + ProbeUnit];
                }
            }
        }
        net.Train();
        Array.Sort(probe);
        return ((double)correct / count, [.. Percentiles.Select(p => Percentile(probe, p))]);
    }

    // The p-th percentile of sorted values with linear interpolation between closest ranks (numpy's default).
    static double Percentile(double[] sorted, double p)
    {
        double position = p / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    static void WriteCsv(PaperFig1Result r, string path)
    {
        var csv = new StringBuilder("step,acc_plain,acc_bn,p15_plain,p50_plain,p85_plain,p15_bn,p50_bn,p85_bn\n");
        for (int i = 0; i < r.EvalSteps.Length; i++)
        {
            csv.Append(Invariant($"{r.EvalSteps[i]},{r.AccuracyPlain[i]:F4},{r.AccuracyBn[i]:F4}"));
            foreach (var v in r.PercentilesPlain[i].Concat(r.PercentilesBn[i])) csv.Append(Invariant($",{v:F6}"));
            csv.Append('\n');
        }
        string temp = path + ".tmp";
        File.WriteAllText(temp, csv.ToString());
        File.Move(temp, path, overwrite: true);
    }

    static void CheckData(string name, float[] x, int[] y)
    {
        ArgumentNullException.ThrowIfNull(x, $"{name}X");
        ArgumentNullException.ThrowIfNull(y, $"{name}Y");
        if (y.Length == 0)
            throw new ArgumentException($"PaperFig1: the {name} set is empty.", $"{name}Y");
        if ((long)y.Length * Features != x.Length)
            throw new ArgumentException($"PaperFig1: {name} images hold {x.Length} floats but {y.Length} labels need {(long)y.Length * Features} ({Features} per image).", $"{name}X");
        int badLabel = Array.FindIndex(y, label => label < 0 || label >= Classes);
        if (badLabel >= 0)
            throw new ArgumentException($"PaperFig1: {name} label {badLabel} is {y[badLabel]}, expected a class in [0, {Classes}).", $"{name}Y");
        int badPixel = Array.FindIndex(x, v => !float.IsFinite(v));
        if (badPixel >= 0)
            throw new ArgumentException(Invariant($"PaperFig1: {name} image {badPixel / Features}, feature {badPixel % Features} is {x[badPixel]}, expected a finite value."), $"{name}X");
    }

    static void CheckOptions(PaperFig1Options o, int trainCount)
    {
        if (o.Steps < 1)
            throw new ArgumentException($"PaperFig1: Steps must be ≥ 1, got {o.Steps}.", nameof(o));
        if (o.BatchSize < 2 || o.BatchSize > trainCount)
            throw new ArgumentException($"PaperFig1: BatchSize must be in [2, {trainCount}] (BN needs two examples; the training set has {trainCount}), got {o.BatchSize}.", nameof(o));
        if (!(o.LearningRate > 0) || !double.IsFinite(o.LearningRate))
            throw new ArgumentException(Invariant($"PaperFig1: LearningRate must be positive and finite, got {o.LearningRate}."), nameof(o));
        if (o.EvalEvery < 1)
            throw new ArgumentException($"PaperFig1: EvalEvery must be ≥ 1, got {o.EvalEvery}.", nameof(o));
        if (string.IsNullOrWhiteSpace(o.OutputDirectory))
            throw new ArgumentException("PaperFig1: OutputDirectory must name a folder.", nameof(o));
    }

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    // The network, built from its parts so that Forward can hand back the last sigmoid's input.
    sealed class SigmoidMlp : Module
    {
        readonly Linear[] _linears;
        readonly BatchNorm1d?[] _norms;
        readonly Linear _output;

        public SigmoidMlp(bool batchNorm, Generator generator)
        {
            _linears = new Linear[3];
            _norms = new BatchNorm1d?[3];
            for (int i = 0; i < 3; i++)
            {
                string index = (i + 1).ToString(CultureInfo.InvariantCulture);
                _linears[i] = RegisterModule("fc" + index, Gaussian(new Linear(i == 0 ? Features : Hidden, Hidden, bias: !batchNorm), generator));
                if (batchNorm) _norms[i] = RegisterModule("bn" + index, new BatchNorm1d(Hidden));
            }
            _output = RegisterModule("out", Gaussian(new Linear(Hidden, Classes), generator));
        }

        static Linear Gaussian(Linear layer, Generator generator)
        {
            Init.Normal(layer.Weight, 0, InitStd, generator);
            if (layer.Bias is not null) Init.Constant(layer.Bias, 0f);
            return layer;
        }

        public override Tensor Forward(Tensor x) => Forward(x, out _);

        // Logits [B, 10]; lastPreActivation [B, 100] is the input of the last hidden layer's sigmoid.
        public Tensor Forward(Tensor x, out Tensor lastPreActivation)
        {
            lastPreActivation = x;
            for (int i = 0; i < _linears.Length; i++)
            {
                var z = _linears[i].Forward(x);
                lastPreActivation = _norms[i]?.Forward(z) ?? z;
                x = lastPreActivation.Sigmoid();
            }
            return _output.Forward(x);
        }
    }

    // Mini-batches drawn in the order of a permutation that is reshuffled at the start of each epoch;
    // an epoch's last partial batch is dropped.
    sealed class BatchOrder(int count, Generator generator)
    {
        readonly int[] _order = [.. Enumerable.Range(0, count)];
        int _next = count;

        public void NextBatch(float[] x, int[] y, float[] xb, int[] yb)
        {
            if (_next + yb.Length > _order.Length)
            {
                for (int i = _order.Length - 1; i > 0; i--)
                {
                    int j = generator.NextInt(i + 1);
                    (_order[i], _order[j]) = (_order[j], _order[i]);
                }
                _next = 0;
            }
            for (int b = 0; b < yb.Length; b++)
            {
                int index = _order[_next++];
                Array.Copy(x, index * Features, xb, b * Features, Features);
                yb[b] = y[index];
            }
        }
    }

    // The three charts, as in the paper: accuracy of both networks, then the percentiles of each on one y range.
    static class Figures
    {
        const int Width = 640, Height = 480;

        public static void Save(PaperFig1Result r)
        {
            double[] steps = [.. r.EvalSteps.Select(s => (double)s)];

            var accuracy = new ScottPlot.Plot();
            AddLine(accuracy, steps, r.AccuracyPlain, "Without BN", ScottPlot.Colors.Black, ScottPlot.LinePattern.Dashed);
            AddLine(accuracy, steps, r.AccuracyBn, "With BN", ScottPlot.Colors.Blue, ScottPlot.LinePattern.Solid);
            accuracy.Title("(a) Test accuracy");
            accuracy.XLabel("training steps");
            accuracy.YLabel("test accuracy");
            accuracy.ShowLegend(ScottPlot.Alignment.LowerRight);
            SavePng(accuracy, r.Files[1]);

            var all = r.PercentilesPlain.Concat(r.PercentilesBn).SelectMany(p => p).ToArray();
            double low = all.Min(), high = all.Max(), pad = Math.Max(0.05 * (high - low), 1e-3);
            SavePng(PercentilePlot(steps, r.PercentilesPlain, "(b) Without BN", low - pad, high + pad), r.Files[2]);
            SavePng(PercentilePlot(steps, r.PercentilesBn, "(c) With BN", low - pad, high + pad), r.Files[3]);
        }

        static ScottPlot.Plot PercentilePlot(double[] steps, double[][] percentiles, string title, double low, double high)
        {
            var plot = new ScottPlot.Plot();
            var colors = new[] { ScottPlot.Colors.Red, ScottPlot.Colors.Black, ScottPlot.Colors.Red };
            var patterns = new[] { ScottPlot.LinePattern.Dashed, ScottPlot.LinePattern.Solid, ScottPlot.LinePattern.Dashed };
            // Highest first, so the legend reads top to bottom like the lines.
            for (int j = Percentiles.Length - 1; j >= 0; j--)
                AddLine(plot, steps, [.. percentiles.Select(p => p[j])], Invariant($"{Percentiles[j]}th percentile"), colors[j], patterns[j]);
            plot.Title(title);
            plot.XLabel("training steps");
            plot.YLabel(Invariant($"input to the sigmoid of unit {ProbeUnit}, hidden layer 3"));
            plot.Axes.SetLimitsY(low, high);
            plot.ShowLegend(ScottPlot.Edge.Bottom);
            return plot;
        }

        static void AddLine(ScottPlot.Plot plot, double[] xs, double[] ys, string label, ScottPlot.Color color, ScottPlot.LinePattern pattern)
        {
            var line = plot.Add.ScatterLine(xs, ys, color);
            line.LegendText = label;
            line.LineWidth = 2;
            line.LinePattern = pattern;
        }

        static void SavePng(ScottPlot.Plot plot, string path)
        {
            string temp = path + ".tmp";
            plot.SavePng(temp, Width, Height);
            File.Move(temp, path, overwrite: true);
        }
    }
}
