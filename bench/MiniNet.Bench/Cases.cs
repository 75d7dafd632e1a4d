// The benchmark cases: each is one piece of work done by MiniNet and by PyTorch (libtorch through
// TorchSharp) on the same shapes, set up once, so that a call of either action does the same work.
// Used by the alternating-pairs runner (Pairs.cs) and by the BenchmarkDotNet classes (Benchmarks.cs).
using MiniNet.Layers;
using MiniNet.Optim;
using TorchSharp;
using static TorchSharp.torch;
using MnTensor = MiniNet.Tensor;
using MnFunctional = MiniNet.Functional;

namespace MiniNet.Bench;

/// <summary>One benchmark: MiniNet's and PyTorch's action, with the work they do.</summary>
/// <param name="Flops">Floating-point operations per call (GEMM-like cases), else 0.</param>
/// <param name="Bytes">Minimal bytes moved per call (memory-bound cases), else 0.</param>
/// <param name="Target">The ratio MiniNet / PyTorch the issue asks for (time), or null.</param>
public sealed record Case(string Group, string Name, Action MiniNet, Action Torch, double Flops = 0, double Bytes = 0, double? Target = null);

public static class Cases
{
    public static void UseTwoThreads() => torch.set_num_threads(2);

    static MnTensor Randn(int seed, params int[] shape) => MnTensor.Randn(new Generator(seed), shape);

    // ---- BatchNorm2d: train forward, forward + backward, eval forward ----

    public static IEnumerable<Case> BatchNorm(int n, int c, int h, int w, bool withTargets)
    {
        string name = $"{n}×{c}×{h}×{w}";
        long count = (long)n * c * h * w;
        double bytes = count * 4.0;
        var bn = new BatchNorm2d(c);
        var x = Randn(1, n, c, h, w);
        x.RequiresGrad = true;
        var dy = Randn(2, n, c, h, w);
        var tbn = nn.BatchNorm2d(c);
        var tx = torch.randn(n, c, h, w, requires_grad: true);
        var tdy = torch.randn(n, c, h, w);

        // Both sides free what they made as soon as they are done with it (MiniNet: Dispose; TorchSharp:
        // using and Dispose), so each framework's pool hands the same warm buffers back every call.
        yield return new Case("batchnorm", $"train fwd {name}", () =>
        {
            using (Autograd.NoGrad()) bn.Forward(x).Dispose();
        }, () =>
        {
            using var _ = torch.no_grad();
            using var y = tbn.forward(tx);
        }, Bytes: 3 * bytes);

        yield return new Case("batchnorm", $"fwd+bwd {name}", () =>
        {
            using var y = bn.Forward(x);
            y.Backward(dy);
            x.Grad?.Dispose();
            x.Grad = null;
            bn.ZeroGrad();
        }, () =>
        {
            using var y = tbn.forward(tx);
            y.backward([tdy]);
            tx.grad?.Dispose();
            tx.grad = null;
            tbn.zero_grad();
        }, Bytes: 8 * bytes, Target: withTargets ? 0.5 : null);

        var bnEval = new BatchNorm2d(c);
        bnEval.Eval();
        var tbnEval = nn.BatchNorm2d(c);
        tbnEval.eval();
        yield return new Case("batchnorm", $"eval fwd {name}", () =>
        {
            using (Autograd.NoGrad()) bnEval.Forward(x).Dispose();
        }, () =>
        {
            using var _ = torch.no_grad();
            using var y = tbnEval.forward(tx);
        }, Bytes: 2 * bytes, Target: withTargets ? 1.0 : null);
    }

    // ---- BatchNorm kernels alone (preallocated arrays, no layer, no autograd) against PyTorch's whole layer ----

    public static IEnumerable<Case> BatchNormKernels(int n, int c, int h, int w)
    {
        string name = $"{n}×{c}×{h}×{w}";
        int s = h * w, count = n * c * s;
        double bytes = count * 4.0;
        float[] x = Randn(1, count).ToArray(), dy = Randn(2, count).ToArray(), y = new float[count], dx = new float[count];
        float[] weight = Enumerable.Repeat(1f, c).ToArray(), bias = new float[c], mean = new float[c], invStd = new float[c], variance = new float[c];
        float[] runningMean = new float[c], runningVar = Enumerable.Repeat(1f, c).ToArray(), dWeight = new float[c], dBias = new float[c];
        var tbn = nn.BatchNorm2d(c);
        var tx = torch.randn(n, c, h, w, requires_grad: true);
        var tdy = torch.randn(n, c, h, w);
        yield return new Case("bnkernel", $"train fwd {name}",
            () => MiniNet.Kernels.BatchNormKernels.ForwardTraining(x, n, c, s, weight, bias, 1e-5f, y, mean, invStd, variance), () =>
        {
            using var _ = torch.no_grad();
            using var ty = tbn.forward(tx);
        }, Bytes: 2 * bytes);
        yield return new Case("bnkernel", $"fwd+bwd {name}", () =>
        {
            MiniNet.Kernels.BatchNormKernels.ForwardTraining(x, n, c, s, weight, bias, 1e-5f, y, mean, invStd, variance);
            MiniNet.Kernels.BatchNormKernels.BackwardTraining(dy, x, n, c, s, mean, invStd, weight, dx, dWeight, dBias);
        }, () =>
        {
            using var ty = tbn.forward(tx);
            ty.backward([tdy]);
            tx.grad?.Dispose();
            tx.grad = null;
            tbn.zero_grad();
        }, Bytes: 5 * bytes, Target: 0.5);
        var tbnEval = nn.BatchNorm2d(c);
        tbnEval.eval();
        yield return new Case("bnkernel", $"eval fwd {name}",
            () => MiniNet.Kernels.BatchNormKernels.ForwardInference(x, n, c, s, runningMean, runningVar, weight, bias, 1e-5f, y), () =>
        {
            using var _ = torch.no_grad();
            using var ty = tbnEval.forward(tx);
        }, Bytes: 2 * bytes, Target: 1.0);
    }

    // ---- sgemm C[m,n] = A[m,k]·B[k,n] (and the layers' transposed products) ----

    public static Case Gemm(int m, int n, int k, bool transA = false, bool transB = false, double? target = null, string? label = null)
    {
        var a = Randn(3, transA ? k : m, transA ? m : k);
        var b = Randn(4, transB ? n : k, transB ? k : n);
        var c = MnTensor.Zeros(m, n);
        var ta = torch.randn(transA ? k : m, transA ? m : k);
        var tb = torch.randn(transB ? n : k, transB ? k : n);
        var tc = torch.zeros(m, n);
        var taOp = transA ? ta.t() : ta;
        var tbOp = transB ? tb.t() : tb;
        string t = (transA ? "ᵀ" : "") + "·" + (transB ? "ᵀ" : "");
        return new Case("gemm", label ?? $"{m}×{n}×{k}{(transA || transB ? " " + t : "")}",
            () => Device.Cpu.Backend.Gemm(transA, transB, m, n, k, a.Storage, 0, b.Storage, 0, c.Storage, 0, 0f),
            () => tc.addmm_(taOp, tbOp, beta: 0f, alpha: 1f),
            Flops: 2.0 * m * n * k, Target: target);
    }

    // ---- training steps of the seed models ----

    /// <summary>The seed MLP: Flatten, Linear 784→256, ReLU, BatchNorm1d(256), Linear 256→10.</summary>
    public static Sequential SeedMlp() => new(new Flatten(), new Linear(784, 256), new ReLU(), new BatchNorm1d(256), new Linear(256, 10));

    /// <summary>The seed CNN on 1×28×28: two Conv-ReLU-BN-Pool blocks, Linear 6272→1000, ReLU, Linear 1000→10.</summary>
    public static Sequential SeedCnn() => new(new Conv2d(1, 64, 3, padding: 1), new ReLU(), new BatchNorm2d(64), new MaxPool2d(2),
        new Conv2d(64, 128, 3, padding: 1), new ReLU(), new BatchNorm2d(128), new MaxPool2d(2),
        new Flatten(), new Linear(128 * 7 * 7, 1000), new ReLU(), new Linear(1000, 10));

    /// <summary>The seed MLP in TorchSharp.</summary>
    public static nn.Module<torch.Tensor, torch.Tensor> TorchSeedMlp() =>
        nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.BatchNorm1d(256), nn.Linear(256, 10));

    /// <summary>The seed CNN in TorchSharp.</summary>
    public static nn.Module<torch.Tensor, torch.Tensor> TorchSeedCnn() =>
        nn.Sequential(nn.Conv2d(1, 64, 3, padding: 1), nn.ReLU(), nn.BatchNorm2d(64), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding: 1), nn.ReLU(), nn.BatchNorm2d(128), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1000), nn.ReLU(), nn.Linear(1000, 10));

    public static Case MlpStep(int batch)
    {
        Generator.ManualSeed(0);
        return Step($"seed MLP, batch {batch}", SeedMlp(), TorchSeedMlp(), 0.05, batch, seed: 5, target: 1.0);
    }

    public static Case CnnStep(int batch)
    {
        Generator.ManualSeed(0);
        return Step($"seed CNN, batch {batch}", SeedCnn(), TorchSeedCnn(), 0.01, batch, seed: 6, target: 1.25);
    }

    // One SGD (momentum 0.9) training step with softmax cross-entropy on [batch, 1, 28, 28], in each framework.
    static Case Step(string name, Sequential model, nn.Module<torch.Tensor, torch.Tensor> tmodel, double lr, int batch, int seed, double target)
    {
        var opt = new SGD(model.Parameters(), lr, momentum: 0.9);
        var x = Randn(seed, batch, 1, 28, 28);
        var targets = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
        var topt = optim.SGD(tmodel.parameters(), lr, momentum: 0.9);
        var tx = torch.randn(batch, 1, 28, 28);
        var ttargets = torch.tensor(targets.Select(v => (long)v).ToArray());
        return new Case("step", name, () =>
        {
            using var scope = MnTensor.NewDisposeScope();
            opt.ZeroGrad();
            var loss = MnFunctional.CrossEntropy(model.Forward(x), targets);
            loss.Backward();
            opt.Step();
        }, () =>
        {
            using var scope = torch.NewDisposeScope();
            topt.zero_grad();
            var loss = nn.functional.cross_entropy(tmodel.forward(tx), ttargets);
            loss.backward();
            topt.step();
        }, Target: target);
    }

    // ---- the memory ceiling: a copy on both cores (each half by one thread) vs PyTorch's copy_ ----

    public static Case Copy(int floats)
    {
        var src = new float[floats];
        var dst = new float[floats];
        new Random(7).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(src.AsSpan()));
        int half = floats / 2;
        var tsrc = torch.randn(floats);
        var tdst = torch.zeros(floats);
        return new Case("memory", $"copy {floats * 4 / 1e6:F1} MB", () => Parallel.Invoke(
            () => src.AsSpan(0, half).CopyTo(dst.AsSpan(0, half)),
            () => src.AsSpan(half).CopyTo(dst.AsSpan(half))), () => tdst.copy_(tsrc), Bytes: 2.0 * floats * 4);
    }
}
