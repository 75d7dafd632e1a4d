// A run's metrics, as Keras's History and CSVLogger keep them: one StepRecord per optimizer step and one
// EpochRecord per epoch, and the files they go to.
//   metrics.csv  epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr   (one row per epoch)
//   steps.csv    epoch,step,loss,accuracy,lr                                           (one row per step)
// Files are culture-invariant whatever the current culture: '.' decimal point, doubles written in the
// shortest form that parses back to the same bits, a diverged value as NaN / Infinity / -Infinity, '\n'
// line ends, and each file written atomically (temporary file, then rename). ReadCsv finds columns by
// header name (extra columns are ignored) and names the file, line and column of anything it cannot read.
// ToJson/FromJson carry the name too; they are for checkpoint metadata, so a resumed fit keeps its curves.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MiniNet.Training;

/// <summary>One optimizer step's metrics.</summary>
/// <param name="Epoch">The epoch the step belongs to, 1-based.</param>
/// <param name="Step">The global step number, 1-based, counted across epochs.</param>
/// <param name="Loss">The training loss of this step's batch (or a running mean; the trainer says which).</param>
/// <param name="Accuracy">The training accuracy, a fraction in [0, 1].</param>
/// <param name="LearningRate">The learning rate the step used.</param>
public sealed record StepRecord(int Epoch, int Step, double Loss, double Accuracy, double LearningRate);

/// <summary>One epoch's metrics.</summary>
/// <param name="Epoch">The epoch, 1-based.</param>
/// <param name="TrainLoss">Mean training loss over the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch, a fraction in [0, 1].</param>
/// <param name="TestLoss">Loss on the test (validation) set after the epoch; NaN when there is none.</param>
/// <param name="TestAccuracy">Accuracy on the test set after the epoch, a fraction in [0, 1]; NaN when there is none.</param>
/// <param name="Seconds">Wall-clock seconds the epoch took, evaluation included.</param>
/// <param name="LearningRate">The learning rate at the end of the epoch.</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds, double LearningRate);

/// <summary>
/// The metrics of one training run: <see cref="Steps"/> (one per optimizer step) and <see cref="Epochs"/>
/// (one per epoch), as Keras's <c>History</c>. Written to <c>metrics.csv</c> / <c>steps.csv</c>, read back
/// with <see cref="ReadCsv"/>, carried in checkpoints as JSON, plotted with <see cref="Plots.SaveCurves"/>.
/// </summary>
public sealed class History
{
    static readonly string[] MetricsColumns = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "lr"];
    static readonly string[] StepsColumns = ["epoch", "step", "loss", "accuracy", "lr"];

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>Creates an empty history; <paramref name="name"/> labels the run in plots and comparisons.</summary>
    public History(string name = "run")
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
    }

    /// <summary>The run's name, shown in plot legends ("with BN", "without BN").</summary>
    public string Name { get; set; }

    /// <summary>One record per optimizer step, in order.</summary>
    public List<StepRecord> Steps { get; } = [];

    /// <summary>One record per epoch, in order.</summary>
    public List<EpochRecord> Epochs { get; } = [];

    /// <summary>
    /// Writes <see cref="Epochs"/> to <paramref name="path"/> (conventionally <c>metrics.csv</c>) with the header
    /// <c>epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr</c>; atomically, creating the folder.
    /// </summary>
    public void WriteCsv(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var csv = new StringBuilder().AppendJoin(',', MetricsColumns).Append('\n');
        foreach (var e in Epochs)
        {
            csv.Append(e.Epoch.ToString(CultureInfo.InvariantCulture))
               .Append(',').Append(Format(e.TrainLoss)).Append(',').Append(Format(e.TrainAccuracy))
               .Append(',').Append(Format(e.TestLoss)).Append(',').Append(Format(e.TestAccuracy))
               .Append(',').Append(Format(e.Seconds)).Append(',').Append(Format(e.LearningRate)).Append('\n');
        }
        AtomicFile.WriteAllText(path, csv.ToString());
    }

    /// <summary>
    /// Writes <see cref="Steps"/> to <paramref name="path"/> (conventionally <c>steps.csv</c>) with the header
    /// <c>epoch,step,loss,accuracy,lr</c>; atomically, creating the folder.
    /// </summary>
    public void WriteStepsCsv(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var csv = new StringBuilder().AppendJoin(',', StepsColumns).Append('\n');
        foreach (var s in Steps)
        {
            csv.Append(s.Epoch.ToString(CultureInfo.InvariantCulture))
               .Append(',').Append(s.Step.ToString(CultureInfo.InvariantCulture))
               .Append(',').Append(Format(s.Loss)).Append(',').Append(Format(s.Accuracy))
               .Append(',').Append(Format(s.LearningRate)).Append('\n');
        }
        AtomicFile.WriteAllText(path, csv.ToString());
    }

    /// <summary>
    /// Reads a history written by <see cref="WriteCsv"/> (and, when <paramref name="stepsPath"/> is given, by
    /// <see cref="WriteStepsCsv"/>). Columns are found by header name; extra columns are ignored. The name is
    /// the file's stem, or its folder's name when the file is called <c>metrics.csv</c>
    /// (<c>runs/with-bn/metrics.csv</c> gives "with-bn"); set <see cref="Name"/> to change it.
    /// </summary>
    /// <exception cref="InvalidDataException">A header lacks a column, or a row has the wrong field count or an unreadable number.</exception>
    public static History ReadCsv(string metricsPath, string? stepsPath = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metricsPath);
        var history = new History(RunNameFromPath(metricsPath));
        foreach (var row in ReadTable(metricsPath, MetricsColumns))
        {
            history.Epochs.Add(new EpochRecord(row.Int(0), row.Double(1), row.Double(2), row.Double(3), row.Double(4),
                row.Double(5), row.Double(6)));
        }
        if (stepsPath is not null)
        {
            foreach (var row in ReadTable(stepsPath, StepsColumns))
                history.Steps.Add(new StepRecord(row.Int(0), row.Int(1), row.Double(2), row.Double(3), row.Double(4)));
        }
        return history;
    }

    /// <summary>The history as one compact JSON object: <c>{"name":…,"epochs":[…],"steps":[…]}</c>, non-finite values as "NaN"/"Infinity".</summary>
    public string ToJson() => JsonSerializer.Serialize(new HistoryJson(Name, Epochs, Steps), JsonOptions);

    /// <summary>Reads a history written by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not such a JSON object (a field is missing or of the wrong type).</exception>
    public static History FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        HistoryJson? read;
        try
        {
            read = JsonSerializer.Deserialize<HistoryJson>(json, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"History.FromJson: not a History JSON object ({ex.Message}).", ex);
        }
        if (read is null)
            throw new InvalidDataException("History.FromJson: expected a JSON object with name, epochs and steps, got null.");
        var history = new History(read.Name);
        history.Epochs.AddRange(read.Epochs);
        history.Steps.AddRange(read.Steps);
        return history;
    }

    sealed record HistoryJson(string Name, List<EpochRecord> Epochs, List<StepRecord> Steps);

    static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    static string RunNameFromPath(string path)
    {
        string stem = Path.GetFileNameWithoutExtension(path);
        if (!string.Equals(stem, "metrics", StringComparison.OrdinalIgnoreCase))
            return stem;
        string? folder = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)));
        return string.IsNullOrEmpty(folder) ? stem : folder;
    }

    // Yields the rows of a CSV file with the given columns; row fields are reordered to `columns`' order.
    static IEnumerable<CsvRow> ReadTable(string path, string[] columns)
    {
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || string.IsNullOrWhiteSpace(lines[0]))
            throw new InvalidDataException($"History.ReadCsv: {path} is empty; expected the header {string.Join(',', columns)}.");
        string[] header = lines[0].Split(',').Select(h => h.Trim()).ToArray();
        var index = new int[columns.Length];
        for (int c = 0; c < columns.Length; c++)
        {
            index[c] = Array.IndexOf(header, columns[c]);
            if (index[c] < 0)
            {
                throw new InvalidDataException(
                    $"History.ReadCsv: {path} has no column '{columns[c]}'; header is '{lines[0]}', expected {string.Join(',', columns)}.");
            }
        }
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
                continue;
            string[] fields = lines[i].Split(',');
            if (fields.Length != header.Length)
            {
                throw new InvalidDataException(
                    $"History.ReadCsv: {path} line {i + 1} has {fields.Length} fields, the header has {header.Length}: '{lines[i]}'.");
            }
            var picked = new string[columns.Length];
            for (int c = 0; c < columns.Length; c++)
                picked[c] = fields[index[c]].Trim();
            yield return new CsvRow(path, i + 1, columns, picked);
        }
    }

    readonly record struct CsvRow(string Path, int Line, string[] Columns, string[] Fields)
    {
        public int Int(int c) => int.TryParse(Fields[c], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw Bad(c, "an integer");

        // Also reads the spellings other tools write for non-finite values: nan, inf, -inf.
        public double Double(int c)
        {
            string s = Fields[c];
            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                return v;
            return s.ToUpperInvariant() switch
            {
                "NAN" or "-NAN" => double.NaN,
                "INF" or "+INF" => double.PositiveInfinity,
                "-INF" => double.NegativeInfinity,
                _ => throw Bad(c, "a number (invariant culture, '.' decimal point; NaN, Infinity, -Infinity allowed)"),
            };
        }

        InvalidDataException Bad(int c, string expected) =>
            new($"History.ReadCsv: {Path} line {Line}, column '{Columns[c]}': '{Fields[c]}' is not {expected}.");
    }
}
