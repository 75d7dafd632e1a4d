// Checkpoint: a model with BatchNorm round-trips through a PyTorch-style state-dict file (values, shapes,
// the 0-d num_batches_tracked stored as I64 in the header); a file laid out as PyTorch writes it loads;
// strict loading refuses a missing, unexpected or mis-shaped key and changes nothing; a model+optimizer
// checkpoint resumes training bit-identically (SGD with momentum, Adam), and a pair whose checkpoint ids
// disagree (a save torn between its two renames) is refused.
using MiniNet.IO;
using MiniNet.Layers;
using MiniNet.Optim;
using static MiniNet.Tests.IO.SafeTensorsBytes;

namespace MiniNet.Tests.IO;

public sealed class CheckpointTests : IDisposable
{
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static Sequential Trained(int seed)
    {
        var model = Run.Model(seed);
        Run.Train(model, new SGD(model.Parameters(), lr: 0.1), new Generator(seed + 100), 3);
        return model;
    }

    [Fact]
    public void SaveModel_LoadModel_RoundTripsABatchNormModel()
    {
        var model = Trained(1);
        string path = _dir.File("model.safetensors");
        Checkpoint.SaveModel(path, model, new Dictionary<string, string> { ["epoch"] = "7" });

        using (var header = ReadHeader(path))
        {
            var root = header.RootElement;
            Assert.Equal(["__metadata__", "0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked", "3.weight", "3.bias"],
                root.EnumerateObject().Select(p => p.Name));
            var count = root.GetProperty("2.num_batches_tracked");
            Assert.Equal("I64", count.GetProperty("dtype").GetString());
            Assert.Equal(0, count.GetProperty("shape").GetArrayLength());
            Assert.Equal("F32", root.GetProperty("2.running_var").GetProperty("dtype").GetString());
            Assert.Equal("[6,4]", root.GetProperty("0.weight").GetProperty("shape").GetRawText());
        }
        Assert.Equal(I64(3), RawData(path, "2.num_batches_tracked"));

        var loaded = Run.Model(2);
        var metadata = Checkpoint.LoadModel(path, loaded);
        Assert.Equal("7", metadata["epoch"]);
        Run.AssertIdentical(model.StateDict(), loaded.StateDict());
        Assert.Empty(loaded.StateDict()["2.num_batches_tracked"].Shape);

        model.Eval();
        loaded.Eval();
        var x = Tensor.Randn(new Generator(3), 5, 4);
        Assert.Equal(model.Forward(x).ToArray(), loaded.Forward(x).ToArray());
    }

    [Fact]
    public void LoadModel_ReadsAFileLaidOutAsPyTorchWritesIt()
    {
        // safetensors.torch.save_file(model.state_dict()) for nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1)):
        // entries sorted by dtype alignment then name, so the int64 count comes first; format metadata.
        const string header = """
            {"__metadata__":{"format":"pt"},
             "1.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},
             "0.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},
             "0.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[12,20]},
             "1.bias":{"dtype":"F32","shape":[1],"data_offsets":[20,24]},
             "1.running_mean":{"dtype":"F32","shape":[1],"data_offsets":[24,28]},
             "1.running_var":{"dtype":"F32","shape":[1],"data_offsets":[28,32]},
             "1.weight":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}}
            """;
        string path = _dir.File("pytorch.safetensors");
        File.WriteAllBytes(path, Build(header, Concat([I64(12), F32(0.5f), F32(-1f, 2f), F32(0.25f), F32(3f), F32(4f), F32(1.5f)])));

        var model = new Sequential(new Linear(2, 1), new BatchNorm1d(1));
        Assert.Equal("pt", Checkpoint.LoadModel(path, model)["format"]);
        var bn = (BatchNorm1d)model.Children().ElementAt(1);
        var fc = (Linear)model.Children().First();
        Assert.Equal([-1f, 2f], fc.Weight.ToArray());
        Assert.Equal([0.5f], fc.Bias!.ToArray());
        Assert.Equal(12f, bn.NumBatchesTracked!.Item());
        Assert.Equal([3f], bn.RunningMean!.ToArray());
        Assert.Equal([4f], bn.RunningVar!.ToArray());
        Assert.Equal([1.5f], bn.Weight!.ToArray());
        Assert.Equal([0.25f], bn.Bias!.ToArray());
    }

    public static TheoryData<string, string> StrictCases() => new()
    {
        { "missing", "missing key '3.bias' (expected shape [3])" },
        { "extra", "unexpected key 'head.weight'" },
        { "mis-shaped", "size mismatch for '0.weight': checkpoint has shape [4, 6], the module has [6, 4]" },
    };

    [Theory]
    [MemberData(nameof(StrictCases))]
    public void LoadModel_Strict_RefusesMissingExtraOrMisShapedKeys_AndChangesNothing(string what, string expected)
    {
        var state = Trained(1).StateDict().ToDictionary();
        if (what == "missing") state.Remove("3.bias");
        if (what == "extra") state["head.weight"] = Tensor.Ones(2);
        if (what == "mis-shaped") state["0.weight"] = Tensor.Ones(4, 6);
        string path = _dir.File("m.safetensors");
        SafeTensors.Save(path, state);

        var model = Run.Model(2);
        var before = Run.Values(model.StateDict());
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(path, model));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Run.Values(model.StateDict()));

        if (what == "mis-shaped") Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(path, model, strict: false));
        else Checkpoint.LoadModel(path, model, strict: false);   // missing and extra keys are allowed when not strict
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void SaveLoad_ResumedTraining_IsBitIdenticalToNeverStopping(string kind)
    {
        var model = Run.Model(1);
        var optimizer = Run.Make(kind, model.Parameters());
        var data = new Generator(5);
        Run.Train(model, optimizer, data, 3);
        optimizer.Lr *= 0.5;
        string directory = _dir.File("ckpt");
        Checkpoint.Save(directory, model, optimizer, new Dictionary<string, string> { ["step"] = "3", ["data_rng"] = string.Join(",", data.GetState()) });
        Run.Train(model, optimizer, data, 4);

        var resumedModel = Run.Model(42);
        var resumed = Run.Make(kind, resumedModel.Parameters());
        var metadata = Checkpoint.Load(directory, resumedModel, resumed);
        Assert.Equal("3", metadata["step"]);
        Assert.Equal(32, metadata[Checkpoint.CheckpointIdKey].Length);
        var resumedData = new Generator(0);
        resumedData.SetState([.. metadata["data_rng"].Split(',').Select(ulong.Parse)]);
        Run.Train(resumedModel, resumed, resumedData, 4);

        Run.AssertIdentical(model.StateDict(), resumedModel.StateDict());
        Run.AssertIdentical(optimizer.StateDict().State, resumed.StateDict().State);
        Assert.Equal(optimizer.Lr, resumed.Lr);
    }

    [Fact]
    public void Save_WritesAPairSharingAFreshId_WithParamGroupsInTheOptimizerFile()
    {
        var model = Trained(1);
        var adam = new Adam(model.Parameters());
        Run.Train(model, adam, new Generator(1), 1);
        string directory = _dir.File("c");
        Checkpoint.Save(directory, model, adam);
        var modelFile = SafeTensors.Load(Path.Combine(directory, Checkpoint.ModelFileName));
        var optimizerFile = SafeTensors.Load(Path.Combine(directory, Checkpoint.OptimizerFileName));
        string id = modelFile.Metadata[Checkpoint.CheckpointIdKey];
        Assert.Equal(id, optimizerFile.Metadata[Checkpoint.CheckpointIdKey]);
        Assert.Equal(adam.StateDict().ParamGroupsJson, optimizerFile.Metadata[Checkpoint.ParamGroupsKey]);
        Assert.Equal(adam.StateDict().State.Keys, optimizerFile.Tensors.Keys);
        Assert.Equal(["model.safetensors", "optimizer.safetensors"], Directory.GetFiles(directory).Select(Path.GetFileName).Order());

        Checkpoint.Save(directory, model, adam);
        Assert.NotEqual(id, SafeTensors.Load(Path.Combine(directory, Checkpoint.ModelFileName)).Metadata[Checkpoint.CheckpointIdKey]);
    }

    [Fact]
    public void Load_RefusesAPairWithDifferentIds_AndChangesNothing()
    {
        var model = Trained(1);
        var sgd = new SGD(model.Parameters(), lr: 0.1, momentum: 0.9);
        Run.Train(model, sgd, new Generator(1), 1);
        string first = _dir.File("first"), second = _dir.File("second");
        Checkpoint.Save(first, model, sgd);
        Run.Train(model, sgd, new Generator(2), 1);
        Checkpoint.Save(second, model, sgd);
        // A crash after the new model file was renamed into place but before the optimizer file was.
        File.Copy(Path.Combine(first, Checkpoint.OptimizerFileName), Path.Combine(second, Checkpoint.OptimizerFileName), overwrite: true);

        var target = Run.Model(7);
        var targetSgd = new SGD(target.Parameters(), lr: 0.1, momentum: 0.9);
        var before = Run.Values(target.StateDict());
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(second, target, targetSgd));
        Assert.Contains("different saves", e.Message, StringComparison.Ordinal);
        Assert.Contains(second, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Run.Values(target.StateDict()));
        Assert.Empty(targetSgd.StateDict().State);

        Checkpoint.Load(second, target, optimizer: null);   // the model file alone is whole
        Run.AssertIdentical(model.StateDict(), target.StateDict());
    }

    [Fact]
    public void Load_ChecksTheOptimizerBeforeChangingTheModel()
    {
        var model = Trained(1);
        var sgd = new SGD(model.Parameters(), lr: 0.1, momentum: 0.9);
        Run.Train(model, sgd, new Generator(1), 1);
        string directory = _dir.File("c");
        Checkpoint.Save(directory, model, sgd);

        var target = Run.Model(7);
        var before = Run.Values(target.StateDict());
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(directory, target, new SGD(target.Parameters(), lr: 0.1, momentum: 0.5)));
        Assert.Contains(Checkpoint.OptimizerFileName, e.Message, StringComparison.Ordinal);
        Assert.Contains("hyperparameter 'momentum'", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Run.Values(target.StateDict()));
    }

    [Fact]
    public void SaveLoad_RefuseReservedMetadataAndAMissingOptimizerFile()
    {
        var model = Run.Model(1);
        var sgd = new SGD(model.Parameters(), lr: 0.1);
        string directory = _dir.File("c");
        Assert.Throws<ArgumentException>(() => Checkpoint.Save(directory, model, sgd, new Dictionary<string, string> { [Checkpoint.CheckpointIdKey] = "x" }));
        Assert.False(Directory.Exists(directory));

        Checkpoint.Save(directory, model, optimizer: null);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(directory).Select(Path.GetFileName).Order());
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(directory, model, sgd));
        Assert.Contains("no optimizer.safetensors", e.Message, StringComparison.Ordinal);
        Checkpoint.Load(directory, model, optimizer: null);
    }
}
