// Batch normalisation of the batch {1, 2, 3, 4, 5} worked through by hand: BatchNorm1d(1) in
// training mode (γ = 1, β = 0, eps = 1e-5, momentum 0.1), every intermediate value printed with its
// formula. Each value is computed with the library (tensor ops, the layer, its buffers, autograd)
// and compared with the same formula evaluated by hand in double precision; nothing is hard-coded.
//
// Expected: mean 3, biased variance 2, x̂ = (x − 3)/√(2 + 1e-5), y = x̂; running_mean 0.3,
// running_var 0.9·1 + 0.1·2.5 = 1.15 (the unbiased variance 2.5); then the backward of
// L = Σ y·w through the closed form dx = γ/(N·√(var + eps))·(N·dy − Σdy − x̂·Σ(dy·x̂)).
using System.Globalization;
using MiniNet.Layers;

namespace MiniNet.Samples;

/// <summary>BatchNorm1d on the batch {1, 2, 3, 4, 5}, printed value by value against a hand computation.</summary>
public static class BnDemo
{
    /// <summary>The batch: five examples of one feature.</summary>
    public static readonly IReadOnlyList<float> Inputs = [1, 2, 3, 4, 5];
    /// <summary>The fixed upstream weights w of the loss L = Σ y·w, so that dL/dy = w.</summary>
    public static readonly IReadOnlyList<float> LossWeights = [2, -1, 1, 0, 1];

    const double Eps = 1e-5, Momentum = 0.1;
    // Library and hand values agree to float32 rounding; anything further apart is reported.
    const double Tolerance = 1e-5;

    /// <summary>Prints the forward pass, the running-statistics update and the backward pass with their formulas.</summary>
    /// <param name="output">Receives the text (numbers in the invariant culture).</param>
    public static void Run(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int n = Inputs.Count;
        double[] xs = [.. Inputs.Select(v => (double)v)], w = [.. LossWeights.Select(v => (double)v)];

        var bn = new BatchNorm1d(1, eps: Eps, momentum: Momentum);
        var x = Tensor.FromArray([.. Inputs], n, 1);   // [N, C] = [5, 1]
        x.RequiresGrad = true;
        output.WriteLine($"BatchNorm1d(1) in training mode on the batch x = {List(xs)} (N = {n}); γ = 1, β = 0, eps = {Eps.ToString("0e0", CultureInfo.InvariantCulture)}, momentum = {F(Momentum, "G")}");
        output.WriteLine();

        // Forward: the batch statistics from tensor ops, the normalised values from the layer itself.
        output.WriteLine("Forward");
        var y = bn.Forward(x);   // [5, 1]
        double handMean = xs.Sum() / n;
        double handVar = xs.Sum(v => (v - handMean) * (v - handMean)) / n;
        double handInvStd = 1 / Math.Sqrt(handVar + Eps);
        double[] handXHat = [.. xs.Select(v => (v - handMean) * handInvStd)];
        using (Autograd.NoGrad())
        {
            Compare(output, "mean", "Σx / N", x.Mean([0]).Item(), handMean);
            Compare(output, "var", "Σ(x − mean)² / N   (biased: used to normalise)", x.Var([0], unbiased: false).Item(), handVar);
            Compare(output, "x̂", "(x − mean) / √(var + eps)", (x - x.Mean([0])) / (x.Var([0], unbiased: false) + (float)Eps).Sqrt(), handXHat);
        }
        Compare(output, "y", "γ·x̂ + β   (the layer's output)", y, [.. handXHat.Select(v => 1 * v + 0)]);
        output.WriteLine();

        output.WriteLine("Running statistics (they start at mean 0, variance 1)");
        double handUnbiased = handVar * n / (n - 1);
        using (Autograd.NoGrad())
            Compare(output, "var_unbiased", "Σ(x − mean)² / (N − 1)", x.Var([0], unbiased: true).Item(), handUnbiased);
        Compare(output, "running_mean", "(1 − momentum)·0 + momentum·mean", bn.RunningMean!.Item(), (1 - Momentum) * 0 + Momentum * handMean);
        Compare(output, "running_var", "(1 − momentum)·1 + momentum·var_unbiased", bn.RunningVar!.Item(), (1 - Momentum) * 1 + Momentum * handUnbiased);
        Compare(output, "num_batches_tracked", "batches seen in training mode", bn.NumBatchesTracked!.Item(), 1);
        output.WriteLine();

        // Backward of L = Σ y·w: autograd through the layer's fused kernel against the closed form by hand.
        output.WriteLine($"Backward of L = Σ y·w with w = {List(w)}, so dy = w");
        (y * Tensor.FromArray([.. LossWeights], n, 1)).Sum().Backward();
        double sumDy = w.Sum();
        double sumDyXHat = w.Zip(handXHat, (d, h) => d * h).Sum();
        Compare(output, "dβ", "Σdy", bn.Bias!.Grad!.Item(), sumDy);
        Compare(output, "dγ", "Σdy·x̂", bn.Weight!.Grad!.Item(), sumDyXHat);
        Compare(output, "dx", "γ/(N·√(var + eps)) · (N·dy − Σdy − x̂·Σ(dy·x̂))", x.Grad!,
            [.. w.Select((d, i) => 1 * handInvStd / n * (n * d - sumDy - handXHat[i] * sumDyXHat))]);
    }

    // One scalar: name, formula, the library's value, the hand value, and whether they agree.
    static void Compare(TextWriter output, string name, string formula, double library, double hand) =>
        output.WriteLine($"  {Pad(name, 20)} = {Pad(formula, 50)} library {F(library),11}   by hand {F(hand),11}   {Verdict(Math.Abs(library - hand), hand)}");

    // A column of values: one line per example.
    static void Compare(TextWriter output, string name, string formula, Tensor library, double[] hand)
    {
        var values = library.ToArray();
        output.WriteLine($"  {Pad(name, 20)} = {formula}");
        for (int i = 0; i < values.Length; i++)
            output.WriteLine($"      x = {F(Inputs[i], "G"),-3}{"",63}library {F(values[i]),11}   by hand {F(hand[i]),11}   {Verdict(Math.Abs(values[i] - hand[i]), hand[i])}");
    }

    static string Verdict(double difference, double hand) =>
        difference <= Tolerance * Math.Max(1, Math.Abs(hand)) ? "ok" : $"MISMATCH (|difference| {F(difference, "E2")})";

    // Pads to a display width: combining marks (the hat of x̂) take no column.
    static string Pad(string text, int width) =>
        text + new string(' ', Math.Max(0, width - text.Count(c => CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)));

    static string List(double[] values) => "[" + string.Join(", ", values.Select(v => F(v, "G"))) + "]";

    // Fixed six decimals; values that round to zero print as 0.000000, never -0.000000.
    static string F(double value, string format = "F6") =>
        (format == "F6" && Math.Round(value, 6) == 0 ? 0.0 : value).ToString(format, CultureInfo.InvariantCulture);
}
