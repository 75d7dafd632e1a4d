using MiniNet.Data;
using MiniNet.Layers;
using MiniNet.Optim;
using MiniNet.Training;

namespace MiniNet.Tests.Training;

[Collection(SerialTests.Name)]
public sealed class TrainerTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "mininet-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // Two classes of 1×4×4 images: class 1 is bright in its top half, class 0 in its bottom half,
    // both with noise; a linear model separates them.
    static ImageDataset Synthetic(int count, long seed)
    {
        var rng = new Generator(seed);
        var images = new byte[count * 16];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = rng.NextInt(2);
            for (int p = 0; p < 16; p++)
            {
                bool bright = (p < 8) == (labels[i] == 1);
                images[i * 16 + p] = (byte)((bright ? 150 : 60) + rng.NextInt(80));
            }
        }
        return new ImageDataset("synthetic", images, labels, 1, 4, 4, 2);
    }

    static Sequential Model() => new(new Flatten(), new Linear(16, 8), new ReLU(), new BatchNorm1d(8), new Dropout(0.2), new Linear(8, 2));

    static (Trainer Trainer, DataLoader Train, DataLoader Test) Setup(string? checkpoint, long seed = 3)
    {
        Generator.ManualSeed(seed);
        var model = Model();
        var optimizer = new SGD(model.Parameters(), 0.1, momentum: 0.9);
        var trainer = new Trainer(model, optimizer)
        {
            Scheduler = new CosineAnnealingLR(optimizer, 30),
            SchedulerInterval = SchedulerInterval.Step,
            CheckpointDirectory = checkpoint,
        };
        var train = new DataLoader(Synthetic(100, 1), 16, shuffle: true, seed: 7, dropLast: true, normalize: new Normalize([0.5f], [0.25f]));
        var test = new DataLoader(Synthetic(40, 2), 16, normalize: new Normalize([0.5f], [0.25f]));
        return (trainer, train, test);
    }

    [Fact]
    public void Fit_learns_a_separable_task_and_records_every_step()
    {
        var (trainer, train, test) = Setup(null);
        var history = trainer.Fit(train, test, 5);
        Assert.Equal(5, history.Epochs.Count);
        Assert.Equal(5 * train.Count, history.Steps.Count);
        Assert.Equal(Enumerable.Range(1, 5 * train.Count), history.Steps.Select(s => s.Step));
        Assert.True(history.Epochs[^1].TestAccuracy >= 0.9, $"test accuracy {history.Epochs[^1].TestAccuracy}");
        Assert.True(history.Epochs[^1].TrainLoss < history.Epochs[0].TrainLoss);
        // The scheduler stepped once per batch: the recorded rate is the cosine's.
        Assert.Equal(0.1 * (1 + Math.Cos(Math.PI * 7 / 30)) / 2, history.Steps[7].LearningRate, 12);
        Assert.True(trainer.Model.IsTraining);
    }

    [Fact]
    public void Same_seed_gives_the_same_curve()
    {
        var a = Setup(null).Trainer;
        var (_, train, test) = Setup(null);
        var first = a.Fit(train, test, 2).Steps.Select(s => s.Loss).ToArray();
        var (b, train2, test2) = Setup(null);
        var second = b.Fit(train2, test2, 2).Steps.Select(s => s.Loss).ToArray();
        Assert.Equal(first, second);
        var (c, train3, test3) = Setup(null, seed: 4);
        Assert.NotEqual(first, c.Fit(train3, test3, 2).Steps.Select(s => s.Loss).ToArray());
    }

    [Fact]
    public void Resume_continues_the_curve_as_if_it_had_not_stopped()
    {
        var (straight, train, test) = Setup(Path.Combine(_dir, "straight"));
        var expected = straight.Fit(train, test, 3);

        string dir = Path.Combine(_dir, "stopped");
        var (first, train1, test1) = Setup(dir);
        first.Fit(train1, test1, 1);
        // A fresh process: other weights, another global generator state, a fresh optimizer.
        var (resumed, train2, test2) = Setup(dir, seed: 99);
        var actual = resumed.Fit(train2, test2, 3, resume: true);

        Assert.Equal(expected.Steps.Select(s => (s.Step, s.Loss, s.Accuracy, s.LearningRate)), actual.Steps.Select(s => (s.Step, s.Loss, s.Accuracy, s.LearningRate)));
        Assert.Equal(expected.Epochs.Select(e => (e.TrainLoss, e.TestLoss, e.TestAccuracy)), actual.Epochs.Select(e => (e.TrainLoss, e.TestLoss, e.TestAccuracy)));
        Assert.Equal(straight.Model.StateDict().Select(kv => kv.Value.ToArray()), resumed.Model.StateDict().Select(kv => kv.Value.ToArray()));
    }

    [Fact]
    public void Resume_without_a_checkpoint_starts_from_the_first_epoch()
    {
        var (trainer, train, test) = Setup(Path.Combine(_dir, "empty"));
        var reporter = new SilentReporter();
        var history = new Trainer(trainer.Model, trainer.Optimizer) { CheckpointDirectory = Path.Combine(_dir, "empty"), Reporter = reporter }.Fit(train, test, 1, resume: true);
        Assert.Single(history.Epochs);
        Assert.True(File.Exists(Path.Combine(_dir, "empty", "model.safetensors")));
    }

    [Fact]
    public void A_diverging_loss_stops_training_with_a_message()
    {
        Generator.ManualSeed(1);
        var model = Model();
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.1), (logits, _) => logits.Sum() / 0f);
        var train = new DataLoader(Synthetic(64, 1), 16);
        var history = trainer.Fit(train, null, 3);
        Assert.Single(history.Steps);
        Assert.Empty(history.Epochs);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_clear_messages()
    {
        var (trainer, train, test) = Setup(null);
        Assert.Contains("epochs", Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(train, test, 0)).Message);
        var empty = new DataLoader(Synthetic(10, 1), 16, dropLast: true);
        Assert.Contains("no batch", Assert.Throws<ArgumentException>(() => trainer.Fit(empty, test, 1)).Message);
        Assert.Contains("CheckpointDirectory", Assert.Throws<InvalidOperationException>(() => trainer.Fit(train, test, 1, resume: true)).Message);
    }

    [Fact]
    public void Evaluate_uses_eval_mode_and_restores_the_mode()
    {
        var (trainer, _, test) = Setup(null);
        var a = trainer.Evaluate(test);
        var b = trainer.Evaluate(test);
        Assert.Equal(a, b); // eval mode: no dropout, no running-statistics update
        Assert.Equal(40, a.Count);
        Assert.True(trainer.Model.IsTraining);
    }
}
