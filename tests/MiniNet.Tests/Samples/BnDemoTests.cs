// BnDemo prints the worked example's exact numbers (mean 3, variance 2, x̂, running statistics 0.3
// and 1.15, the gradients of Σ y·w), and every library value agrees with its hand computation.
using MiniNet.Samples;

namespace MiniNet.Tests.Samples;

public class BnDemoTests
{
    static string Output()
    {
        var writer = new StringWriter();
        BnDemo.Run(writer);
        return writer.ToString();
    }

    // The value printed in the "library" column of the line that starts with name (after the indent).
    static double Library(string output, string name)
    {
        var line = output.Split('\n').Single(l => l.TrimStart().StartsWith(name + " ", StringComparison.Ordinal));
        var after = line[(line.IndexOf(" library ", StringComparison.Ordinal) + 9)..].TrimStart();
        return double.Parse(after[..after.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Prints_the_statistics_and_running_estimates()
    {
        var output = Output();
        Assert.Equal(3.0, Library(output, "mean"));
        Assert.Equal(2.0, Library(output, "var"));
        Assert.Equal(2.5, Library(output, "var_unbiased"));
        Assert.Equal(0.3, Library(output, "running_mean"));
        Assert.Equal(1.15, Library(output, "running_var"));
        Assert.Equal(1.0, Library(output, "num_batches_tracked"));
    }

    [Fact]
    public void Prints_the_normalised_values_and_the_gradients()
    {
        var output = Output();
        // x̂ = (x − 3)/√(2 + 1e-5), printed twice (x̂ from tensor ops, y from the layer).
        foreach (var v in new[] { "-1.414210", "-0.707105", "0.000000", "0.707105", "1.414210" })
            Assert.Equal(2, output.Split('\n').Count(l => l.StartsWith("      x = ", StringComparison.Ordinal) && l.Contains($"library {v,11}", StringComparison.Ordinal)));

        // The closed form in float64, for w = [2, -1, 1, 0, 1]: dβ = Σw, dγ = Σw·x̂, dx per example.
        double invStd = 1 / Math.Sqrt(2 + 1e-5);
        double[] x = [1, 2, 3, 4, 5], w = [2, -1, 1, 0, 1];
        double[] xHat = [.. x.Select(v => (v - 3) * invStd)];
        double sumW = w.Sum(), sumWXHat = w.Zip(xHat, (a, b) => a * b).Sum();
        Assert.Equal(3.0, Library(output, "dβ"));
        Assert.Equal(Math.Round(sumWXHat, 6), Library(output, "dγ"));
        var dxLines = output[output.IndexOf("  dx ", StringComparison.Ordinal)..].Split('\n').Skip(1).Take(5).ToArray();
        for (int i = 0; i < 5; i++)
        {
            double expected = invStd / 5 * (5 * w[i] - sumW - xHat[i] * sumWXHat);
            Assert.Contains($"library {expected.ToString("F6", System.Globalization.CultureInfo.InvariantCulture),11}", dxLines[i], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_library_value_matches_the_hand_computation()
    {
        var output = Output();
        Assert.DoesNotContain("MISMATCH", output, StringComparison.Ordinal);
        Assert.Equal(2 + 5 + 5 + 4 + 2 + 5, output.Split('\n').Count(l => l.TrimEnd().EndsWith(" ok", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_text_does_not_depend_on_the_current_culture()
    {
        string invariant = Output();
        var saved = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");   // decimal comma
            Assert.Equal(",", System.Globalization.CultureInfo.CurrentCulture.NumberFormat.NumberDecimalSeparator);
            Assert.Equal(invariant, Output());
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }
}
