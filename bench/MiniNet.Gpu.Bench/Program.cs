// BatchNorm2d on an ILGPU device: checks the output against the CPU backend, then times
//  - the layer as a user runs it (bn.Forward(x), then y.Backward(dy): autograd, allocations and all),
//  - the kernels alone (the backend's seam calls),
//  - a device-to-device copy of the largest tensor: the bandwidth ceiling.
// Bytes counted for BN forward + backward: the minimal traffic of the two-pass algorithm, 8 tensor
// sizes (forward: read x for the statistics, read x and write y; backward: read x and dy for the
// reductions, read x and dy and write dx). A copy counts 2 (read + write).
// Usage: MiniNet.Gpu.Bench [device (default best)] [reps (default 20)] [NxCxHxW ...]
using System.Diagnostics;
using System.Globalization;
using MiniNet;
using MiniNet.Gpu;
using MiniNet.Layers;

var inv = CultureInfo.InvariantCulture;
string deviceName = args.Length > 0 ? args[0] : "best";
int reps = args.Length > 1 ? int.Parse(args[1], inv) : 20;
var sizes = args.Length > 2 ? args[2..].Select(s => s.Split('x').Select(v => int.Parse(v, inv)).ToArray()).ToArray()
    : [[64, 32, 28, 28], [256, 64, 56, 56]];

var device = Device.Get(deviceName);
var backend = device.Backend as IlgpuBackend ?? throw new ArgumentException($"'{deviceName}' is not an ILGPU device.");
Console.WriteLine($"device: {device.Name} = {backend.Accelerator.Name} ({backend.Accelerator.AcceleratorType}), group size {backend.GroupSize}, {backend.Accelerator.NumMultiprocessors} multiprocessors");

// Median over 5 rounds of `reps` calls, in ms per call, after a warm-up round.
double Time(Action body)
{
    body();
    backend.Synchronize();
    var rounds = new double[5];
    for (int r = 0; r < rounds.Length; r++)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) body();
        backend.Synchronize();
        rounds[r] = clock.Elapsed.TotalMilliseconds / reps;
    }
    Array.Sort(rounds);
    return rounds[rounds.Length / 2];
}

// Copy bandwidth on the largest size.
int largest = sizes.Max(s => s.Aggregate(1, (a, b) => a * b));
var src = Tensor.Randn(new Generator(1), largest).To(device);
var dst = Tensor.Zeros(largest).To(device);
double copyMs = Time(() => backend.Copy(src.Storage, dst.Storage));
double copyGBs = 2.0 * largest * 4 / (copyMs * 1e6);
Console.WriteLine(string.Create(inv, $"copy {largest * 4 / 1e6:F0} MB: {copyMs:F4} ms, {copyGBs:F0} GB/s (read + write)"));
src = dst = null!;

Console.WriteLine("| input | layer fwd ms | layer fwd+bwd ms | kernels fwd+bwd ms | GB/s (8 sizes) | of copy | max |Δy| vs CPU |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var shape in sizes)
{
    int n = shape[0], c = shape[1], s = shape[2] * shape[3];
    var xCpu = Tensor.Randn(new Generator(2), shape);
    var dyCpu = Tensor.Randn(new Generator(3), shape);
    var x = xCpu.To(device).Detach();
    x.RequiresGrad = true;
    var dy = dyCpu.To(device);
    var bn = new BatchNorm2d(c);
    var bnCpu = new BatchNorm2d(c);
    bn.To(device);

    // correctness first
    float maxDiff;
    using (Autograd.NoGrad())
    {
        var a = bn.Forward(x.Detach()).ToArray();
        var b = bnCpu.Forward(xCpu).ToArray();
        maxDiff = a.Zip(b, (p, q) => Math.Abs(p - q)).Max();
    }

    double fwd;
    using (Autograd.NoGrad()) fwd = Time(() => bn.Forward(x));
    double fwdBwd = Time(() =>
    {
        var y = bn.Forward(x);
        y.Backward(dy);
        x.Grad = null;
        bn.ZeroGrad();
    });

    // kernels alone: the seam calls with preallocated buffers
    var yS = backend.Allocate(x.Numel);
    var dxS = backend.Allocate(x.Numel);
    var mean = backend.Allocate(c);
    var invStd = backend.Allocate(c);
    var batchVar = backend.Allocate(c);
    var dW = backend.Allocate(c);
    var dB = backend.Allocate(c);
    double kernels = Time(() =>
    {
        backend.BatchNormForwardTraining(x.Storage, n, c, s, bn.Weight!.Storage, bn.Bias!.Storage, 1e-5f, yS, mean, invStd, batchVar);
        backend.BatchNormBackwardTraining(dy.Storage, x.Storage, n, c, s, mean, invStd, bn.Weight!.Storage, dxS, dW, dB);
    });
    double bytes = 8.0 * x.Numel * 4;
    double gbs = bytes / (kernels * 1e6);
    Console.WriteLine(string.Create(inv,
        $"| {n}×{c}×{shape[2]}×{shape[3]} ({x.Numel * 4 / 1e6:F1} MB) | {fwd:F4} | {fwdBwd:F4} | {kernels:F4} | {gbs:F0} | {100 * gbs / copyGBs:F0}% | {maxDiff:G3} |"));
}
