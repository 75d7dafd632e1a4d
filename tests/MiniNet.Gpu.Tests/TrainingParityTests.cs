// The seed models (shrunk: the seed MLP's and CNN's layer sequence on 8×8 inputs) trained for a few
// steps on an ILGPU device and on the CPU backend from the same weights, batches and dropout seeds:
// every step's loss, and at the end every parameter, buffer and the eval-mode output, agree to float
// tolerance. Model code is the same on both: only .To(device) differs.
using MiniNet.Layers;
using MiniNet.Optim;

namespace MiniNet.Gpu.Tests;

public class TrainingParityTests
{
    // The seed MLP's layers: Flatten, Linear, ReLU, BatchNorm1d, Dropout, Linear.
    static Sequential Mlp(int seed) => new(new Flatten(), new Linear(64, 32, generator: new Generator(seed)), new ReLU(),
        new BatchNorm1d(32), new Dropout(0.3, new Generator(seed + 1)), new Linear(32, 10, generator: new Generator(seed + 2)));

    // The seed CNN's layers: two Conv2d(3×3, pad 1) → ReLU → BatchNorm2d → MaxPool2d(2) blocks, then
    // Flatten, Linear, ReLU, Dropout, Linear.
    static Sequential Cnn(int seed) => new(
        new Conv2d(1, 4, 3, padding: 1, generator: new Generator(seed)), new ReLU(), new BatchNorm2d(4), new MaxPool2d(2),
        new Conv2d(4, 8, 3, padding: 1, generator: new Generator(seed + 1)), new ReLU(), new BatchNorm2d(8), new MaxPool2d(2),
        new Flatten(), new Linear(8 * 2 * 2, 16, generator: new Generator(seed + 2)), new ReLU(),
        new Dropout(0.3, new Generator(seed + 3)), new Linear(16, 10, generator: new Generator(seed + 4)));

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Seed_mlp_with_sgd_trains_step_by_step_as_on_the_cpu(string name) =>
        TrainBoth(name, Mlp, p => new SGD(p, 0.05, momentum: 0.9, weightDecay: 1e-4));

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Seed_cnn_with_adam_trains_step_by_step_as_on_the_cpu(string name) =>
        TrainBoth(name, Cnn, p => new Adam(p, 1e-2));

    static void TrainBoth(string name, Func<int, Sequential> build, Func<IEnumerable<Tensor>, Optimizer> optimizer)
    {
        var device = TestDevices.Get(name);
        var cpu = build(11);
        var gpu = build(11);   // same seeds: same weights and dropout generators
        Assert.Equal(Device.Cpu, gpu.Device);
        gpu.To(device);
        Assert.Equal(device, gpu.Device);
        Assert.All(gpu.StateDict().Values, t => Assert.Equal(device, t.Device));
        var cpuOpt = optimizer(cpu.Parameters());
        var gpuOpt = optimizer(gpu.Parameters());
        var data = new Generator(5);
        const int Batch = 16;
        for (int step = 0; step < 4; step++)
        {
            var x = Tensor.Randn(data, Batch, 1, 8, 8);
            var targets = Enumerable.Range(0, Batch).Select(i => (i * 7 + step) % 10).ToArray();
            float cpuLoss = Step(cpu, cpuOpt, x, targets);
            float gpuLoss = Step(gpu, gpuOpt, x.To(device), targets);
            Parity.AssertClose([cpuLoss], [gpuLoss], 1e-4f, $"loss at step {step}");
        }
        var gpuState = gpu.StateDict();
        foreach (var (key, value) in cpu.StateDict())
        {
            Assert.Equal(device, gpuState[key].Device);
            Parity.AssertClose(value.ToArray(), gpuState[key].ToArray(), 1e-3f, key);
        }
        cpu.Eval();
        gpu.Eval();
        using (Autograd.NoGrad())
        {
            var probe = Tensor.Randn(data, 5, 1, 8, 8);
            Parity.AssertClose(cpu.Forward(probe).ToArray(), gpu.Forward(probe.To(device)).ToArray(), 1e-3f, "eval output");
        }
    }

    static float Step(Module model, Optimizer optimizer, Tensor x, int[] targets)
    {
        optimizer.ZeroGrad();
        var loss = Functional.CrossEntropy(model.Forward(x), targets);
        Assert.Equal(x.Device, loss.Device);
        loss.Backward();
        optimizer.Step();
        return loss.Item();
    }
}
