// Where a training step's time goes: each layer of the seed CNN (or MLP) timed alone, forward and
// forward + backward, on the input it sees in the model (median of 21 runs after a 1.5 s warm-up).
// Not a comparison.
using System.Diagnostics;
using System.Globalization;
using MiniNet.Layers;

namespace MiniNet.Bench;

public static class Profile
{
    public static void Run(string model)
    {
        Generator.ManualSeed(0);
        var (net, shape) = model == "mlp" ? (Cases.SeedMlp(), new[] { 128, 1, 28, 28 }) : (Cases.SeedCnn(), new[] { 64, 1, 28, 28 });
        var x = Tensor.Randn(new Generator(1), shape);
        double totalF = 0, totalFb = 0;
        var inv = CultureInfo.InvariantCulture;
        foreach (var (name, layer) in net.NamedChildren())
        {
            var input = x.Detach();
            input.RequiresGrad = true;
            Tensor output;
            using (Autograd.NoGrad()) output = layer.Forward(input);
            var g = Tensor.Randn(new Generator(2), output.Shape);
            double f = Median(() =>
            {
                using var scope = Tensor.NewDisposeScope();
                using (Autograd.NoGrad()) layer.Forward(input);
            });
            double fb = Median(() =>
            {
                using var scope = Tensor.NewDisposeScope();
                var y = layer.Forward(input);
                y.Backward(g);
                input.Grad = null;
                layer.ZeroGrad();
            });
            totalF += f;
            totalFb += fb;
            Console.WriteLine(string.Create(inv, $"{name,3} {layer.GetType().Name,-12} in {"[" + string.Join(",", input.Shape) + "]",-18} fwd {f,8:F3} ms  fwd+bwd {fb,8:F3} ms"));
            x = output;
        }
        Console.WriteLine(string.Create(inv, $"total: fwd {totalF:F2} ms, fwd+bwd {totalFb:F2} ms"));
    }

    static double Median(Action a)
    {
        Pairs.WarmUp(a); // the tiered JIT needs many calls before a layer runs its final code
        var t = new double[21];
        for (int i = 0; i < t.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            a();
            t[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(t);
        return t[10];
    }
}
