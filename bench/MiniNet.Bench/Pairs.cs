// The alternating-pairs runner: for each case, MiniNet and PyTorch are measured one after the other,
// in alternating order, many times in this one process; the ratio is the median of the per-pair
// ratios (so drift in the machine's speed hits both sides of a pair alike). Each measurement runs
// enough calls to last at least MinMs.
using System.Diagnostics;
using System.Globalization;

namespace MiniNet.Bench;

/// <summary>Median times (ms per call) and the median per-pair ratio MiniNet / PyTorch.</summary>
public sealed record PairResult(Case Case, double MiniNetMs, double TorchMs, double Ratio);

public static class Pairs
{
    public static PairResult Measure(Case c, int pairs = 11, double minMs = 40)
    {
        WarmUp(c.MiniNet);
        WarmUp(c.Torch);
        int reps = Math.Max(1, (int)Math.Ceiling(minMs / Math.Max(1e-3, Math.Min(Once(c.MiniNet), Once(c.Torch)))));
        var mine = new double[pairs];
        var theirs = new double[pairs];
        var ratios = new double[pairs];
        for (int p = 0; p < pairs; p++)
        {
            if (p % 2 == 0)
            {
                mine[p] = Run(c.MiniNet, reps);
                theirs[p] = Run(c.Torch, reps);
            }
            else
            {
                theirs[p] = Run(c.Torch, reps);
                mine[p] = Run(c.MiniNet, reps);
            }
            ratios[p] = mine[p] / theirs[p];
        }
        return new PairResult(c, Median(mine), Median(theirs), Median(ratios));
    }

    // At least 3 calls and 1.5 s of them: .NET's tiered JIT (with dynamic PGO) recompiles hot methods
    // in stages in the background, and a training step reaches its steady speed only after a few
    // seconds of calls (the seed MLP step: ~2.0 ms over its first 2,000 calls, ~1.3 ms afterwards).
    // Training runs for thousands of steps, so the steady speed is the one compared.
    public static void WarmUp(Action a)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 3 || clock.ElapsedMilliseconds < 1500; i++) a();
    }

    static double Once(Action a)
    {
        var clock = Stopwatch.StartNew();
        a();
        return clock.Elapsed.TotalMilliseconds;
    }

    // Each measurement starts after a full collection with the finalizers run, as BenchmarkDotNet does
    // before each iteration, and after the other side's threads have gone idle: neither side pays inside
    // its timing for the other's garbage (TorchSharp's tensor handles are finalizable; MiniNet's pool
    // leases too), nor for its idle threads. libgomp's workers busy-wait after each parallel region
    // (GOMP_SPINCOUNT, 300,000 spins by default: milliseconds here), so on two cores a MiniNet block
    // that starts right after PyTorch's loses a core for its first milliseconds; MiniNet's ForkJoin
    // workers spin too, for 2 ms. 60 ms covers both, and each block still starts from sleeping threads.
    const int IdleMs = 60;

    static double Run(Action a, int reps)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Thread.Sleep(IdleMs);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) a();
        return clock.Elapsed.TotalMilliseconds / reps;
    }

    static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }

    /// <summary>A markdown table of results: times, ratio, throughput, and the target when there is one.</summary>
    public static string Table(IEnumerable<PairResult> results)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            "| group | case | MiniNet ms | PyTorch ms | ratio | MiniNet | PyTorch | target | met |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        };
        foreach (var r in results)
        {
            string Rate(double ms) => r.Case.Flops > 0 ? string.Create(inv, $"{r.Case.Flops / (ms * 1e6):F1} GFLOP/s")
                : r.Case.Bytes > 0 ? string.Create(inv, $"{r.Case.Bytes / (ms * 1e6):F1} GB/s") : "";
            string target = r.Case.Target is double t ? string.Create(inv, $"≤ {t:0.##}") : "";
            string met = r.Case.Target is double t2 ? (r.Ratio <= t2 ? "yes" : "**no**") : "";
            lines.Add(string.Create(inv, $"| {r.Case.Group} | {r.Case.Name} | {r.MiniNetMs:G4} | {r.TorchMs:G4} | {r.Ratio:F2} | {Rate(r.MiniNetMs)} | {Rate(r.TorchMs)} | {target} | {met} |"));
        }
        return string.Join('\n', lines);
    }
}
