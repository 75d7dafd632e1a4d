// Loss modules, as torch.nn's: thin wrappers over Functional that hold the reduction.
namespace MiniNet.Layers;

/// <summary>Softmax cross-entropy of logits [N, K] against class indices (mean by default).</summary>
public sealed class CrossEntropyLoss(Reduction reduction = Reduction.Mean)
{
    /// <summary>The reduction over the batch.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The loss of <paramref name="logits"/> [N, K] for <paramref name="targets"/> (N class indices in [0, K)).</summary>
    public Tensor Forward(Tensor logits, int[] targets) => Functional.CrossEntropy(logits, targets, Reduction);
}

/// <summary>Mean squared error (mean by default).</summary>
public sealed class MSELoss(Reduction reduction = Reduction.Mean)
{
    /// <summary>The reduction over elements.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The loss between same-shaped <paramref name="input"/> and <paramref name="target"/>.</summary>
    public Tensor Forward(Tensor input, Tensor target) => Functional.MseLoss(input, target, Reduction);
}

/// <summary>Sigmoid + binary cross-entropy in one numerically stable expression (mean by default).</summary>
public sealed class BCEWithLogitsLoss(Reduction reduction = Reduction.Mean)
{
    /// <summary>The reduction over elements.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The loss of logits <paramref name="input"/> against targets in [0, 1] of the same shape.</summary>
    public Tensor Forward(Tensor input, Tensor target) => Functional.BinaryCrossEntropyWithLogits(input, target, Reduction);
}
