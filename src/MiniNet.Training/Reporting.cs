// Live progress of a fit. The trainer calls, in order:
//   Run(body) { for each epoch: BeginEpoch, Step × batches, [BeginEvaluation, EvaluationStep × batches], EndEpoch }
// with Message anywhere. ConsoleReporter draws a Spectre.Console progress bar (loss and accuracy in its
// description) when the console is interactive and takes ANSI; otherwise (output redirected: CI, pipes,
// tests) it draws no bar and prints plain lines: the Keras-style summary line per epoch and, in an epoch
// that runs long, a progress line at 25/50/75% once 10 s have passed since the epoch began or the last
// line. Step runs every batch, so it costs a few integer operations; the bar's description is rebuilt at
// most every 100 ms. Numbers print in the invariant culture, as in the CSV files. SilentReporter prints
// nothing and records the calls, for tests.
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace MiniNet.Training;

/// <summary>Receives a fit's progress: epochs, batches, evaluation and per-epoch summaries.</summary>
public interface ITrainingReporter
{
    /// <summary>Runs a whole fit, <paramref name="body"/>, inside the live display (if any); the other calls happen inside it.</summary>
    void Run(Action body);

    /// <summary>Epoch <paramref name="epoch"/> of <paramref name="epochs"/> (1-based) starts; it has <paramref name="batches"/> training batches.</summary>
    void BeginEpoch(int epoch, int epochs, int batches);

    /// <summary>Training batch <paramref name="batch"/> (1-based) of the epoch is done; the running loss and accuracy (a fraction) so far. Called every batch, so cheap.</summary>
    void Step(int batch, double runningLoss, double runningAccuracy);

    /// <summary>Evaluation on the test set starts, over <paramref name="batches"/> batches.</summary>
    void BeginEvaluation(int batches);

    /// <summary>Evaluation batch <paramref name="batch"/> (1-based) is done.</summary>
    void EvaluationStep(int batch);

    /// <summary>The epoch is over: prints or keeps its summary.</summary>
    void EndEpoch(EpochRecord record);

    /// <summary>A line of text for the user (checkpoint saved, early stop, ...).</summary>
    void Message(string text);
}

/// <summary>
/// Reports to a console: a Spectre.Console progress bar when the console is interactive, plain summary lines
/// when output is redirected. Each epoch ends with a Keras-style line:
/// <c>Epoch 3/10 - 12.3s - loss: 0.2345 - accuracy: 0.9312 - test_loss: 0.2500 - test_accuracy: 0.9250 - lr: 0.01</c>.
/// </summary>
public sealed class ConsoleReporter : ITrainingReporter
{
    static readonly TimeSpan QuietLineInterval = TimeSpan.FromSeconds(10);
    static readonly long RedrawTicks = Stopwatch.Frequency / 10;   // 100 ms

    readonly IAnsiConsole _console;
    readonly Func<TimeSpan> _clock;
    ProgressContext? _progress;                // set inside Run when the bar is drawn
    ProgressTask? _task;                       // the current epoch's or evaluation's bar
    bool _running;
    int _epoch, _epochs, _batches, _quarter;   // _quarter: last 25% mark passed in this epoch
    long _lastRedraw;
    TimeSpan _lastLine;

    /// <summary>Reports to <paramref name="console"/> (default: <see cref="AnsiConsole.Console"/>).</summary>
    public ConsoleReporter(IAnsiConsole? console = null) : this(console, null) { }

    // `clock` (elapsed time) is for tests of the redirected-output progress lines.
    internal ConsoleReporter(IAnsiConsole? console, Func<TimeSpan>? clock)
    {
        _console = console ?? AnsiConsole.Console;
        if (clock is null)
        {
            var watch = Stopwatch.StartNew();
            clock = () => watch.Elapsed;
        }
        _clock = clock;
    }

    /// <summary>Whether a live progress bar is drawn: the console is interactive and takes ANSI sequences.</summary>
    public bool IsInteractive => _console.Profile.Capabilities.Interactive && _console.Profile.Capabilities.Ansi;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">A Run is already in progress on this reporter.</exception>
    public void Run(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (_running)
            throw new InvalidOperationException("ConsoleReporter.Run: a fit is already running on this reporter; Run calls cannot nest.");
        _running = true;
        try
        {
            if (!IsInteractive)
            {
                body();
                return;
            }
            _console.Progress()
                .AutoClear(true)
                .HideCompleted(true)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    _progress = context;
                    body();
                });
        }
        finally
        {
            _running = false;
            _progress = null;
            _task = null;
        }
    }

    /// <inheritdoc/>
    public void BeginEpoch(int epoch, int epochs, int batches)
    {
        if (epochs < 1 || epoch < 1 || epoch > epochs)
            throw new ArgumentOutOfRangeException(nameof(epoch), $"ConsoleReporter.BeginEpoch: epoch {epoch} of {epochs}; expected 1 ≤ epoch ≤ epochs.");
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        (_epoch, _epochs, _batches, _quarter) = (epoch, epochs, batches, 0);
        _lastLine = _clock();
        StartTask(EpochLabel(), batches);
    }

    /// <inheritdoc/>
    public void Step(int batch, double runningLoss, double runningAccuracy)
    {
        if (_progress is not null)
        {
            if (_task is null)
                return;
            _task.Value = batch;
            long now = Stopwatch.GetTimestamp();
            if (now - _lastRedraw >= RedrawTicks || batch >= _batches)
            {
                _lastRedraw = now;
                _task.Description = $"{EpochLabel()}  loss {Num(runningLoss)}  acc {Num(runningAccuracy)}";
            }
            return;
        }
        if (_batches == 0)
            return;
        int quarter = (int)Math.Min(3, 4L * batch / _batches);
        if (quarter <= _quarter)
            return;
        _quarter = quarter;
        if (_clock() - _lastLine >= QuietLineInterval)
            WritePlain($"{EpochLabel()} - {25 * quarter}% ({batch}/{_batches}) - loss: {Num(runningLoss)} - accuracy: {Num(runningAccuracy)}");
    }

    /// <inheritdoc/>
    public void BeginEvaluation(int batches)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        StartTask($"{EpochLabel()}  testing", batches);
    }

    /// <inheritdoc/>
    public void EvaluationStep(int batch)
    {
        if (_task is not null)
            _task.Value = batch;
    }

    /// <inheritdoc/>
    public void EndEpoch(EpochRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _task?.StopTask();
        _task = null;
        string of = _epochs >= record.Epoch ? $"/{_epochs}" : "";
        WritePlain($"Epoch {record.Epoch}{of} - {record.Seconds.ToString("0.0", CultureInfo.InvariantCulture)}s"
            + $" - loss: {Num(record.TrainLoss)} - accuracy: {Num(record.TrainAccuracy)}"
            + $" - test_loss: {Num(record.TestLoss)} - test_accuracy: {Num(record.TestAccuracy)}"
            + $" - lr: {record.LearningRate.ToString("G4", CultureInfo.InvariantCulture)}");
    }

    /// <inheritdoc/>
    public void Message(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WritePlain(text);
    }

    string EpochLabel() => $"Epoch {_epoch}/{_epochs}";

    void StartTask(string description, int batches)
    {
        _task?.StopTask();
        _task = _progress?.AddTask(Markup.Escape(description), maxValue: Math.Max(1, batches));
        _progress?.Refresh();   // show the new bar now, not at the next 100 ms tick
        _lastRedraw = Stopwatch.GetTimestamp();
    }

    // With a live bar, lines go through Spectre so the bar redraws below them. Without one, they go straight
    // to the writer: Spectre would wrap them at its assumed 80 columns, splitting log lines.
    void WritePlain(string line)
    {
        _lastLine = _clock();
        if (_progress is not null)
        {
            _console.WriteLine(line);
            return;
        }
        var writer = _console.Profile.Out.Writer;
        writer.WriteLine(line);
        writer.Flush();
    }

    static string Num(double value) => value.ToString("0.0000", CultureInfo.InvariantCulture);
}

/// <summary>A reporter that prints nothing and records what it was told, for tests.</summary>
public sealed class SilentReporter : ITrainingReporter
{
    readonly List<string> _calls = [];
    readonly List<EpochRecord> _epochs = [];
    readonly List<string> _messages = [];

    /// <summary>Every call but <see cref="Step"/> and <see cref="EvaluationStep"/>, in order, e.g. "Run", "BeginEpoch 1/3 batches=10", "BeginEvaluation batches=2", "EndEpoch 1", "Message saved".</summary>
    public IReadOnlyList<string> Calls => _calls;

    /// <summary>The records passed to <see cref="EndEpoch"/>.</summary>
    public IReadOnlyList<EpochRecord> Epochs => _epochs;

    /// <summary>The texts passed to <see cref="Message"/>.</summary>
    public IReadOnlyList<string> Messages => _messages;

    /// <summary>How many times <see cref="Step"/> was called, over all epochs.</summary>
    public int StepCount { get; private set; }

    /// <summary>How many times <see cref="EvaluationStep"/> was called, over all epochs.</summary>
    public int EvaluationStepCount { get; private set; }

    /// <summary>The arguments of the last <see cref="Step"/> call; null before the first.</summary>
    public (int Batch, double RunningLoss, double RunningAccuracy)? LastStep { get; private set; }

    /// <inheritdoc/>
    public void Run(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        _calls.Add("Run");
        body();
    }

    /// <inheritdoc/>
    public void BeginEpoch(int epoch, int epochs, int batches) =>
        _calls.Add(string.Create(CultureInfo.InvariantCulture, $"BeginEpoch {epoch}/{epochs} batches={batches}"));

    /// <inheritdoc/>
    public void Step(int batch, double runningLoss, double runningAccuracy)
    {
        StepCount++;
        LastStep = (batch, runningLoss, runningAccuracy);
    }

    /// <inheritdoc/>
    public void BeginEvaluation(int batches) =>
        _calls.Add(string.Create(CultureInfo.InvariantCulture, $"BeginEvaluation batches={batches}"));

    /// <inheritdoc/>
    public void EvaluationStep(int batch) => EvaluationStepCount++;

    /// <inheritdoc/>
    public void EndEpoch(EpochRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _epochs.Add(record);
        _calls.Add(string.Create(CultureInfo.InvariantCulture, $"EndEpoch {record.Epoch}"));
    }

    /// <inheritdoc/>
    public void Message(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _messages.Add(text);
        _calls.Add("Message " + text);
    }
}
