// History: metrics.csv / steps.csv written and read back bit for bit under any culture, non-finite values
// as NaN / Infinity, clear errors on malformed files, atomic writes, and the JSON round trip.
using MiniNet.Training;

namespace MiniNet.Tests.Training;

public class HistoryTests
{
    // Values whose shortest round-trip form matters: 0.1 + 0.2, tiny and huge exponents, a diverged run.
    static History Awkward()
    {
        var history = new History("awkward");
        history.Epochs.Add(new EpochRecord(1, 0.1 + 0.2, 1.0 / 3, 2.5e-17, 0.875, 12.345678901234567, 1e-3));
        history.Epochs.Add(new EpochRecord(2, double.NaN, 0.1, double.PositiveInfinity, double.NegativeInfinity, 1e300, 5e-324));
        history.Steps.Add(new StepRecord(1, 1, Math.PI, 0.5, 0.1));
        history.Steps.Add(new StepRecord(1, 2, double.NaN, double.PositiveInfinity, 1.0 / 7));
        history.Steps.Add(new StepRecord(2, 3, -0.0, 1, 123456789.125));
        return history;
    }

    static void AssertSameBits(History expected, History actual)
    {
        Assert.Equal(expected.Epochs.Count, actual.Epochs.Count);
        Assert.Equal(expected.Steps.Count, actual.Steps.Count);
        for (int i = 0; i < expected.Epochs.Count; i++)
        {
            var (e, a) = (expected.Epochs[i], actual.Epochs[i]);
            Assert.Equal(e.Epoch, a.Epoch);
            double[] ev = [e.TrainLoss, e.TrainAccuracy, e.TestLoss, e.TestAccuracy, e.Seconds, e.LearningRate];
            double[] av = [a.TrainLoss, a.TrainAccuracy, a.TestLoss, a.TestAccuracy, a.Seconds, a.LearningRate];
            Assert.Equal(ev.Select(BitConverter.DoubleToInt64Bits), av.Select(BitConverter.DoubleToInt64Bits));
        }
        for (int i = 0; i < expected.Steps.Count; i++)
        {
            var (e, a) = (expected.Steps[i], actual.Steps[i]);
            Assert.Equal((e.Epoch, e.Step), (a.Epoch, a.Step));
            double[] ev = [e.Loss, e.Accuracy, e.LearningRate];
            double[] av = [a.Loss, a.Accuracy, a.LearningRate];
            Assert.Equal(ev.Select(BitConverter.DoubleToInt64Bits), av.Select(BitConverter.DoubleToInt64Bits));
        }
    }

    [Fact]
    public void WriteCsv_writes_the_header_and_invariant_rows()
    {
        using var dir = new TempFolder();
        var history = new History();
        history.Epochs.Add(new EpochRecord(1, 0.5, 0.25, 0.75, 0.125, 3.5, 0.01));
        history.Epochs.Add(new EpochRecord(2, double.NaN, 0.5, double.PositiveInfinity, 0.25, 7, 0.001));
        TrainingFiles.WithCulture(TrainingFiles.CommaCulture(), () => history.WriteCsv(dir.File("metrics.csv")));
        Assert.Equal(
            "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr\n" +
            "1,0.5,0.25,0.75,0.125,3.5,0.01\n" +
            "2,NaN,0.5,Infinity,0.25,7,0.001\n",
            File.ReadAllText(dir.File("metrics.csv")));
    }

    [Fact]
    public void WriteStepsCsv_writes_the_header_and_invariant_rows()
    {
        using var dir = new TempFolder();
        var history = new History();
        history.Steps.Add(new StepRecord(1, 1, 2.25, 0.125, 0.1));
        history.Steps.Add(new StepRecord(1, 2, double.NaN, 0.5, 1e-5));
        TrainingFiles.WithCulture(TrainingFiles.CommaCulture(), () => history.WriteStepsCsv(dir.File("steps.csv")));
        Assert.Equal("epoch,step,loss,accuracy,lr\n1,1,2.25,0.125,0.1\n1,2,NaN,0.5,1E-05\n", File.ReadAllText(dir.File("steps.csv")));
    }

    [Fact]
    public void Csv_round_trips_every_bit_under_a_comma_decimal_culture()
    {
        using var dir = new TempFolder();
        var history = Awkward();
        History read = null!;
        TrainingFiles.WithCulture(TrainingFiles.CommaCulture(), () =>
        {
            history.WriteCsv(dir.File("with-bn", "metrics.csv"));
            history.WriteStepsCsv(dir.File("with-bn", "steps.csv"));
            read = History.ReadCsv(dir.File("with-bn", "metrics.csv"), dir.File("with-bn", "steps.csv"));
        });
        AssertSameBits(history, read);
        Assert.Equal("with-bn", read.Name);
    }

    [Fact]
    public void ReadCsv_without_steps_reads_epochs_only_and_names_the_run_after_the_file()
    {
        using var dir = new TempFolder();
        var history = Awkward();
        history.WriteCsv(dir.File("baseline.csv"));
        var read = History.ReadCsv(dir.File("baseline.csv"));
        Assert.Equal("baseline", read.Name);
        Assert.Empty(read.Steps);
        Assert.Equal(2, read.Epochs.Count);
    }

    [Fact]
    public void ReadCsv_finds_columns_by_name_ignores_extras_and_reads_other_tools_spellings()
    {
        using var dir = new TempFolder();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllText(dir.File("metrics.csv"),
            "lr,epoch,note,seconds,test_accuracy,test_loss,train_accuracy,train_loss\r\n" +
            "0.1,1,x,2.5,0.5,inf,0.25,nan\r\n\r\n" +
            "0.05,2,y,5,-inf,1.5,0.75,0.125\r\n");
        var read = History.ReadCsv(dir.File("metrics.csv"));
        Assert.Equal(
            [new EpochRecord(1, double.NaN, 0.25, double.PositiveInfinity, 0.5, 2.5, 0.1),
             new EpochRecord(2, 0.125, 0.75, 1.5, double.NegativeInfinity, 5, 0.05)],
            read.Epochs);
    }

    [Fact]
    public void ReadCsv_names_the_file_line_and_column_of_a_bad_value()
    {
        using var dir = new TempFolder();
        Directory.CreateDirectory(dir.Path);
        string path = dir.File("metrics.csv");
        File.WriteAllText(path, "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr\n1,0.5,0.25,0.75,0.125,3.5,0.01\n2,0.4,0.3,0;7,0.2,4,0.01\n");
        var ex = Assert.Throws<InvalidDataException>(() => History.ReadCsv(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'test_loss'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'0;7'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadCsv_rejects_a_comma_decimal_value_by_its_field_count()
    {
        using var dir = new TempFolder();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllText(dir.File("steps.csv"), "epoch,step,loss,accuracy,lr\n1,1,0,5,0,25,0,1\n");
        File.WriteAllText(dir.File("metrics.csv"), "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,lr\n");
        var ex = Assert.Throws<InvalidDataException>(() => History.ReadCsv(dir.File("metrics.csv"), dir.File("steps.csv")));
        Assert.Contains("line 2 has 8 fields, the header has 5", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadCsv_names_a_missing_column_and_an_empty_file()
    {
        using var dir = new TempFolder();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllText(dir.File("a.csv"), "epoch,train_loss,train_accuracy,test_loss,seconds,lr\n");
        var ex = Assert.Throws<InvalidDataException>(() => History.ReadCsv(dir.File("a.csv")));
        Assert.Contains("no column 'test_accuracy'", ex.Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("b.csv"), "");
        ex = Assert.Throws<InvalidDataException>(() => History.ReadCsv(dir.File("b.csv")));
        Assert.Contains("is empty", ex.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => History.ReadCsv(dir.File("missing.csv")));
    }

    [Fact]
    public void WriteCsv_replaces_the_file_whole_and_leaves_no_temporary_files()
    {
        using var dir = new TempFolder();
        string path = dir.File("deep", "er", "metrics.csv");
        var history = Awkward();
        history.WriteCsv(path);
        history.Epochs.RemoveAt(1);
        history.WriteCsv(path);
        Assert.Equal(2, File.ReadAllLines(path).Length);
        Assert.Equal(["metrics.csv"], Directory.GetFiles(dir.File("deep", "er")).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteCsv_into_a_path_that_is_a_folder_fails_and_leaves_no_temporary_file()
    {
        using var dir = new TempFolder();
        Directory.CreateDirectory(dir.File("metrics.csv"));
        Assert.ThrowsAny<IOException>(() => Awkward().WriteCsv(dir.File("metrics.csv")));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Json_round_trips_name_epochs_and_steps_bit_for_bit()
    {
        var history = Awkward();
        string json = "";
        TrainingFiles.WithCulture(TrainingFiles.CommaCulture(), () => json = history.ToJson());
        Assert.StartsWith("{\"name\":\"awkward\",\"epochs\":[{\"epoch\":1,\"train_loss\":0.30000000000000004,", json, StringComparison.Ordinal);
        var read = History.FromJson(json);
        Assert.Equal("awkward", read.Name);
        AssertSameBits(history, read);
        Assert.Equal(json, read.ToJson());
    }

    [Fact]
    public void Json_of_an_empty_history_round_trips()
    {
        var read = History.FromJson(new History("fresh").ToJson());
        Assert.Equal("fresh", read.Name);
        Assert.Empty(read.Epochs);
        Assert.Empty(read.Steps);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("{\"name\":\"a\",\"epochs\":[]}")]
    [InlineData("{\"name\":\"a\",\"epochs\":[{\"epoch\":1}],\"steps\":[]}")]
    [InlineData("{\"name\":null,\"epochs\":[],\"steps\":[]}")]
    [InlineData("{\"name\":\"a\",\"epochs\":[],\"steps\":[")]
    public void FromJson_rejects_what_is_not_a_history(string json)
    {
        var ex = Assert.Throws<InvalidDataException>(() => History.FromJson(json));
        Assert.StartsWith("History.FromJson:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Name_defaults_to_run_and_cannot_be_null()
    {
        Assert.Equal("run", new History().Name);
        Assert.Throws<ArgumentNullException>(() => new History(null!));
    }
}
