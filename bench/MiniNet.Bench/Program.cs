// MiniNet's CPU benchmarks against PyTorch's kernels (libtorch through TorchSharp-cpu), both on the
// machine's two cores. Commands:
//   pairs [filter]   the target table: alternating pairs in one process, median ratios (default)
//   scaling          BatchNorm at 0.1 to 100 MB and GEMM from 64 to 2048
//   kernels          the kernel-only BatchNorm cases, MiniNet alone: min and median of 200 calls after the pairs' warm-up
//   alone [filter]   the target cases one side at a time (all MiniNet calls, then all PyTorch calls): min and median
//   profile [cnn|mlp] each layer of a seed model timed alone (forward, forward + backward)
//   epoch [mnist-mlp|mnist-cnn] [epochs]  whole epochs of the sample against the same model in TorchSharp (MNIST from the cache)
//   bdn [args]       the same cases under BenchmarkDotNet (its own statistics; PyTorch the baseline)
// Output is markdown, ready for docs/benchmarks.md.
using BenchmarkDotNet.Running;
using MiniNet.Bench;

Cases.UseTwoThreads();
string command = args.Length > 0 ? args[0] : "pairs";
string? filter = args.Length > 1 ? args[1] : null;
switch (command)
{
    case "pairs":
        Print(Targets());
        break;
    case "scaling":
        Print(Scaling());
        break;
    case "profile":
        Profile.Run(filter ?? "cnn");
        break;
    case "epoch":
        Epochs.Run(filter ?? "mnist-mlp", args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2);
        break;
    case "kernels":
        KernelTimes(filter ?? "batchnorm");
        break;
    case "alone":
        Alone(filter ?? "");
        break;
    case "bdn":
        BenchmarkSwitcher.FromAssembly(typeof(Cases).Assembly).Run(args[1..]);
        break;
    default:
        Console.Error.WriteLine($"unknown command '{command}': expected pairs, scaling, kernels, profile, epoch or bdn");
        return 2;
}
return 0;

void Print(IEnumerable<Case> cases)
{
    Console.WriteLine($"MiniNet vs PyTorch {TorchSharp.torch.__version__} (TorchSharp), {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSArchitecture}; AVX-512: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}");
    var results = new List<PairResult>();
    foreach (var c in cases)
    {
        if (filter is not null && !$"{c.Group} {c.Name}".Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
        var r = Pairs.Measure(c);
        results.Add(r);
        Console.Error.WriteLine($"{c.Group} {c.Name}: {r.MiniNetMs:G4} ms vs {r.TorchMs:G4} ms, ratio {r.Ratio:F2}");
    }
    Console.WriteLine(Pairs.Table(results));
}

static IEnumerable<Case> Targets()
{
    yield return Cases.Copy(16 << 20);
    foreach (var c in Cases.BatchNorm(64, 32, 28, 28, withTargets: true)) yield return c;
    foreach (var c in Cases.BatchNormKernels(64, 32, 28, 28)) yield return c;
    foreach (var c in Cases.BatchNormKernels(128, 256, 1, 1)) yield return c;
    yield return Cases.Gemm(1024, 1024, 1024, target: 1 / 0.8);
    // the layers' products: Linear forward x·Wᵀ, backward dy·W and dyᵀ·x, for the seed MLP and CNN
    yield return Cases.Gemm(128, 256, 784, transB: true, label: "MLP fwd 128×256×784 ·ᵀ");
    yield return Cases.Gemm(128, 784, 256, label: "MLP dx 128×784×256");
    yield return Cases.Gemm(256, 784, 128, transA: true, label: "MLP dW 256×784×128 ᵀ·");
    yield return Cases.Gemm(64, 1000, 6272, transB: true, label: "CNN fc fwd 64×1000×6272 ·ᵀ");
    yield return Cases.Gemm(1000, 6272, 64, transA: true, label: "CNN fc dW 1000×6272×64 ᵀ·");
    yield return Cases.Gemm(128, 196, 576, label: "CNN conv2 fwd 128×196×576 (per image)");
    yield return Cases.MlpStep(128);
    yield return Cases.CnnStep(64);
}

// MiniNet's side of the kernel-only cases alone: the minimum and median of 200 calls, robust to a busy machine.
static void KernelTimes(string filter)
{
    Console.WriteLine("| case | min ms | median ms | min GB/s |");
    Console.WriteLine("|---|---:|---:|---:|");
    foreach (var c in Cases.BatchNormKernels(64, 32, 28, 28).Concat(Cases.BatchNormKernels(128, 256, 1, 1)))
    {
        if (!$"{c.Group} {c.Name}".Contains(filter, StringComparison.OrdinalIgnoreCase) && filter != "batchnorm") continue;
        var (min, median) = MinMedian(c.MiniNet);
        Console.WriteLine($"| {c.Name} | {min:G4} | {median:G4} | {c.Bytes / min / 1e6:F1} |");
    }
}

// Each side of the target cases run on its own, 200 calls after the pairs' warm-up, to tell a slow
// kernel from interference between the two frameworks in one process.
static void Alone(string filter)
{
    Console.WriteLine("| case | MiniNet min ms | MiniNet median ms | PyTorch min ms | PyTorch median ms |");
    Console.WriteLine("|---|---:|---:|---:|---:|");
    foreach (var c in Targets())
    {
        if (!$"{c.Group} {c.Name}".Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
        var (mineMin, mineMedian) = MinMedian(c.MiniNet);
        var (theirMin, theirMedian) = MinMedian(c.Torch);
        Console.WriteLine($"| {c.Group} {c.Name} | {mineMin:G4} | {mineMedian:G4} | {theirMin:G4} | {theirMedian:G4} |");
    }
}

// The minimum and median of 200 calls after the pairs' warm-up (robust to a busy machine); the
// collections they caused go to stderr.
static (double Min, double Median) MinMedian(Action action)
{
    Pairs.WarmUp(action);
    int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2), induced = MiniNet.Backends.CpuArrayPool.Shared.InducedCollections;
    var times = new double[200];
    for (int i = 0; i < times.Length; i++)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        action();
        times[i] = clock.Elapsed.TotalMilliseconds;
    }
    Array.Sort(times);
    Console.Error.WriteLine($"collections over 200 calls: gen0 {GC.CollectionCount(0) - g0}, gen1 {GC.CollectionCount(1) - g1}, gen2 {GC.CollectionCount(2) - g2}, induced by the pool {MiniNet.Backends.CpuArrayPool.Shared.InducedCollections - induced}");
    return (times[0], times[100]);
}

static IEnumerable<Case> Scaling()
{
    foreach (var (n, c, h, w) in new[] { (8, 16, 14, 14), (32, 32, 16, 16), (64, 40, 32, 32), (128, 64, 56, 56) })
    {
        foreach (var bn in Cases.BatchNorm(n, c, h, w, withTargets: false)) yield return bn;
    }
    foreach (int size in new[] { 64, 128, 256, 512, 1024, 2048 }) yield return Cases.Gemm(size, size, size);
}
