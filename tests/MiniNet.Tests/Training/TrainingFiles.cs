// Helpers for the MiniNet.Training tests: a temporary folder removed afterwards, a comma-decimal
// culture to prove files are culture-invariant, and small made-up histories.
using System.Globalization;
using MiniNet.Training;

namespace MiniNet.Tests.Training;

sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mininet-tests-" + Guid.NewGuid().ToString("N"));

    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}

static class TrainingFiles
{
    // A culture whose numbers would break a careless CSV: ',' decimal point, '.' group separator, other NaN and ∞ spellings.
    public static CultureInfo CommaCulture()
    {
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NumberDecimalSeparator = ",";
        culture.NumberFormat.NumberGroupSeparator = ".";
        culture.NumberFormat.NaNSymbol = "n. def.";
        culture.NumberFormat.PositiveInfinitySymbol = "unendlich";
        culture.NumberFormat.NegativeSign = "−";
        return culture;
    }

    public static void WithCulture(CultureInfo culture, Action body)
    {
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = culture;
        try
        {
            body();
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    // A plausible run: `epochs` epochs of `stepsPerEpoch` steps, loss falling from `startLoss`, accuracy rising.
    public static History Run(string name, int epochs, int stepsPerEpoch, double startLoss, int seed)
    {
        var random = new Random(seed);
        var history = new History(name);
        int step = 0;
        for (int e = 1; e <= epochs; e++)
        {
            for (int b = 0; b < stepsPerEpoch; b++)
            {
                step++;
                double t = (double)step / (epochs * stepsPerEpoch);
                double loss = startLoss * Math.Exp(-3 * t) + 0.1 * random.NextDouble();
                double accuracy = Math.Min(1, 0.1 + 0.85 * (1 - Math.Exp(-4 * t)) + 0.05 * random.NextDouble());
                history.Steps.Add(new StepRecord(e, step, loss, accuracy, 0.01));
            }
            double te = (double)e / epochs;
            history.Epochs.Add(new EpochRecord(e, startLoss * Math.Exp(-3 * te), 0.9 * te, startLoss * Math.Exp(-2.5 * te) + 0.05,
                0.85 * te, 1.25 * e, 0.01 / e));
        }
        return history;
    }
}
