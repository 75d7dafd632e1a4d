// Losses. Cross-entropy is fused (log-softmax + NLL in one kernel; backward = softmax − onehot);
// the others are composed from primitive ops, so autograd derives their gradients.
namespace MiniNet;

/// <summary>How a loss reduces its per-element values (PyTorch's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The mean over elements (PyTorch's default).</summary>
    Mean,
    /// <summary>The sum over elements.</summary>
    Sum,
    /// <summary>No reduction: the per-element losses.</summary>
    None,
}

public static partial class Functional
{
    /// <summary>Softmax cross-entropy of logits [N, K] against class indices (as <c>F.cross_entropy</c>); Mean or Sum reduction.</summary>
    // Backward: dLogits = scale·(softmax(logits) − onehot(target)), scale = dLoss/N for the mean.
    public static Tensor CrossEntropy(Tensor logits, int[] targets, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (logits.Rank != 2)
            throw new ArgumentException($"CrossEntropy: expected logits [N, K], got {Tensor.Format(logits.ShapeRef)}.", nameof(logits));
        int n = logits.ShapeRef[0], k = logits.ShapeRef[1];
        if (targets.Length != n)
            throw new ArgumentException($"CrossEntropy: {targets.Length} targets for logits {Tensor.Format(logits.ShapeRef)}; expected {n}.", nameof(targets));
        for (int i = 0; i < n; i++)
        {
            if ((uint)targets[i] >= (uint)k)
                throw new ArgumentException($"CrossEntropy: target {targets[i]} at index {i} is out of range for {k} classes (logits {Tensor.Format(logits.ShapeRef)}).", nameof(targets));
        }
        if (reduction == Reduction.None)
            return -LogSoftmax(logits).Mul(OneHot(targets, k, logits.Device)).Sum(1);
        if (n == 0)
            throw new ArgumentException($"CrossEntropy: logits {Tensor.Format(logits.ShapeRef)} hold no samples; the mean would be NaN.", nameof(logits));
        var backend = logits.Device.Backend;
        var targetStorage = backend.FromHost(targets);
        var probabilities = backend.AllocateUninitialized(logits.Numel);
        var y = backend.Allocate(1);
        backend.CrossEntropyForward(logits.Storage, n, k, targetStorage, probabilities, y);
        float factor = reduction == Reduction.Sum ? n : 1f;
        if (reduction == Reduction.Sum) backend.Unary(UnaryOp.MulScalar, y, factor, y);
        return Tensor.Make(y, [], "CrossEntropy", [logits], g =>
        {
            var dLogits = Tensor.EmptyLike(logits);
            backend.CrossEntropyBackward(probabilities, n, k, targetStorage, g.Storage, factor / n, dLogits.Storage);
            return [dLogits];
        });
    }

    /// <summary>log softmax over the last dim of x [N, K].</summary>
    // Backward: dx = dy − softmax·Σ_k dy.
    public static Tensor LogSoftmax(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2)
            throw new ArgumentException($"LogSoftmax: expected [N, K], got {Tensor.Format(x.ShapeRef)}.", nameof(x));
        int n = x.ShapeRef[0], k = x.ShapeRef[1];
        var backend = x.Device.Backend;
        var y = backend.AllocateUninitialized(x.Numel);
        backend.LogSoftmax(x.Storage, n, k, y);
        return Tensor.Make(y, x.ShapeRef, "LogSoftmax", [x], g =>
        {
            var dx = Tensor.EmptyLike(x);
            backend.LogSoftmaxBackward(g.Storage, y, n, k, dx.Storage);
            return [dx];
        });
    }

    /// <summary>softmax over the last dim of x [N, K].</summary>
    public static Tensor Softmax(Tensor x) => LogSoftmax(x).Exp();

    /// <summary>Mean squared error between same-shaped tensors.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckLossShapes("MseLoss", input, target);
        var d = input - target;
        return Reduce(d * d, reduction);
    }

    /// <summary>Binary cross-entropy on logits, numerically stable (PyTorch's form): (1 − t)·x + m + log(e^−m + e^(−x−m)), m = max(−x, 0).</summary>
    // Autograd through this form gives σ(x) − t everywhere, as PyTorch: m's two uses cancel, so the
    // subgradient taken at x = 0 does not matter. (max(x, 0) − x·t + log(1 + e^−|x|) gave −t at x = 0,
    // where ReLU and |x| both take the subgradient 0.)
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckLossShapes("BCEWithLogitsLoss", input, target);
        var m = (-input).Relu();
        var loss = (1f - target) * input + m + ((-m).Exp() + (-input - m).Exp()).Log();
        return Reduce(loss, reduction);
    }

    static void CheckLossShapes(string op, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (!Tensor.SameShape(input.ShapeRef, target.ShapeRef))
            throw new ArgumentException($"{op}: input shape {Tensor.Format(input.ShapeRef)} and target shape {Tensor.Format(target.ShapeRef)} differ.");
        Tensor.CheckSameDevice(op, input, target);
    }

    static Tensor Reduce(Tensor loss, Reduction reduction) => reduction switch
    {
        Reduction.Mean => loss.Mean(),
        Reduction.Sum => loss.Sum(),
        Reduction.None => loss,
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "unknown reduction"),
    };

    static Tensor OneHot(int[] targets, int k, Device device)
    {
        var data = new float[targets.Length * k];
        for (int i = 0; i < targets.Length; i++) data[i * k + targets[i]] = 1f;
        return Tensor.FromArray(data, targets.Length, k).To(device);
    }
}
