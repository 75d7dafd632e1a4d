// One op, two devices: runs a function on the plain CPU backend and on an ILGPU device from the same
// inputs, then compares the outputs and, under one random upstream gradient, every input's gradient.
using System.Globalization;

namespace MiniNet.Gpu.Tests;

public static class Parity
{
    /// <summary>
    /// Checks f on <paramref name="deviceName"/> against the CPU backend. Inputs are CPU tensors; those
    /// with RequiresGrad get their gradients compared. Tolerance: |cpu − gpu| ≤ tol·(1 + |cpu|).
    /// </summary>
    public static void Check(string deviceName, Func<Tensor[], Tensor> f, Tensor[] inputs, float tol = 1e-4f, bool backward = true, int seed = 1)
    {
        var device = TestDevices.Get(deviceName);
        var cpuIn = inputs.Select(t => Leaf(t, Device.Cpu)).ToArray();
        var gpuIn = inputs.Select(t => Leaf(t, device)).ToArray();
        var cpuOut = f(cpuIn);
        var gpuOut = f(gpuIn);
        Assert.Equal(device, gpuOut.Device);
        Assert.Equal(cpuOut.Shape, gpuOut.Shape);
        AssertClose(cpuOut.ToArray(), gpuOut.ToArray(), tol, "output");
        if (!backward || !cpuOut.RequiresGrad) return;
        var g = Tensor.Randn(new Generator(seed), cpuOut.Shape);
        cpuOut.Backward(g);
        gpuOut.Backward(g.To(device).Detach());
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].RequiresGrad) continue;
            Assert.NotNull(cpuIn[i].Grad);
            Assert.NotNull(gpuIn[i].Grad);
            Assert.Equal(device, gpuIn[i].Grad!.Device);
            AssertClose(cpuIn[i].Grad!.ToArray(), gpuIn[i].Grad!.ToArray(), tol, $"gradient of input {i}");
        }
    }

    // A fresh leaf with t's values on device, requiring grad when t does.
    static Tensor Leaf(Tensor t, Device device)
    {
        var leaf = Tensor.FromArray(t.ToArray(), t.Shape).To(device).Detach();
        leaf.RequiresGrad = t.RequiresGrad;
        return leaf;
    }

    /// <summary>Asserts |expected − actual| ≤ tol·(1 + |expected|) element-wise, naming the worst element.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tol, string what = "values")
    {
        Assert.Equal(expected.Length, actual.Length);
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            double excess = Math.Abs(e - a) - tol * (1 + Math.Abs(e));
            if (double.IsNaN(excess) || excess > worstExcess)
            {
                worst = i;
                worstExcess = double.IsNaN(excess) ? double.PositiveInfinity : excess;
            }
        }
        if (worst >= 0)
            Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"{what}: element {worst} of {expected.Length} is {actual[worst]:G9}, expected {expected[worst]:G9} (tolerance {tol:G3} relative)."));
    }

    /// <summary>A CPU tensor of standard normal values (seeded), optionally requiring grad.</summary>
    public static Tensor Randn(int seed, bool requiresGrad, params int[] shape)
    {
        var t = Tensor.Randn(new Generator(seed), shape);
        t.RequiresGrad = requiresGrad;
        return t;
    }
}
