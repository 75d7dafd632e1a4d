// A Keras-style Fit for classification models: epochs of training (model.Train(), one optimizer
// step per batch) followed by evaluation on the test loader (model.Eval(), no graph), with the
// per-step and per-epoch metrics kept in a History and shown by a reporter.
//
// Reproducibility and resume: epoch e (1-based) enumerates the training loader with
// loader.Epoch = e − 1, so its order depends only on the loader's seed and e. After each epoch the
// trainer saves a checkpoint (model, optimizer, scheduler counter, Generator.Default's state and
// the history) when a CheckpointDirectory is set; Fit(resume: true) restores all of it and goes on
// with the next epoch, so a resumed run's curve is the one it would have drawn without stopping.
//
// Buffers: each training step and each evaluation batch runs in a dispose scope (Tensor.NewDisposeScope),
// and the loader's batch is disposed after it, so activations and the gradients between layers return
// to the pool when the step ends instead of at the next collection. A model that keeps an op result
// across steps must call DetachFromDisposeScope() on it.
using System.Diagnostics;
using System.Globalization;
using MiniNet.Data;
using MiniNet.Layers;
using MiniNet.Optim;

namespace MiniNet.Training;

/// <summary>When a learning-rate scheduler steps: after every epoch (default) or after every batch.</summary>
public enum SchedulerInterval
{
    /// <summary>Scheduler.Step() after each epoch.</summary>
    Epoch,
    /// <summary>Scheduler.Step() after each optimizer step.</summary>
    Step,
}

/// <summary>Loss and accuracy over a whole data set.</summary>
public readonly record struct EvaluationResult(double Loss, double Accuracy, int Count);

/// <summary>Trains a classification model: <c>Fit</c> runs epochs of training and evaluation.</summary>
public sealed class Trainer
{
    readonly Func<Tensor, int[], Tensor> _loss;

    /// <summary>Creates a trainer; the loss defaults to softmax cross-entropy on class indices.</summary>
    public Trainer(Module model, Optimizer optimizer, Func<Tensor, int[], Tensor>? lossFunction = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        Model = model;
        Optimizer = optimizer;
        _loss = lossFunction ?? ((logits, targets) => Functional.CrossEntropy(logits, targets));
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>Its optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>An optional learning-rate schedule, stepped as <see cref="SchedulerInterval"/> says.</summary>
    public LRScheduler? Scheduler { get; init; }

    /// <summary>Whether the scheduler steps per epoch or per batch.</summary>
    public SchedulerInterval SchedulerInterval { get; init; } = SchedulerInterval.Epoch;

    /// <summary>Shows progress; silent by default.</summary>
    public ITrainingReporter Reporter { get; init; } = new SilentReporter();

    /// <summary>Where a checkpoint is written after every epoch (and read by a resumed Fit); none when null.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Called after every epoch, once its record is in the history (e.g. to write the CSV and plot).</summary>
    public Action<History>? OnEpochEnd { get; init; }

    /// <summary>The metrics so far (replaced by the checkpoint's on resume).</summary>
    public History History { get; private set; } = new();

    /// <summary>
    /// Trains until <paramref name="epochs"/> epochs are done in total. With <paramref name="resume"/>,
    /// restores the checkpoint in <see cref="CheckpointDirectory"/> first (if there is one) and
    /// continues after its epoch. Stops early, with a message, if the loss becomes NaN or infinite.
    /// </summary>
    public History Fit(DataLoader train, DataLoader? test, int epochs, bool resume = false)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), $"Trainer.Fit: epochs must be at least 1, got {epochs}.");
        if (train.Count == 0)
            throw new ArgumentException($"Trainer.Fit: the training loader yields no batch ({train.Dataset.Count} samples, batch size {train.BatchSize}, dropLast).", nameof(train));
        int first = 1;
        if (resume) first = Restore() + 1;
        Reporter.Run(() =>
        {
            if (first > epochs) Reporter.Message($"Checkpoint already at epoch {first - 1} of {epochs}: nothing to train.");
            for (int epoch = first; epoch <= epochs; epoch++)
            {
                if (!TrainEpoch(train, test, epoch, epochs)) break;
            }
        });
        return History;
    }

    /// <summary>Loss and accuracy of the model in eval mode over every batch of <paramref name="data"/>.</summary>
    public EvaluationResult Evaluate(DataLoader data)
    {
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        double lossSum = 0;
        long correct = 0;
        int count = 0, batch = 0;
        Reporter.BeginEvaluation(data.Count);
        var device = Model.Device;
        using (Autograd.NoGrad())
        {
            foreach (var (inputs, targets) in data)
            {
                using var scope = Tensor.NewDisposeScope();
                using var batchInputs = inputs;
                var logits = Model.Forward(inputs.To(device));
                lossSum += _loss(logits, targets).Item() * targets.Length;
                correct += CountCorrect(logits, targets);
                count += targets.Length;
                Reporter.EvaluationStep(++batch);
            }
        }
        Model.Train(wasTraining);
        return count == 0 ? new EvaluationResult(double.NaN, double.NaN, 0) : new EvaluationResult(lossSum / count, (double)correct / count, count);
    }

    // One epoch of training then evaluation; false when the loss diverged.
    bool TrainEpoch(DataLoader train, DataLoader? test, int epoch, int epochs)
    {
        var clock = Stopwatch.StartNew();
        double epochLr = Optimizer.Lr;
        Model.Train();
        train.Epoch = epoch - 1;
        Reporter.BeginEpoch(epoch, epochs, train.Count);
        int step = History.Steps.Count == 0 ? 0 : History.Steps[^1].Step;
        double lossSum = 0;
        long correct = 0;
        int seen = 0, batch = 0;
        var device = Model.Device;   // batches are made on the CPU and copied to the model's device
        foreach (var (inputs, targets) in train)
        {
            // The step's activations and the gradients between layers go back to the pool when it ends, as in PyTorch.
            using var scope = Tensor.NewDisposeScope();
            using var batchInputs = inputs;
            Optimizer.ZeroGrad();
            var logits = Model.Forward(inputs.To(device));
            var loss = _loss(logits, targets);
            loss.Backward();
            double lr = Optimizer.Lr;
            Optimizer.Step();
            if (Scheduler is not null && SchedulerInterval == SchedulerInterval.Step) Scheduler.Step();

            double value = loss.Item();
            int right = CountCorrect(logits, targets);
            History.Steps.Add(new StepRecord(epoch, ++step, value, (double)right / targets.Length, lr));
            if (!double.IsFinite(value))
            {
                Reporter.Message($"Epoch {epoch}, step {step}: the loss is {value.ToString(CultureInfo.InvariantCulture)}; training stopped (lower the learning rate).");
                return false;
            }
            lossSum += value * targets.Length;
            correct += right;
            seen += targets.Length;
            Reporter.Step(++batch, lossSum / seen, (double)correct / seen);
        }
        if (Scheduler is not null && SchedulerInterval == SchedulerInterval.Epoch) Scheduler.Step();

        var evaluation = test is null ? new EvaluationResult(double.NaN, double.NaN, 0) : Evaluate(test);
        var record = new EpochRecord(epoch, lossSum / seen, (double)correct / seen, evaluation.Loss, evaluation.Accuracy,
            clock.Elapsed.TotalSeconds, epochLr);
        History.Epochs.Add(record);
        if (CheckpointDirectory is not null) Save(epoch);
        Reporter.EndEpoch(record);
        OnEpochEnd?.Invoke(History);
        return true;
    }

    static int CountCorrect(Tensor logits, int[] targets)
    {
        var predicted = logits.ArgMax();
        int right = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            if (predicted[i] == targets[i]) right++;
        }
        return right;
    }

    // Checkpoint metadata keys (strings, as safetensors metadata must be).
    const string EpochKey = "epoch", HistoryKey = "history", GeneratorKey = "generator_state", SchedulerKey = "scheduler_last_epoch";

    void Save(int epoch)
    {
        var metadata = new Dictionary<string, string>
        {
            [EpochKey] = epoch.ToString(CultureInfo.InvariantCulture),
            [HistoryKey] = History.ToJson(),
            [GeneratorKey] = string.Join(",", Generator.Default.GetState().Select(s => s.ToString(CultureInfo.InvariantCulture))),
        };
        if (Scheduler is not null) metadata[SchedulerKey] = Scheduler.LastEpoch.ToString(CultureInfo.InvariantCulture);
        Checkpoint.Save(CheckpointDirectory!, Model, Optimizer, metadata);
    }

    // Restores the checkpoint; returns the last completed epoch (0 when there is none yet).
    int Restore()
    {
        if (CheckpointDirectory is null)
            throw new InvalidOperationException("Trainer.Fit: resume needs a CheckpointDirectory.");
        if (!File.Exists(Path.Combine(CheckpointDirectory, Checkpoint.ModelFileName)))
        {
            Reporter.Message($"No checkpoint in {CheckpointDirectory}: starting from epoch 1.");
            return 0;
        }
        var metadata = Checkpoint.Load(CheckpointDirectory, Model, Optimizer);
        string Get(string key) => metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"Trainer.Fit: the checkpoint in {CheckpointDirectory} has no '{key}' entry in its metadata; it was not written by Trainer.");
        int epoch = int.Parse(Get(EpochKey), CultureInfo.InvariantCulture);
        History = History.FromJson(Get(HistoryKey));
        Generator.Default.SetState([.. Get(GeneratorKey).Split(',').Select(s => ulong.Parse(s, CultureInfo.InvariantCulture))]);
        if (Scheduler is not null)
            Scheduler.SetLastEpoch(metadata.TryGetValue(SchedulerKey, out var last) ? int.Parse(last, CultureInfo.InvariantCulture) : 0);
        Reporter.Message($"Resumed from {CheckpointDirectory} after epoch {epoch}.");
        return epoch;
    }
}
