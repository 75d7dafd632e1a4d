// The target cases under BenchmarkDotNet: PyTorch is the baseline, so BDN's Ratio column is
// MiniNet / PyTorch. Each case is rebuilt by name in the benchmark process.
using BenchmarkDotNet.Attributes;

namespace MiniNet.Bench;

[MemoryDiagnoser]
public class VersusPyTorch
{
    Case _case = null!;

    public static IEnumerable<string> Names() =>
        ["bn fwd+bwd 64×32×28×28", "bn eval 64×32×28×28", "gemm 1024", "mlp step 128", "cnn step 64"];

    [ParamsSource(nameof(Names))]
    public string Name { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        Cases.UseTwoThreads();
        var bn = Cases.BatchNorm(64, 32, 28, 28, withTargets: true).ToList();
        _case = Name switch
        {
            "bn fwd+bwd 64×32×28×28" => bn[1],
            "bn eval 64×32×28×28" => bn[2],
            "gemm 1024" => Cases.Gemm(1024, 1024, 1024),
            "mlp step 128" => Cases.MlpStep(128),
            "cnn step 64" => Cases.CnnStep(64),
            _ => throw new ArgumentException($"unknown case {Name}"),
        };
    }

    [Benchmark(Baseline = true)]
    public void PyTorch() => _case.Torch();

    [Benchmark]
    public void MiniNet() => _case.MiniNet();
}
