// ConsoleReporter on a Spectre TestConsole: with output redirected, one Keras-style summary line per epoch
// (culture-invariant, never wrapped) plus quarter-epoch lines only in long epochs; with an interactive
// ANSI console, the live bar runs and the summary lines still come out. SilentReporter records calls.
using MiniNet.Training;
using Spectre.Console.Testing;

namespace MiniNet.Tests.Training;

public class ReporterTests
{
    static readonly EpochRecord[] Records =
    [
        new(1, 0.5, 0.25, 0.75, 0.125, 1.25, 0.01),
        new(2, 0.123456, 0.9, double.NaN, 0.875, 12.36, 1e-5),
    ];

    static readonly string[] Summaries =
    [
        "Epoch 1/2 - 1.3s - loss: 0.5000 - accuracy: 0.2500 - test_loss: 0.7500 - test_accuracy: 0.1250 - lr: 0.01",
        "Epoch 2/2 - 12.4s - loss: 0.1235 - accuracy: 0.9000 - test_loss: NaN - test_accuracy: 0.8750 - lr: 1E-05",
    ];

    // Two epochs of `batches` batches and 3 evaluation batches, as Trainer.Fit drives a reporter.
    static void Fit(ITrainingReporter reporter, int batches, Action<int>? beforeStep = null)
    {
        reporter.Run(() =>
        {
            foreach (var record in Records)
            {
                reporter.BeginEpoch(record.Epoch, Records.Length, batches);
                for (int b = 1; b <= batches; b++)
                {
                    beforeStep?.Invoke(b);
                    reporter.Step(b, 1.0 / b, 0.5);
                }
                reporter.BeginEvaluation(3);
                for (int b = 1; b <= 3; b++)
                    reporter.EvaluationStep(b);
                reporter.EndEpoch(record);
            }
            reporter.Message("saved [checkpoint] to runs/a");
        });
    }

    static string[] Lines(TestConsole console) =>
        console.Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();

    [Fact]
    public void Redirected_output_gets_one_summary_line_per_epoch_and_no_bar()
    {
        using var console = new TestConsole();
        var reporter = new ConsoleReporter(console);
        Assert.False(reporter.IsInteractive);
        TrainingFiles.WithCulture(TrainingFiles.CommaCulture(), () => Fit(reporter, batches: 40));
        Assert.Equal([.. Summaries, "saved [checkpoint] to runs/a"], Lines(console));
    }

    [Fact]
    public void A_long_epoch_adds_a_line_at_a_quarter_mark_once_10_seconds_have_passed()
    {
        using var console = new TestConsole();
        var now = TimeSpan.Zero;
        var reporter = new ConsoleReporter(console, () => now);
        // Epoch 1: 11 s pass before batch 10 (25%) and before batch 30 (75%), none before batch 20 (50%).
        // Epoch 2: time stands still, so no progress line.
        int steps = 0;
        Fit(reporter, batches: 40, beforeStep: _ =>
        {
            if (++steps is 10 or 30)
                now += TimeSpan.FromSeconds(11);
        });
        Assert.Equal(
        [
            "Epoch 1/2 - 25% (10/40) - loss: 0.1000 - accuracy: 0.5000",
            "Epoch 1/2 - 75% (30/40) - loss: 0.0333 - accuracy: 0.5000",
            Summaries[0],
            Summaries[1],
            "saved [checkpoint] to runs/a",
        ], Lines(console));
    }

    [Fact]
    public void Interactive_console_runs_the_bar_and_still_prints_the_summaries()
    {
        using var console = new TestConsole().Interactive().SupportsAnsi(true).Width(200).EmitAnsiSequences();
        var reporter = new ConsoleReporter(console);
        Assert.True(reporter.IsInteractive);
        Fit(reporter, batches: 5);
        string output = console.Output;
        foreach (string summary in Summaries)
            Assert.Contains(summary, output, StringComparison.Ordinal);
        Assert.Contains("saved [checkpoint] to runs/a", output, StringComparison.Ordinal);
        Assert.Contains("\u001b[?25l", output, StringComparison.Ordinal);   // the live display hid the cursor
        Assert.Contains("Epoch 2/2  testing", output, StringComparison.Ordinal);   // and drew the evaluation bar
    }

    [Fact]
    public void Steps_outside_an_epoch_and_an_empty_epoch_are_harmless()
    {
        using var console = new TestConsole();
        var reporter = new ConsoleReporter(console);
        reporter.Step(1, 0.5, 0.5);
        reporter.EvaluationStep(1);
        reporter.BeginEpoch(1, 1, 0);
        reporter.Step(1, 0.5, 0.5);
        reporter.EndEpoch(Records[0]);
        Assert.Equal(["Epoch 1/1 - 1.3s - loss: 0.5000 - accuracy: 0.2500 - test_loss: 0.7500 - test_accuracy: 0.1250 - lr: 0.01"], Lines(console));
    }

    [Fact]
    public void Run_cannot_nest_rethrows_the_fits_exception_and_can_run_again()
    {
        using var console = new TestConsole();
        var reporter = new ConsoleReporter(console);
        var nested = Assert.Throws<InvalidOperationException>(() => reporter.Run(() => reporter.Run(() => { })));
        Assert.Contains("cannot nest", nested.Message, StringComparison.Ordinal);
        Assert.Throws<DivideByZeroException>(() => reporter.Run(() => throw new DivideByZeroException()));
        bool ran = false;
        reporter.Run(() => ran = true);
        Assert.True(ran);
    }

    [Fact]
    public void BeginEpoch_names_impossible_epochs()
    {
        var reporter = new ConsoleReporter(new TestConsole());
        Assert.Contains("epoch 0 of 3", Assert.Throws<ArgumentOutOfRangeException>(() => reporter.BeginEpoch(0, 3, 10)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => reporter.BeginEpoch(4, 3, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => reporter.BeginEpoch(1, 3, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => reporter.BeginEvaluation(-1));
    }

    [Fact]
    public void SilentReporter_records_the_calls_in_order()
    {
        var reporter = new SilentReporter();
        Fit(reporter, batches: 4);
        Assert.Equal(
        [
            "Run",
            "BeginEpoch 1/2 batches=4", "BeginEvaluation batches=3", "EndEpoch 1",
            "BeginEpoch 2/2 batches=4", "BeginEvaluation batches=3", "EndEpoch 2",
            "Message saved [checkpoint] to runs/a",
        ], reporter.Calls);
        Assert.Equal(8, reporter.StepCount);
        Assert.Equal(6, reporter.EvaluationStepCount);
        Assert.Equal((4, 0.25, 0.5), reporter.LastStep);
        Assert.Equal(Records, reporter.Epochs);
        Assert.Equal(["saved [checkpoint] to runs/a"], reporter.Messages);
    }
}
