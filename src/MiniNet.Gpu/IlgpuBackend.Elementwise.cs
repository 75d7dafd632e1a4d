// The ILGPU backend's element-wise ops (kernels in Kernels/ElementwiseKernels.cs): host-side checks,
// merging of dims, the choice of kernel and launch shape. Contracts as in Backend.cs; results as the CPU
// backend's (MiniNet.Kernels.Elementwise), the dropout mask bit for bit.
//
// Dims are merged as the CPU kernels merge them: size-1 dims dropped, neighbours joined where every
// operand is contiguous across them. A broadcast or permute that still has more than LoopDims.MaxRank
// dims after merging throws NotSupportedException naming the op and the shapes.
//
// SumTo views x, after merging, as alternating runs of reduced (R) and kept (K) dims:
//   R, K R, R K R  → SumRows: x as [outer, kept, inner], a group of threads per output (or per slice of it);
//   R K, K R K     → SumColumns: x as [outer, reduce, inner], a thread per output (or per slice of it);
//   anything else  → x permuted to [kept..., reduced...] in scratch, then SumRows.
// Long reductions are cut into slices so that a large device has enough groups (threads) to run, and
// each slice's partial sum goes to scratch; the partials are summed by the same kernel in a further
// pass. Slicing depends only on the shapes and the device, so results repeat to the bit.
using ILGPU;
using ILGPU.Runtime;
using MiniNet.Gpu.Kernels;

namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    Action<Index1D, ArrayView<float>, float>? _fill;
    Action<Index1D, BinaryOp, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>>? _binaryFlat;
    Action<Index1D, BinaryOp, ArrayView<float>, ArrayView<float>, LoopDims, ArrayView<float>>? _binaryBroadcast;
    Action<Index1D, UnaryOp, ArrayView<float>, float, ArrayView<float>>? _unary;
    Action<Index1D, ArrayView<float>, ArrayView<float>, float>? _addScaled;
    Action<KernelConfig, ArrayView<float>, int, int, int, int, int, float, ArrayView<float>>? _sumRows;
    Action<Index1D, ArrayView<float>, int, int, int, int, int, ArrayView<float>>? _sumColumns;
    Action<Index1D, ArrayView<float>, LoopDims, ArrayView<float>>? _permute;
    Action<KernelConfig, ArrayView<float>, int, int, ArrayView<int>>? _argMaxRows;
    Action<Index1D, ArrayView<float>, float, float, ulong>? _dropoutMask;

    /// <inheritdoc/>
    public override void Fill(Storage buffer, float value)
    {
        var y = F(buffer);
        if (y.Length == 0) return;
        Run("Fill", () => LaunchFill(y, value));
    }

    // Call under Run.
    void LaunchFill(ArrayView<float> y, float value) =>
        (_fill ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(ElementwiseKernels.Fill))((int)y.Length, y, value);

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, int[] aShape, Storage b, int[] bShape, Storage y, int[] yShape)
    {
        ArgumentNullException.ThrowIfNull(aShape);
        ArgumentNullException.ThrowIfNull(bShape);
        ArgumentNullException.ThrowIfNull(yShape);
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        ArrayView<float> av = F(a), bv = F(b), yv = F(y);
        string what = $"Binary {op}";
        Shapes.CheckShapeLength(what, "y", yShape, yv.Length);
        Shapes.CheckShapeLength(what, "a", aShape, av.Length);
        Shapes.CheckShapeLength(what, "b", bShape, bv.Length);
        Shapes.CheckBroadcastsTo(what, "a", aShape, yShape);
        Shapes.CheckBroadcastsTo(what, "b", bShape, yShape);
        if (yv.Length == 0) return;
        int n = (int)yv.Length;
        bool aFull = av.Length == n, bFull = bv.Length == n;
        if ((aFull || av.Length == 1) && (bFull || bv.Length == 1))
        {
            // Same layout as y, or a single value: no index arithmetic.
            Run("Binary", () => (_binaryFlat ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, BinaryOp, ArrayView<float>, int, ArrayView<float>, int, ArrayView<float>>(
                ElementwiseKernels.BinaryFlat))(n, op, av, aFull ? 1 : 0, bv, bFull ? 1 : 0, yv));
            return;
        }
        var merged = Shapes.MergeDims(yShape, Shapes.BroadcastStrides(aShape, yShape), Shapes.BroadcastStrides(bShape, yShape));
        var dims = Shapes.Pack(merged, $"{what}: shapes {Shapes.Format(aShape)} and {Shapes.Format(bShape)} broadcast to {Shapes.Format(yShape)}");
        Run("Binary", () => (_binaryBroadcast ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, BinaryOp, ArrayView<float>, ArrayView<float>, LoopDims, ArrayView<float>>(
            ElementwiseKernels.BinaryBroadcast))(n, op, av, bv, dims, yv));
    }

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, float scalar, Storage y)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        ArrayView<float> xv = F(x), yv = F(y);
        if (xv.Length != yv.Length)
            throw new ArgumentException($"Unary {op}: x has {xv.Length} values but y {yv.Length}; expected the same length.", nameof(y));
        if (yv.Length == 0) return;
        Run("Unary", () => (_unary ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, UnaryOp, ArrayView<float>, float, ArrayView<float>>(
            ElementwiseKernels.Unary))((int)yv.Length, op, xv, scalar, yv));
    }

    /// <inheritdoc/>
    public override void AddScaledInPlace(Storage y, Storage x, float alpha)
    {
        ArrayView<float> yv = F(y), xv = F(x);
        if (xv.Length != yv.Length)
            throw new ArgumentException($"AddScaledInPlace: y has {yv.Length} values but x {xv.Length}; expected the same length.", nameof(x));
        if (yv.Length == 0) return;
        Run("AddScaledInPlace", () => (_addScaled ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(
            ElementwiseKernels.AddScaled))((int)yv.Length, yv, xv, alpha));
    }

    // ---- SumTo ----

    /// <inheritdoc/>
    public override void SumTo(Storage x, int[] xShape, Storage y, int[] yShape)
    {
        ArgumentNullException.ThrowIfNull(xShape);
        ArgumentNullException.ThrowIfNull(yShape);
        ArrayView<float> xv = F(x), yv = F(y);
        Shapes.CheckShapeLength("SumTo", "x", xShape, xv.Length);
        Shapes.CheckShapeLength("SumTo", "y", yShape, yv.Length);
        if (xShape.Length != yShape.Length)
            throw new ArgumentException($"SumTo: x has shape {Shapes.Format(xShape)} but y {Shapes.Format(yShape)}; expected the same rank.", nameof(yShape));
        for (int d = 0; d < xShape.Length; d++)
        {
            if (yShape[d] != xShape[d] && yShape[d] != 1)
                throw new ArgumentException($"SumTo: y's shape {Shapes.Format(yShape)} does not match x's {Shapes.Format(xShape)} at dim {d}; expected {xShape[d]} or 1.", nameof(yShape));
        }
        if (yv.Length == 0) return;
        if (xv.Length == 0)
        {
            Run("SumTo", () => LaunchFill(yv, 0f));
            return;
        }
        if (xv.Length == yv.Length)
        {
            Run("SumTo", () => xv.CopyTo(yv));
            return;
        }

        // Runs of reduced and kept dims, outermost first (size-1 dims of x dropped).
        var sizes = new List<int>();
        var reduced = new List<bool>();
        for (int d = 0; d < xShape.Length; d++)
        {
            if (xShape[d] == 1) continue;
            bool r = yShape[d] == 1;
            if (reduced.Count > 0 && reduced[^1] == r) sizes[^1] *= xShape[d];
            else
            {
                sizes.Add(xShape[d]);
                reduced.Add(r);
            }
        }
        // Kept runs first, reduced runs last: then every output's values are contiguous (more than 3 runs).
        int[] runs = [.. sizes];
        int[] perm = [.. Enumerable.Range(0, runs.Length).Where(i => !reduced[i]), .. Enumerable.Range(0, runs.Length).Where(i => reduced[i])];
        var gather = runs.Length > 3 ? Shapes.PermuteDims("SumTo", runs, perm) : default;
        Run("SumTo", () =>
        {
            switch (sizes.Count)
            {
                case 1:                                                    // R
                    LaunchSumRows(xv, 1, 1, sizes[0], yv, 1f);
                    return;
                case 2 when !reduced[0]:                                   // K R
                    LaunchSumRows(xv, 1, sizes[0], sizes[1], yv, 1f);
                    return;
                case 2:                                                    // R K
                    LaunchSumColumns(xv, 1, sizes[0], sizes[1], yv);
                    return;
                case 3 when reduced[0]:                                    // R K R
                    LaunchSumRows(xv, sizes[0], sizes[1], sizes[2], yv, 1f);
                    return;
                case 3:                                                    // K R K
                    LaunchSumColumns(xv, sizes[0], sizes[1], sizes[2], yv);
                    return;
            }
            var scratch = RentFloat((int)xv.Length);
            LaunchPermute(xv, gather, scratch.View);
            LaunchSumRows(scratch.View, 1, (int)yv.Length, (int)(xv.Length / yv.Length), yv, 1f);
            GC.KeepAlive(scratch);
        });
    }

    // A full wave: the groups (of GroupSize threads) that the device runs at once.
    int WaveGroups => Accelerator.NumMultiprocessors * Math.Max(1, Accelerator.MaxNumThreadsPerMultiprocessor / GroupSize);

    // y [kept] = scale · Σ over outer and inner of x viewed as [outer, kept, inner]. Call under Run.
    // Slices: enough groups for a wave when the outputs alone are too few, but no slice shorter than
    // 4 values a thread; and no slice longer than 256 values a thread, so no group runs far behind.
    internal void LaunchSumRows(ArrayView<float> x, int outer, int kept, int inner, ArrayView<float> y, float scale)
    {
        long count = (long)outer * inner;
        long fewest = Shapes.CeilDiv(count, 256L * GroupSize);
        long mostUseful = Math.Min(Shapes.CeilDiv(WaveGroups, kept), Shapes.CeilDiv(count, 4L * GroupSize));
        int slices = (int)Math.Max(1, Math.Max(fewest, mostUseful));
        int chunk = (int)Shapes.CeilDiv(count, slices);
        int group = Math.Min(GroupSize, Shapes.CeilPow2(chunk));
        if (slices > 1) chunk = (int)(Shapes.CeilDiv(chunk, group) * group);   // whole strides of the group per slice
        slices = (int)Shapes.CeilDiv(count, chunk);
        var kernel = _sumRows ??= Accelerator.LoadStreamKernel<ArrayView<float>, int, int, int, int, int, float, ArrayView<float>>(SumKernels.SumRows);
        if (slices == 1)
        {
            kernel(new KernelConfig(kept, group), x, outer, kept, inner, 1, chunk, scale, y);
            return;
        }
        var partial = RentFloat(kept * slices);                          // [kept, slices]
        kernel(new KernelConfig(kept * slices, group), x, outer, kept, inner, slices, chunk, 1f, partial.View);
        LaunchSumRows(partial.View, 1, kept, slices, y, scale);
        GC.KeepAlive(partial);
    }

    // y [outer·inner] = Σ over reduce of x viewed as [outer, reduce, inner]. Call under Run.
    // Slices: enough threads for a wave when the outputs alone are too few, but no slice shorter than
    // 16 rows; and no slice longer than 256 rows.
    void LaunchSumColumns(ArrayView<float> x, int outer, int reduce, int inner, ArrayView<float> y)
    {
        int outputs = outer * inner;
        long waveThreads = (long)Accelerator.NumMultiprocessors * Accelerator.MaxNumThreadsPerMultiprocessor;
        long fewest = Shapes.CeilDiv(reduce, 256);
        long mostUseful = Math.Min(Shapes.CeilDiv(waveThreads, outputs), Shapes.CeilDiv(reduce, 16));
        int slices = (int)Math.Max(1, Math.Max(fewest, mostUseful));
        int chunk = (int)Shapes.CeilDiv(reduce, slices);
        slices = (int)Shapes.CeilDiv(reduce, chunk);
        var kernel = _sumColumns ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, int, int, int, ArrayView<float>>(SumKernels.SumColumns);
        if (slices == 1)
        {
            kernel(outputs, x, outer, reduce, inner, 1, chunk, y);
            return;
        }
        var partial = RentFloat(slices * outputs);                       // [slices, outputs]
        kernel(slices * outputs, x, outer, reduce, inner, slices, chunk, partial.View);
        LaunchSumColumns(partial.View, 1, slices, outputs, y);
        GC.KeepAlive(partial);
    }

    // ---- Permute ----

    /// <inheritdoc/>
    public override void Permute(Storage x, int[] xShape, int[] perm, Storage y)
    {
        ArgumentNullException.ThrowIfNull(xShape);
        ArgumentNullException.ThrowIfNull(perm);
        ArrayView<float> xv = F(x), yv = F(y);
        Shapes.CheckShapeLength("Permute", "x", xShape, xv.Length);
        if (yv.Length != xv.Length)
            throw new ArgumentException($"Permute: x has {xv.Length} values but y {yv.Length}; expected the same length.", nameof(y));
        if (perm.Length != xShape.Length || perm.Any(p => (uint)p >= (uint)perm.Length) || perm.Distinct().Count() != perm.Length)
            throw new ArgumentException($"Permute: {Shapes.Format(perm)} is not a permutation of the dims of shape {Shapes.Format(xShape)}.", nameof(perm));
        if (yv.Length == 0) return;
        var dims = Shapes.PermuteDims("Permute", xShape, perm);
        Run("Permute", () => LaunchPermute(xv, dims, yv));
    }

    // y = x read through the permute loop `dims`. Call under Run.
    void LaunchPermute(ArrayView<float> x, LoopDims dims, ArrayView<float> y)
    {
        if (dims.Rank == 1 && dims.D0.StrideA == 1)
        {
            x.CopyTo(y);                                                  // the same order in memory
            return;
        }
        (_permute ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, LoopDims, ArrayView<float>>(PermuteKernels.Permute))((int)y.Length, x, dims, y);
    }

    // ---- ArgMaxRows, DropoutMask ----

    /// <inheritdoc/>
    public override int[] ArgMaxRows(Storage x, int rows, int cols)
    {
        var xv = F(x);
        if (rows < 0 || cols < 1 || xv.Length != (long)rows * cols)
            throw new ArgumentException($"ArgMaxRows: x has {xv.Length} values, expected rows·cols = {rows}·{cols} with cols >= 1.", nameof(x));
        if (rows == 0) return [];
        IlgpuIntStorage result = null!;
        Run("ArgMaxRows", () =>
        {
            result = RentInt(rows);
            (_argMaxRows ??= Accelerator.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<int>>(ArgMaxKernels.ArgMaxRows))(
                new KernelConfig(rows, RowGroupSize(cols)), xv, rows, cols, result.View);
        });
        return ToHostInt(result);
    }

    /// <inheritdoc/>
    public override void DropoutMask(Storage mask, float p, ulong seed)
    {
        var y = F(mask);
        if (y.Length == 0) return;
        float scale = p >= 1f ? 0f : 1f / (1f - p);                      // as the CPU kernel
        Run("DropoutMask", () => (_dropoutMask ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float, float, ulong>(
            DropoutKernels.DropoutMask))((int)y.Length, y, p, scale, seed));
    }

    // ---- helpers ----

    // Threads per group for a kernel with a group per row of `cols` values: no more than the row needs.
    internal int RowGroupSize(int cols) => Math.Min(GroupSize, Shapes.CeilPow2(cols));
}

// Host-side shape arithmetic for this file's ops (file-local, so no name can clash with another part of the backend).
file static class Shapes
{
    internal static int CeilPow2(long n) => n <= 1 ? 1 : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)n);

    internal static long CeilDiv(long a, long b) => (a + b - 1) / b;

    internal static string Format(int[] shape) => "[" + string.Join(", ", shape) + "]";

    internal static void CheckShapeLength(string op, string name, int[] shape, long length)
    {
        long count = 1;
        foreach (int d in shape) count *= d;
        if (shape.Any(d => d < 0) || count != length)
            throw new ArgumentException($"{op}: {name} has {length} values but shape {Format(shape)}.", name);
    }

    internal static void CheckBroadcastsTo(string op, string name, int[] shape, int[] target)
    {
        bool ok = shape.Length <= target.Length;
        for (int i = 0; ok && i < shape.Length; i++)
        {
            int d = shape[i], t = target[i + target.Length - shape.Length];
            ok = d == t || d == 1;
        }
        if (!ok)
            throw new ArgumentException($"{op}: {name}'s shape {Format(shape)} does not broadcast to the output's {Format(target)}.", name);
    }

    // Strides of a contiguous tensor of shape `shape` read as if broadcast to `target` (0 where repeated).
    internal static int[] BroadcastStrides(int[] shape, int[] target)
    {
        var own = MiniNet.Kernels.Elementwise.ContiguousStrides(shape);
        var strides = new int[target.Length];
        int shift = target.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++) strides[i + shift] = shape[i] == 1 ? 0 : own[i];
        return strides;
    }

    // The loop over a contiguous output of shape `shape` (outermost first) with operand strides stridesA/B:
    // size-1 dims dropped, neighbours merged where both operands are contiguous across them
    // (stride[i] == stride[i+1]·size[i+1]). Returned outermost first; at least one dim.
    internal static List<LoopDim> MergeDims(int[] shape, int[] stridesA, int[] stridesB)
    {
        var merged = new List<LoopDim>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (merged.Count > 0)
            {
                var last = merged[^1];
                if (last.StrideA == stridesA[i] * shape[i] && last.StrideB == stridesB[i] * shape[i])
                {
                    merged[^1] = new LoopDim(last.Size * shape[i], stridesA[i], stridesB[i]);
                    continue;
                }
            }
            merged.Add(new LoopDim(shape[i], stridesA[i], stridesB[i]));
        }
        if (merged.Count == 0) merged.Add(new LoopDim(1, 0, 0));
        return merged;
    }

    // MergeDims's result as the kernels' argument (innermost first), or NotSupportedException past MaxRank.
    internal static LoopDims Pack(List<LoopDim> merged, string describe)
    {
        if (merged.Count > LoopDims.MaxRank)
            throw new NotSupportedException($"{describe}: {merged.Count} dims after merging; the ILGPU kernels take at most {LoopDims.MaxRank}.");
        var dims = new LoopDims { Rank = merged.Count };
        for (int d = 0; d < merged.Count; d++) dims[d] = merged[merged.Count - 1 - d];
        return dims;
    }

    // The loop of a permute: y's dims (contiguous) with x's strides as StrideA.
    internal static LoopDims PermuteDims(string op, int[] xShape, int[] perm)
    {
        var xStrides = MiniNet.Kernels.Elementwise.ContiguousStrides(xShape);
        var yShape = perm.Select(p => xShape[p]).ToArray();
        var merged = MergeDims(yShape, perm.Select(p => xStrides[p]).ToArray(), MiniNet.Kernels.Elementwise.ContiguousStrides(yShape));
        return Pack(merged, $"{op}: shape {Format(xShape)} permuted by {Format(perm)}");
    }
}
