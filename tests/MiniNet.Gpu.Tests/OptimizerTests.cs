// SGD and Adam/AdamW on each ILGPU device against the same optimizer on the CPU: a parameter moved with
// .To(device), three steps with the same gradients, then parameters and optimizer state compared.
using MiniNet.Optim;

namespace MiniNet.Gpu.Tests;

public class OptimizerTests
{
    // Runs `make` over a fresh copy of `start` on `device` for three steps with seeded gradients; returns
    // the parameter after each step, then the optimizer's state tensors.
    static List<float[]> Train(Device device, Tensor start, Func<Tensor, Optimizer> make)
    {
        var p = Tensor.FromArray(start.ToArray(), start.Shape).To(device);   // a copy: on the CPU, To is the identity
        p.RequiresGrad = true;
        var optimizer = make(p);
        var gradients = new Generator(31);
        var seen = new List<float[]>();
        for (int step = 0; step < 3; step++)
        {
            p.Grad = Tensor.Randn(gradients, start.Shape).To(device);
            optimizer.Step();
            Assert.Equal(device, p.Device);
            seen.Add(p.ToArray());
        }
        foreach (var (_, state) in optimizer.StateDict().State) seen.Add(state.ToArray());
        return seen;
    }

    static void AssertSameTraining(string name, int[] shape, Func<Tensor, Optimizer> make)
    {
        var start = Tensor.Randn(new Generator(30), shape);
        var cpu = Train(Device.Cpu, start, make);
        var gpu = Train(TestDevices.Get(name), start, make);
        Assert.Equal(cpu.Count, gpu.Count);
        for (int i = 0; i < cpu.Count; i++) Parity.AssertClose(cpu[i], gpu[i], 1e-5f, i < 3 ? $"parameter after step {i + 1}" : $"state tensor {i - 3}");
    }

    public static TheoryData<string, string> SgdConfigs => ElementwiseTests.DevicesTimes(
        "plain", "momentum", "dampening", "nesterov", "weight decay", "all but nesterov");

    [Theory]
    [MemberData(nameof(SgdConfigs))]
    public void SGD_matches_the_cpu_over_three_steps(string name, string config)
    {
        Func<Tensor, Optimizer> make = config switch
        {
            "plain" => p => new SGD([p], lr: 0.1),
            "momentum" => p => new SGD([p], lr: 0.1, momentum: 0.9),
            "dampening" => p => new SGD([p], lr: 0.1, momentum: 0.9, dampening: 0.3),
            "nesterov" => p => new SGD([p], lr: 0.1, momentum: 0.9, nesterov: true),
            "weight decay" => p => new SGD([p], lr: 0.1, weightDecay: 0.01),
            _ => p => new SGD([p], lr: 0.05, momentum: 0.5, dampening: 0.1, weightDecay: 0.02),
        };
        AssertSameTraining(name, [37], make);
        AssertSameTraining(name, [5, 7], make);
    }

    public static TheoryData<string, string> AdamConfigs => ElementwiseTests.DevicesTimes("adam", "adam weight decay", "adamw", "adamw no decay", "adam beta1 0.3");

    [Theory]
    [MemberData(nameof(AdamConfigs))]
    public void Adam_and_AdamW_match_the_cpu_over_three_steps(string name, string config)
    {
        Func<Tensor, Optimizer> make = config switch
        {
            "adam" => p => new Adam([p], lr: 0.01),
            "adam weight decay" => p => new Adam([p], lr: 0.01, weightDecay: 0.1),
            "adamw" => p => new AdamW([p], lr: 0.01, weightDecay: 0.1),
            "adamw no decay" => p => new AdamW([p], lr: 0.01, weightDecay: 0),
            _ => p => new Adam([p], lr: 0.01, beta1: 0.3, beta2: 0.9, eps: 1e-6),      // lerp's other branch (1 − beta1 ≥ 0.5)
        };
        AssertSameTraining(name, [37], make);
        AssertSameTraining(name, [5, 7], make);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Seam_steps_without_a_momentum_buffer_and_refuses_bad_input(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var p = backend.FromHost([1f, 2f, 3f]);
        backend.SgdStep(p, backend.FromHost([1f, 1f, -1f]), null, 0.5, 0, 0, 0, false, false);
        Assert.Equal([0.5f, 1.5f, 3.5f], ElementwiseTests.Read(backend, p));
        backend.SgdStep(backend.Allocate(0), backend.Allocate(0), null, 0.5, 0, 0, 0, false, false);
        var e = Assert.Throws<ArgumentException>(() => backend.SgdStep(p, backend.Allocate(2), null, 0.5, 0, 0, 0, false, false));
        Assert.Contains("SgdStep", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => backend.SgdStep(p, backend.Allocate(3), null, 0.5, 0.9, 0, 0, false, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.AdamStep(p, backend.Allocate(3), backend.Allocate(3), backend.Allocate(3), 0.1, 0.9, 0.999, 1e-8, 0, false, 0));
        Assert.Throws<ArgumentException>(() => backend.AdamStep(p, backend.Allocate(3), backend.Allocate(2), backend.Allocate(3), 0.1, 0.9, 0.999, 1e-8, 0, false, 1));
    }
}
