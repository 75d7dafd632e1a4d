// Parameter-free layers: activations, dropout, pooling, flattening.
namespace MiniNet.Layers;

/// <summary>max(x, 0).</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Relu(x);
}

/// <summary>1 / (1 + e⁻ˣ).</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Sigmoid();
    }
}

/// <summary>tanh x.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Tanh();
    }
}

/// <summary>Returns its input.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x;
}

/// <summary>Inverted dropout: in training, zeroes elements with probability p and scales the rest by 1/(1−p); identity in eval.</summary>
public sealed class Dropout : Module
{
    readonly Generator? _generator;

    /// <summary>Creates the layer; draws masks from <paramref name="generator"/> (default generator when null).</summary>
    public Dropout(double p = 0.5, Generator? generator = null)
    {
        if (p < 0 || p > 1 || double.IsNaN(p))
            throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: probability must be in [0, 1], got {p}.");
        P = p;
        _generator = generator;
    }

    /// <summary>The drop probability.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Dropout(x, P, IsTraining, _generator);

    /// <inheritdoc/>
    protected override string ExtraRepr() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"p={P}");
}

/// <summary>2-d max pooling over [N, C, H, W]; stride defaults to the kernel size.</summary>
public sealed class MaxPool2d : Module
{
    /// <summary>Creates the layer.</summary>
    public MaxPool2d(int kernelSize, int? stride = null)
    {
        if (kernelSize <= 0 || stride <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"MaxPool2d: kernel size and stride must be positive, got {kernelSize} and {stride}.");
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
    }

    /// <summary>Window size (square).</summary>
    public int KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public int Stride { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.MaxPool2d(x, KernelSize, Stride);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={KernelSize}, stride={Stride}";
}

/// <summary>Flattens dims startDim..endDim (by default all but the batch dim).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Flatten(startDim, endDim);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={startDim}, end_dim={endDim}";
}
