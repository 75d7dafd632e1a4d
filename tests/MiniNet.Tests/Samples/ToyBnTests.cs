// ToyBn runs, prints only finite numbers, shows every stage of each step, and its loss goes down.
using System.Globalization;
using MiniNet.Samples;

namespace MiniNet.Tests.Samples;

public class ToyBnTests
{
    static string Output(int steps, long seed = 0)
    {
        var writer = new StringWriter();
        ToyBn.Run(writer, seed, steps);
        return writer.ToString();
    }

    static double[] Losses(string output, string prefix) =>
        [.. output.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf('=') + 1)..], CultureInfo.InvariantCulture))];

    [Theory]
    [InlineData(0L)]
    [InlineData(7L)]
    public void The_loss_decreases_step_by_step(long seed)
    {
        var losses = Losses(Output(5, seed), "loss = ");
        Assert.Equal(5, losses.Length);
        for (int i = 1; i < losses.Length; i++) Assert.True(losses[i] < losses[i - 1], $"loss went from {losses[i - 1]} to {losses[i]} at step {i + 1}");
    }

    [Fact]
    public void Prints_every_stage_with_finite_numbers()
    {
        var output = Output(3);
        foreach (var bad in new[] { "NaN", "Infinity", "∞", "-0.0000" })
            Assert.DoesNotContain(bad, output, StringComparison.Ordinal);
        foreach (var stage in new[] { "BN batch mean", "BN batch var", "z = BatchNorm1d(h)", "y = Linear(5 → 1)(z)", "0.weight.grad [5, 10]:", "1.running_var [5]:", "1.num_batches_tracked []" })
            Assert.Equal(3, output.Split('\n').Count(l => l.TrimStart().StartsWith(stage, StringComparison.Ordinal)));
        Assert.Single(Losses(output, "eval loss = "));
        Assert.Contains("1.num_batches_tracked []: 3.0000", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_text_does_not_depend_on_the_current_culture()
    {
        string invariant = Output(1);
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");   // decimal comma
            Assert.Equal(",", CultureInfo.CurrentCulture.NumberFormat.NumberDecimalSeparator);
            Assert.Equal(invariant, Output(1));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void The_same_seed_prints_the_same_text() => Assert.Equal(Output(2, 3), Output(2, 3));

    [Fact]
    public void Negative_steps_are_rejected() => Assert.Throws<ArgumentOutOfRangeException>(() => ToyBn.Run(new StringWriter(), 0, -1));
}
