// Fully connected layer, as torch.nn.Linear: y = x·Wᵀ + b over the last dim.
namespace MiniNet.Layers;

/// <summary>y = x·Wᵀ + b: weight [out, in], bias [out]; input [..., in].</summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer with PyTorch's default initialisation (U(−1/√in, 1/√in) for weight and bias).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear: features must be positive, got in={inFeatures}, out={outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Tensor.Zeros(outFeatures, inFeatures))!;
        Init.KaimingUniform(Weight, Math.Sqrt(5), generator);
        Bias = RegisterParameter("bias", bias ? Tensor.Zeros(outFeatures) : null);
        if (Bias is not null)
        {
            double bound = 1 / Math.Sqrt(inFeatures);
            Init.Uniform(Bias, -bound, bound, generator);
        }
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Output features.</summary>
    public int OutFeatures { get; }
    /// <summary>Weight [out, in].</summary>
    public Tensor Weight { get; }
    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Linear(x, Weight, Bias);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={Bias is not null}";
}
