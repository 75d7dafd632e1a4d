// 2-d convolution, as torch.nn.Conv2d with a square kernel, equal stride and zero padding in both dims.
namespace MiniNet.Layers;

/// <summary>2-d convolution: input [N, in, H, W] → [N, out, H', W']; weight [out, in, k, k], bias [out].</summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer with PyTorch's default initialisation (U(−1/√fanIn, 1/√fanIn), fanIn = in·k·k).</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true, Generator? generator = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"Conv2d: channels and kernel size must be positive, got in={inChannels}, out={outChannels}, kernel={kernelSize}.");
        if (stride <= 0) throw new ArgumentOutOfRangeException(nameof(stride), $"Conv2d: stride must be positive, got {stride}.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"Conv2d: padding must be ≥ 0, got {padding}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Weight = RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels, kernelSize, kernelSize))!;
        Init.KaimingUniform(Weight, Math.Sqrt(5), generator);
        Bias = RegisterParameter("bias", bias ? Tensor.Zeros(outChannels) : null);
        if (Bias is not null)
        {
            double bound = 1 / Math.Sqrt(Init.FanIn(Weight));
            Init.Uniform(Bias, -bound, bound, generator);
        }
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size (square).</summary>
    public int KernelSize { get; }
    /// <summary>Stride in both dims.</summary>
    public int Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public int Padding { get; }
    /// <summary>Weight [out, in, k, k].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Conv2d(x, Weight, Bias, Stride, Padding);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size=({KernelSize}, {KernelSize}), stride=({Stride}, {Stride})" + (Padding > 0 ? $", padding=({Padding}, {Padding})" : "") + (Bias is null ? ", bias=False" : "");
}
