// Parameter initialisation, as torch.nn.init. Layers use PyTorch's defaults:
// kaiming_uniform_(a = √5) for weights, which is U(−1/√fanIn, 1/√fanIn), and the same bound for biases.
namespace MiniNet.Layers;

/// <summary>Initialisers (as <c>torch.nn.init</c>); each fills a tensor in place without recording a graph.</summary>
public static class Init
{
    /// <summary>Fills with U(low, high).</summary>
    public static Tensor Uniform(Tensor tensor, double low, double high, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var g = generator ?? Generator.Default;
        var data = new float[tensor.Numel];
        for (int i = 0; i < data.Length; i++) data[i] = (float)g.NextUniform(low, high);
        return Fill(tensor, data);
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public static Tensor Normal(Tensor tensor, double mean = 0, double std = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var g = generator ?? Generator.Default;
        var data = new float[tensor.Numel];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(mean + std * g.NextNormal());
        return Fill(tensor, data);
    }

    /// <summary>Fills with a constant.</summary>
    public static Tensor Constant(Tensor tensor, float value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using (Autograd.NoGrad()) tensor.FillInPlace(value);
        return tensor;
    }

    /// <summary>He/Kaiming uniform: U(−b, b), b = gain·√(3/fanIn), gain = √(2/(1 + a²)) (leaky ReLU slope a).</summary>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        double gain = Math.Sqrt(2.0 / (1 + a * a));
        double bound = gain * Math.Sqrt(3.0 / FanIn(tensor));
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Fan-in of a weight [out, in, *]: in · (product of the kernel dims).</summary>
    public static int FanIn(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank < 2)
            throw new ArgumentException($"FanIn: needs a weight of rank ≥ 2, got shape [{string.Join(", ", tensor.Shape)}].", nameof(tensor));
        return tensor.Numel / tensor.Size(0);
    }

    static Tensor Fill(Tensor tensor, float[] data)
    {
        using (Autograd.NoGrad()) tensor.CopyFrom(Tensor.FromArray(data, tensor.Shape));
        return tensor;
    }
}
