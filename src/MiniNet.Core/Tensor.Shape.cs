// Shape ops: Reshape/View share storage (tensors are contiguous), Transpose/Permute copy.
// Reductions: Sum/Mean over dims; SumToShape and Expand are each other's backward.
namespace MiniNet;

public sealed partial class Tensor
{
    /// <summary>The same elements with a new shape (one dim may be −1, inferred); shares storage.</summary>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var newShape = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < newShape.Length; i++)
        {
            if (newShape[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"Reshape: only one dimension can be -1, got {Format(shape)}.", nameof(shape));
                infer = i;
            }
            else if (newShape[i] < 0) throw new ArgumentException($"Reshape: invalid dimension in {Format(shape)}.", nameof(shape));
            else known *= newShape[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ArgumentException($"Reshape: shape {Format(shape)} is invalid for a tensor of shape {Format(_shape)} ({Numel} elements).", nameof(shape));
            newShape[infer] = (int)(Numel / known);
        }
        else if (known != Numel)
        {
            throw new ArgumentException($"Reshape: shape {Format(shape)} is invalid for a tensor of shape {Format(_shape)} ({Numel} elements).", nameof(shape));
        }
        var source = _shape;
        return Make(Storage, newShape, "Reshape", [this], g => [g.Reshape(source)]);
    }

    /// <summary>Alias of <see cref="Reshape"/>.</summary>
    public Tensor View(params int[] shape) => Reshape(shape);

    /// <summary>Flattens dims startDim..endDim into one.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = NormalizeDim("Flatten", startDim, Rank), e = NormalizeDim("Flatten", endDim, Rank);
        if (s > e) throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim} for shape {Format(_shape)}.");
        var shape = new List<int>();
        for (int i = 0; i < s; i++) shape.Add(_shape[i]);
        int merged = 1;
        for (int i = s; i <= e; i++) merged *= _shape[i];
        shape.Add(merged);
        for (int i = e + 1; i < Rank; i++) shape.Add(_shape[i]);
        return Reshape([.. shape]);
    }

    /// <summary>Inserts a dim of size 1 at <paramref name="dim"/>.</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = NormalizeDim("Unsqueeze", dim, Rank + 1);
        var shape = new List<int>(_shape);
        shape.Insert(d, 1);
        return Reshape([.. shape]);
    }

    /// <summary>Removes dim <paramref name="dim"/> if it has size 1.</summary>
    public Tensor Squeeze(int dim)
    {
        int d = NormalizeDim("Squeeze", dim, Rank);
        if (_shape[d] != 1) return this;
        var shape = new List<int>(_shape);
        shape.RemoveAt(d);
        return Reshape([.. shape]);
    }

    /// <summary>Reorders dims: the result's dim i is this tensor's dim dims[i]. Copies.</summary>
    public Tensor Permute(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length != Rank)
            throw new ArgumentException($"Permute: got {dims.Length} dims {Format(dims)} for a tensor of shape {Format(_shape)}.", nameof(dims));
        var perm = new int[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            perm[i] = NormalizeDim("Permute", dims[i], Rank);
            if (seen[perm[i]]) throw new ArgumentException($"Permute: dim {dims[i]} repeats in {Format(dims)}.", nameof(dims));
            seen[perm[i]] = true;
        }
        var shape = new int[Rank];
        var inverse = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            shape[i] = _shape[perm[i]];
            inverse[perm[i]] = i;
        }
        var y = Device.Backend.AllocateUninitialized(Numel);
        Device.Backend.Permute(Storage, _shape, perm, y);
        return Make(y, shape, "Permute", [this], g => [g.Permute(inverse)]);
    }

    /// <summary>Swaps two dims. Copies.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        var perm = Enumerable.Range(0, Rank).ToArray();
        int a = NormalizeDim("Transpose", dim0, Rank), b = NormalizeDim("Transpose", dim1, Rank);
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>The transpose of a 2-d tensor.</summary>
    public Tensor T => Rank == 2 ? Transpose(0, 1) : throw new InvalidOperationException($"T: expects a 2-d tensor, got shape {Format(_shape)}.");

    // ---- reductions ----

    /// <summary>Sum of all elements (0-d).</summary>
    public Tensor Sum() => Sum(Enumerable.Range(0, Rank).ToArray(), false);

    /// <summary>Sum over <paramref name="dim"/>.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Sum over <paramref name="dims"/>.</summary>
    public Tensor Sum(int[] dims, bool keepDim = false)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var reducedDim = new bool[Rank];
        foreach (int d in dims) reducedDim[NormalizeDim("Sum", d, Rank)] = true;
        var keep = _shape.Select((size, i) => reducedDim[i] ? 1 : size).ToArray();
        var reduced = Device.Backend.AllocateUninitialized(CheckShape("Sum", keep));
        Device.Backend.SumTo(Storage, _shape, reduced, keep);
        var shape = keepDim ? keep : _shape.Where((_, i) => !reducedDim[i]).ToArray();
        var source = _shape;
        return Make(reduced, shape, "Sum", [this], g =>
        {
            var kept = g.Reshape(keep);
            return [DisposeUnless(kept, kept.Expand(source))];
        });
    }

    /// <summary>Mean of all elements (0-d).</summary>
    public Tensor Mean() => Sum() * (1f / Math.Max(Numel, 1));

    /// <summary>Mean over <paramref name="dim"/>.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Mean over <paramref name="dims"/>.</summary>
    public Tensor Mean(int[] dims, bool keepDim = false)
    {
        ArgumentNullException.ThrowIfNull(dims);
        int count = 1;
        foreach (int d in dims.Select(d => NormalizeDim("Mean", d, Rank)).Distinct()) count *= _shape[d];
        return Sum(dims, keepDim) * (1f / Math.Max(count, 1));
    }

    /// <summary>Variance over <paramref name="dims"/>, unbiased (÷ (n−1)) by default as <c>torch.var</c>.</summary>
    public Tensor Var(int[] dims, bool unbiased = true, bool keepDim = false)
    {
        ArgumentNullException.ThrowIfNull(dims);
        int count = 1;
        foreach (int d in dims.Select(d => NormalizeDim("Var", d, Rank)).Distinct()) count *= _shape[d];
        var centered = this - Mean(dims, keepDim: true);
        return (centered * centered).Sum(dims, keepDim) * (1f / Math.Max(unbiased ? count - 1 : count, 1));
    }

    /// <summary>Sums this tensor down to <paramref name="shape"/>, to which it broadcasts (the backward of broadcasting).</summary>
    public Tensor SumToShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (SameShape(shape, _shape)) return this;
        var target = BroadcastShapes("SumToShape", shape, _shape);
        if (!SameShape(target, _shape))
            throw new ArgumentException($"SumToShape: shape {Format(_shape)} does not broadcast from {Format(shape)}.", nameof(shape));
        var keep = new int[Rank];
        int shift = Rank - shape.Length;
        for (int i = 0; i < Rank; i++) keep[i] = i < shift ? 1 : shape[i - shift];
        var y = Device.Backend.AllocateUninitialized(CheckShape("SumToShape", keep));
        Device.Backend.SumTo(Storage, _shape, y, keep);
        var source = _shape;
        return Make(y, (int[])shape.Clone(), "SumToShape", [this], g => [g.Expand(source)]);
    }

    /// <summary>Repeats size-1 (or missing leading) dims to reach <paramref name="shape"/>; copies.</summary>
    public Tensor Expand(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (SameShape(shape, _shape)) return this;
        var target = BroadcastShapes("Expand", _shape, shape);
        if (!SameShape(target, shape))
            throw new ArgumentException($"Expand: shape {Format(_shape)} cannot be expanded to {Format(shape)}.", nameof(shape));
        var zero = Device.Backend.Allocate(1);
        var y = Device.Backend.AllocateUninitialized(CheckShape("Expand", shape));
        Device.Backend.Binary(BinaryOp.Add, Storage, _shape, zero, [], y, shape);
        var source = _shape;
        return Make(y, (int[])shape.Clone(), "Expand", [this], g => [g.SumToShape(source)]);
    }

    /// <summary>Index of the maximum along the last dim of a tensor of rank ≥ 1 (no gradient), e.g. predicted classes of logits [N, K].</summary>
    public int[] ArgMax()
    {
        if (Rank == 0 || _shape[^1] == 0) throw new InvalidOperationException($"ArgMax: expects a non-empty last dim, got shape {Format(_shape)}.");
        int cols = _shape[^1];
        return Device.Backend.ArgMaxRows(Storage, Numel / cols, cols);
    }
}
