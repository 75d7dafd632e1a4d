// Checkpoints as safetensors files that PyTorch reads and writes.
// SaveModel/LoadModel: one file that is exactly PyTorch's model.state_dict() (keys "0.weight",
// "2.running_mean", ...; num_batches_tracked stored as I64, as PyTorch's int64 buffer), so that
// safetensors.torch.load_file + load_state_dict works there, and a file PyTorch wrote loads here.
// Save/Load: a directory with model.safetensors and optimizer.safetensors (the optimizer's state dict:
// tensors "state.{i}.{name}", the param groups as JSON in the metadata under "param_groups"). Each file
// is written atomically; both carry the same fresh checkpoint_id, so a pair torn by a crash between the
// two renames is refused on load. Loading checks both files against the model and the optimizer
// before changing either.
using MiniNet.IO;
using MiniNet.Optim;

namespace MiniNet.Layers;

/// <summary>Saves and loads models and optimizers in the safetensors format, with PyTorch's key names.</summary>
public static class Checkpoint
{
    /// <summary>The model's file name inside a checkpoint directory.</summary>
    public const string ModelFileName = "model.safetensors";
    /// <summary>The optimizer's file name inside a checkpoint directory.</summary>
    public const string OptimizerFileName = "optimizer.safetensors";
    /// <summary>The metadata key holding the id shared by a checkpoint's two files.</summary>
    public const string CheckpointIdKey = "checkpoint_id";
    /// <summary>The optimizer file's metadata key holding the param groups as JSON.</summary>
    public const string ParamGroupsKey = "param_groups";

    /// <summary>Writes <paramref name="model"/>'s state dict to <paramref name="path"/> (atomically), as PyTorch's <c>save_file(model.state_dict())</c>.</summary>
    /// <param name="path">The .safetensors file to write.</param>
    /// <param name="model">The model whose parameters and buffers are saved.</param>
    /// <param name="metadata">Strings stored in the file's metadata, or null.</param>
    public static void SaveModel(string path, Module model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var state = model.StateDict();
        SafeTensors.Save(path, state, metadata, IntegerDtypes(state.Keys));
    }

    /// <summary>Loads a state dict file (ours or PyTorch's) into <paramref name="model"/>; returns the file's metadata.</summary>
    /// <param name="path">The .safetensors file to read.</param>
    /// <param name="model">The model to load into.</param>
    /// <param name="strict">Require exactly the model's keys (no missing, no unexpected ones).</param>
    /// <exception cref="InvalidDataException">The file is malformed, or its keys or shapes do not match the model; nothing is changed then.</exception>
    public static IReadOnlyDictionary<string, string> LoadModel(string path, Module model, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var file = SafeTensors.Load(path);
        LoadInto("Checkpoint.LoadModel", path, model, file, strict);
        return file.Metadata;
    }

    /// <summary>
    /// Writes <see cref="ModelFileName"/> and, with an optimizer, <see cref="OptimizerFileName"/> into
    /// <paramref name="directory"/> (created if needed), each atomically, both tagged with one fresh checkpoint id.
    /// </summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <param name="model">The model to save.</param>
    /// <param name="optimizer">The optimizer to save, or null for the model alone (an optimizer file already in the
    /// directory is left as it is; its id no longer matches, so <see cref="Load"/> with an optimizer refuses it).</param>
    /// <param name="metadata">Strings stored in both files' metadata (the keys checkpoint_id and param_groups are reserved).</param>
    public static void Save(string directory, Module model, Optimizer? optimizer, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(model);
        foreach (var reserved in new[] { CheckpointIdKey, ParamGroupsKey })
        {
            if (metadata is not null && metadata.ContainsKey(reserved))
                throw new ArgumentException($"Checkpoint.Save: the metadata key '{reserved}' is reserved for the checkpoint itself.", nameof(metadata));
        }
        Directory.CreateDirectory(directory);
        var tagged = new OrderedDictionary<string, string>(StringComparer.Ordinal) { [CheckpointIdKey] = Guid.NewGuid().ToString("N") };
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>()) tagged.Add(key, value);

        SaveModel(Path.Combine(directory, ModelFileName), model, tagged);
        if (optimizer is null) return;
        var (state, paramGroups) = optimizer.StateDict();
        var optimizerMetadata = new OrderedDictionary<string, string>(tagged, StringComparer.Ordinal) { [ParamGroupsKey] = paramGroups };
        SafeTensors.Save(Path.Combine(directory, OptimizerFileName), state, optimizerMetadata);
    }

    /// <summary>
    /// Loads a checkpoint written by <see cref="Save"/> into <paramref name="model"/> and, when given,
    /// <paramref name="optimizer"/> (strictly); returns the model file's metadata.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is missing or malformed, the two files' checkpoint ids disagree,
    /// or the contents do not match the model or the optimizer; nothing is changed then.</exception>
    public static IReadOnlyDictionary<string, string> Load(string directory, Module model, Optimizer? optimizer)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(model);
        string modelPath = Path.Combine(directory, ModelFileName), optimizerPath = Path.Combine(directory, OptimizerFileName);
        var modelFile = SafeTensors.Load(modelPath);
        Action? applyOptimizer = null;
        if (optimizer is not null)
        {
            if (!File.Exists(optimizerPath))
                throw new InvalidDataException($"Checkpoint.Load: '{directory}' has no {OptimizerFileName}, but an optimizer was given to load into.");
            var optimizerFile = SafeTensors.Load(optimizerPath);
            string modelId = Id(modelPath, modelFile), optimizerId = Id(optimizerPath, optimizerFile);
            if (modelId != optimizerId)
            {
                throw new InvalidDataException($"Checkpoint.Load: '{directory}': {ModelFileName} has checkpoint_id {modelId} but {OptimizerFileName} has {optimizerId}; " +
                    "the two files come from different saves (a save was interrupted between writing them), so they are not loaded together.");
            }
            if (!optimizerFile.Metadata.TryGetValue(ParamGroupsKey, out var paramGroups))
                throw new InvalidDataException($"Checkpoint.Load: '{optimizerPath}' has no '{ParamGroupsKey}' in its metadata.");
            try
            {
                applyOptimizer = optimizer.PrepareLoadStateDict(new OptimizerStateDict(optimizerFile.Tensors, paramGroups));
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"Checkpoint.Load: '{optimizerPath}': {e.Message}", e);
            }
        }
        LoadInto("Checkpoint.Load", modelPath, model, modelFile, strict: true);
        applyOptimizer?.Invoke();
        return modelFile.Metadata;
    }

    static void LoadInto(string op, string path, Module model, SafeTensorsFile file, bool strict)
    {
        try
        {
            model.LoadStateDict(file.Tensors, strict);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{op}: '{path}': {e.Message}", e);
        }
    }

    static string Id(string path, SafeTensorsFile file) => file.Metadata.TryGetValue(CheckpointIdKey, out var id)
        ? id
        : throw new InvalidDataException($"Checkpoint.Load: '{path}' has no '{CheckpointIdKey}' in its metadata (it was not written by Checkpoint.Save).");

    // PyTorch's integer buffers among the state-dict keys: BatchNorm's num_batches_tracked is int64.
    static Dictionary<string, string> IntegerDtypes(IEnumerable<string> keys) =>
        keys.Where(k => k == "num_batches_tracked" || k.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(k => k, _ => "I64", StringComparer.Ordinal);
}
