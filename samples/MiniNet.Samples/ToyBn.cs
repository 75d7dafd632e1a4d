// The documents' smallest example, printed step by step: Linear(10 → 5) → BatchNorm1d(5) →
// Linear(5 → 1) on a random 10×10 input with a random target, MSE loss, SGD (lr 0.1).
//
// Contract: for each training step it prints the input, each layer's output, the batch mean and
// (biased) variance BN normalises with, the loss, every parameter's gradient, the parameters after
// the SGD step and the running statistics after it; then the output in eval mode, which uses the
// running statistics. Everything is drawn from one seed, so the text is reproducible; numbers are
// printed in the invariant culture, aligned in columns. A "loss = " line starts each training step.
using System.Globalization;
using MiniNet.Layers;
using MiniNet.Optim;

namespace MiniNet.Samples;

/// <summary>A three-layer toy network with batch normalisation, trained a few SGD steps with every value printed.</summary>
public static class ToyBn
{
    /// <summary>Examples in the batch.</summary>
    public const int BatchSize = 10;
    /// <summary>Input features.</summary>
    public const int InFeatures = 10;
    /// <summary>Hidden units (the BN channels).</summary>
    public const int HiddenFeatures = 5;
    /// <summary>The SGD learning rate.</summary>
    public const double LearningRate = 0.1;

    /// <summary>Builds the network and data from <paramref name="seed"/>, trains <paramref name="steps"/> steps and prints each.</summary>
    /// <param name="output">Receives the text.</param>
    /// <param name="seed">Seeds the initial weights, the input and the target.</param>
    /// <param name="steps">Training steps (0 prints only the eval-mode output of the initial network).</param>
    public static void Run(TextWriter output, long seed = 0, int steps = 3)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var g = new Generator(seed);
        var linear1 = new Linear(InFeatures, HiddenFeatures, generator: g);
        var bn = new BatchNorm1d(HiddenFeatures);
        var linear2 = new Linear(HiddenFeatures, 1, generator: g);
        var model = new Sequential(linear1, bn, linear2);
        var x = Tensor.Randn(g, BatchSize, InFeatures);   // [10, 10]
        var target = Tensor.Randn(g, BatchSize, 1);       // [10, 1]
        var lossFn = new MSELoss();
        var optimizer = new SGD(model.Parameters(), LearningRate);

        output.WriteLine($"ToyBn: {model.ToString().Replace("\n", "\n       ", StringComparison.Ordinal)}");
        output.WriteLine($"MSE loss, SGD lr {LearningRate.ToString(CultureInfo.InvariantCulture)}, seed {seed.ToString(CultureInfo.InvariantCulture)}, {steps.ToString(CultureInfo.InvariantCulture)} steps");
        Print(output, "input x", x);
        Print(output, "target t", target);
        output.WriteLine("initial parameters:");
        foreach (var (name, p) in model.NamedParameters()) Print(output, name, p, "  ");

        for (int step = 1; step <= steps; step++)
        {
            output.WriteLine();
            output.WriteLine($"===== step {step.ToString(CultureInfo.InvariantCulture)} (training mode: BN uses the batch statistics) =====");
            optimizer.ZeroGrad();
            var h = linear1.Forward(x);
            Print(output, "h = Linear(10 → 5)(x)", h);
            using (Autograd.NoGrad())
            {
                Print(output, "BN batch mean = Σh/N", h.Mean([0]));
                Print(output, "BN batch var = Σ(h − mean)²/N (biased, used to normalise)", h.Var([0], unbiased: false));
            }
            var z = bn.Forward(h);
            Print(output, "z = BatchNorm1d(h) = γ·(h − mean)/√(var + eps) + β", z);
            var y = linear2.Forward(z);
            Print(output, "y = Linear(5 → 1)(z)", y);
            var loss = lossFn.Forward(y, target);
            output.WriteLine($"loss = mean((y − t)²) = {F(loss.Item(), "F6")}");
            loss.Backward();
            output.WriteLine("gradients after loss.Backward():");
            foreach (var (name, p) in model.NamedParameters()) Print(output, name + ".grad", p.Grad!, "  ");
            if (step == 1) output.WriteLine("  (0.bias.grad is 0: BN subtracts the batch mean, so a bias just before it has no effect; β takes its role)");
            optimizer.Step();
            output.WriteLine($"parameters after the SGD step p ← p − {LearningRate.ToString(CultureInfo.InvariantCulture)}·p.grad:");
            foreach (var (name, p) in model.NamedParameters()) Print(output, name, p, "  ");
            output.WriteLine("running statistics after the step (momentum 0.1; the variance is the unbiased one):");
            foreach (var (name, b) in model.NamedBuffers()) Print(output, name, b, "  ");
        }

        output.WriteLine();
        output.WriteLine("===== eval mode: BN uses the running statistics =====");
        model.Eval();
        using (Autograd.NoGrad())
        {
            var y = model.Forward(x);
            Print(output, "y = model(x)", y);
            output.WriteLine($"eval loss = mean((y − t)²) = {F(lossFn.Forward(y, target).Item(), "F6")}");
        }
    }

    // A tensor under its name and shape: a 0-d one on the same line; else one line per row (a
    // vector is one row), so that the numbers of every tensor fall in the same columns.
    static void Print(TextWriter output, string name, Tensor t, string indent = "")
    {
        var values = t.ToArray();
        string shape = "[" + string.Join(", ", t.Shape) + "]";
        if (t.Rank == 0)
        {
            output.WriteLine($"{indent}{name} {shape}: {F(values[0])}");
            return;
        }
        output.WriteLine($"{indent}{name} {shape}:");
        int columns = t.Size(-1);
        for (int start = 0; start < values.Length; start += columns) output.WriteLine($"{indent}  {Row(values, start, columns)}");
    }

    static string Row(float[] values, int start, int count) =>
        string.Concat(values.Skip(start).Take(count).Select(v => F(v).PadLeft(10)));

    // Values that round to zero print as 0.0000, never -0.0000.
    static string F(double value, string format = "F4")
    {
        string text = value.ToString(format, CultureInfo.InvariantCulture);
        return text.TrimStart('-').All(c => c is '0' or '.') ? text.TrimStart('-') : text;
    }
}
