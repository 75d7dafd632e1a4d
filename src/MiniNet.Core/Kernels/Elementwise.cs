// Element-wise CPU kernels: broadcasting binary ops, unary ops, reductions to a broadcast shape,
// permutes, row argmax and the dropout mask. Buffers are contiguous and row-major.
// Broadcasting follows NumPy: shapes align at the right, a dim of 1 (or a missing dim) repeats.
// Before looping, adjacent dims that are contiguous for every operand are merged ("coalesced"),
// so the innermost loop is as long as possible and usually runs through TensorPrimitives.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace MiniNet.Kernels;

/// <summary>Element-wise kernels for the CPU backend.</summary>
public static class Elementwise
{
    /// <summary>y = a op b with a and b broadcast to yShape.</summary>
    public static void Binary(BinaryOp op, ReadOnlySpan<float> a, int[] aShape, ReadOnlySpan<float> b, int[] bShape, Span<float> y, int[] yShape)
    {
        if (y.IsEmpty) return;
        if (a.Length == y.Length && b.Length == y.Length)
        {
            Row(op, a, false, b, false, y);
            return;
        }
        if (a.Length == y.Length && b.Length == 1)
        {
            Row(op, a, false, b, true, y);
            return;
        }
        if (a.Length == 1 && b.Length == y.Length)
        {
            Row(op, a, true, b, false, y);
            return;
        }
        var dims = Coalesce(yShape, BroadcastStrides(aShape, yShape), BroadcastStrides(bShape, yShape));
        int rank = dims.Sizes.Length;
        int inner = dims.Sizes[rank - 1];
        bool aScalar = dims.StridesA[rank - 1] == 0, bScalar = dims.StridesB[rank - 1] == 0;
        Span<int> index = stackalloc int[rank];
        int outer = y.Length / inner, offA = 0, offB = 0;
        for (int row = 0; row < outer; row++)
        {
            Row(op, a.Slice(offA, aScalar ? 1 : inner), aScalar, b.Slice(offB, bScalar ? 1 : inner), bScalar, y.Slice(row * inner, inner));
            for (int d = rank - 2; d >= 0; d--)
            {
                offA += dims.StridesA[d];
                offB += dims.StridesB[d];
                if (++index[d] < dims.Sizes[d]) break;
                offA -= dims.StridesA[d] * dims.Sizes[d];
                offB -= dims.StridesB[d] * dims.Sizes[d];
                index[d] = 0;
            }
        }
    }

    // One contiguous row: a and b are either full rows or single values (scalar = broadcast).
    static void Row(BinaryOp op, ReadOnlySpan<float> a, bool aScalar, ReadOnlySpan<float> b, bool bScalar, Span<float> y)
    {
        if (aScalar && bScalar)
        {
            Span<float> one = stackalloc float[1];
            Row(op, a, false, b, false, one);
            y.Fill(one[0]);
            return;
        }
        switch (op)
        {
            case BinaryOp.Add when aScalar: TensorPrimitives.Add(b, a[0], y); return;
            case BinaryOp.Add when bScalar: TensorPrimitives.Add(a, b[0], y); return;
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); return;
            case BinaryOp.Sub when aScalar: TensorPrimitives.Subtract(a[0], b, y); return;
            case BinaryOp.Sub when bScalar: TensorPrimitives.Subtract(a, b[0], y); return;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); return;
            case BinaryOp.Mul when aScalar: TensorPrimitives.Multiply(b, a[0], y); return;
            case BinaryOp.Mul when bScalar: TensorPrimitives.Multiply(a, b[0], y); return;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); return;
            case BinaryOp.Div when aScalar: TensorPrimitives.Divide(a[0], b, y); return;
            case BinaryOp.Div when bScalar: TensorPrimitives.Divide(a, b[0], y); return;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); return;
            case BinaryOp.ReluBackward when !aScalar && !bScalar: ReluBackward(a, b, y); return;
        }
        for (int i = 0; i < y.Length; i++)
        {
            float u = a[aScalar ? 0 : i], v = b[bScalar ? 0 : i];
            y[i] = op switch
            {
                BinaryOp.Maximum => float.IsNaN(u) || float.IsNaN(v) ? float.NaN : MathF.Max(u, v),
                BinaryOp.Minimum => float.IsNaN(u) || float.IsNaN(v) ? float.NaN : MathF.Min(u, v),
                BinaryOp.Greater => u > v ? 1f : 0f,
                BinaryOp.Equal => u == v ? 1f : 0f,
                BinaryOp.ReluBackward => v > 0f ? u : 0f,
                _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
            };
        }
    }

    /// <summary>y = op(x [, scalar]); y may alias x.</summary>
    public static void Unary(UnaryOp op, ReadOnlySpan<float> x, float scalar, Span<float> y)
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Relu: Relu(x, y); break;
            case UnaryOp.Sign:
                for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f ? 1f : x[i] < 0f ? -1f : x[i];
                break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(x, scalar, y); break;
            case UnaryOp.MulScalar: TensorPrimitives.Multiply(x, scalar, y); break;
            case UnaryOp.PowScalar: TensorPrimitives.Pow(x, scalar, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown unary op");
        }
    }

    /// <summary>y = max(x, 0), NaN kept (as PyTorch); y may alias x.</summary>
    // IEEE maximum: NaN if x is NaN, and max(−0, +0) = +0, as the naive kernel's "x > 0 ? x : 0".
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    /// <summary>The scalar reference for <see cref="Relu"/>.</summary>
    public static void ReluNaive(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f || float.IsNaN(x[i]) ? x[i] : 0f;
    }

    /// <summary>dx = dy where x &gt; 0, else 0 (NaN x passes nothing); dx may alias dy.</summary>
    public static void ReluBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        if (dy.Length != x.Length || dx.Length != x.Length)
            throw new ArgumentException($"ReluBackward: lengths {dy.Length}, {x.Length} and {dx.Length} differ.");
        ref float rdy = ref MemoryMarshal.GetReference(dy);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rdx = ref MemoryMarshal.GetReference(dx);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var positive = Vector.GreaterThan(Vector.LoadUnsafe(ref rx, (nuint)i), Vector<float>.Zero);
                Vector.ConditionalSelect(positive, Vector.LoadUnsafe(ref rdy, (nuint)i), Vector<float>.Zero).StoreUnsafe(ref rdx, (nuint)i);
            }
        }
        for (; i < x.Length; i++) dx[i] = x[i] > 0f ? dy[i] : 0f;
    }

    /// <summary>The scalar reference for <see cref="ReluBackward"/>.</summary>
    public static void ReluBackwardNaive(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx)
    {
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] > 0f ? dy[i] : 0f;
    }

    /// <summary>y (shape yShape, same rank as xShape, 1 in reduced dims) = sum of x over the reduced dims.</summary>
    public static void SumTo(ReadOnlySpan<float> x, int[] xShape, Span<float> y, int[] yShape)
    {
        y.Clear();
        if (x.IsEmpty) return;
        if (y.Length == 1)
        {
            y[0] = TensorPrimitives.Sum(x);
            return;
        }
        if (y.Length == x.Length)
        {
            x.CopyTo(y);
            return;
        }
        var dims = Coalesce(xShape, BroadcastStrides(xShape, xShape), BroadcastStrides(yShape, xShape));
        int rank = dims.Sizes.Length;
        int inner = dims.Sizes[rank - 1];
        bool reduceInner = dims.StridesB[rank - 1] == 0;
        Span<int> index = stackalloc int[rank];
        int outer = x.Length / inner, offY = 0;
        for (int row = 0; row < outer; row++)
        {
            var xRow = x.Slice(row * inner, inner);
            if (reduceInner) y[offY] += TensorPrimitives.Sum(xRow);
            else TensorPrimitives.Add(y.Slice(offY, inner), xRow, y.Slice(offY, inner));
            for (int d = rank - 2; d >= 0; d--)
            {
                offY += dims.StridesB[d];
                if (++index[d] < dims.Sizes[d]) break;
                offY -= dims.StridesB[d] * dims.Sizes[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>y = x with dims permuted: y's dim i is x's dim perm[i].</summary>
    public static void Permute(ReadOnlySpan<float> x, int[] xShape, int[] perm, Span<float> y)
    {
        int rank = xShape.Length;
        var xStrides = ContiguousStrides(xShape);
        var sizes = new int[rank];
        var strides = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            sizes[i] = xShape[perm[i]];
            strides[i] = xStrides[perm[i]];
        }
        if (rank == 0 || x.Length == 0)
        {
            x.CopyTo(y);
            return;
        }
        if (rank == 2 && perm[0] == 1)
        {
            Transpose2d(x, xShape[0], xShape[1], y);
            return;
        }
        Span<int> index = stackalloc int[rank];
        int inner = sizes[rank - 1], innerStride = strides[rank - 1], off = 0;
        for (int o = 0; o < y.Length; o += inner)
        {
            for (int i = 0; i < inner; i++) y[o + i] = x[off + i * innerStride];
            for (int d = rank - 2; d >= 0; d--)
            {
                off += strides[d];
                if (++index[d] < sizes[d]) break;
                off -= strides[d] * sizes[d];
                index[d] = 0;
            }
        }
    }

    // x [rows, cols] -> y [cols, rows], in cache-sized tiles.
    static void Transpose2d(ReadOnlySpan<float> x, int rows, int cols, Span<float> y)
    {
        const int Tile = 32;
        for (int r0 = 0; r0 < rows; r0 += Tile)
        {
            for (int c0 = 0; c0 < cols; c0 += Tile)
            {
                int r1 = Math.Min(r0 + Tile, rows), c1 = Math.Min(c0 + Tile, cols);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++)
                        y[c * rows + r] = x[r * cols + c];
            }
        }
    }

    /// <summary>Index of the first maximum of each row of x [rows, cols] (a NaN counts as the maximum).</summary>
    public static void ArgMaxRows(ReadOnlySpan<float> x, int rows, int cols, Span<int> result)
    {
        for (int r = 0; r < rows; r++) result[r] = TensorPrimitives.IndexOfMax(x.Slice(r * cols, cols));
    }

    /// <summary>mask[i] = 1/(1−p) with probability 1−p, else 0; element i's draw depends only on (seed, i).</summary>
    public static void DropoutMask(Span<float> mask, float p, ulong seed)
    {
        float scale = p >= 1f ? 0f : 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = UniformAt(seed, (ulong)i) >= p ? scale : 0f;
    }

    /// <summary>A uniform float in [0, 1) from a counter-based hash (SplitMix64 finaliser) of (seed, counter).</summary>
    public static float UniformAt(ulong seed, ulong counter)
    {
        ulong z = seed + (counter + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (1f / (1 << 24));
    }

    /// <summary>Row-major strides of a contiguous tensor of the given shape.</summary>
    public static int[] ContiguousStrides(int[] shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    // Strides of a contiguous tensor of shape `shape` read as if broadcast to `target` (0 where repeated).
    static int[] BroadcastStrides(int[] shape, int[] target)
    {
        var own = ContiguousStrides(shape);
        var strides = new int[target.Length];
        int shift = target.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++) strides[i + shift] = shape[i] == 1 ? 0 : own[i];
        return strides;
    }

    readonly record struct Dims(int[] Sizes, int[] StridesA, int[] StridesB);

    // Drops dims of size 1 and merges neighbours that are contiguous for every operand (y is contiguous,
    // so "contiguous" means stride[i] == stride[i+1] * size[i+1] for a and b alike).
    static Dims Coalesce(int[] shape, int[] stridesA, int[] stridesB)
    {
        var sizes = new List<int>(shape.Length);
        var sa = new List<int>(shape.Length);
        var sb = new List<int>(shape.Length);
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            int last = sizes.Count - 1;
            if (last >= 0 && sa[last] == stridesA[i] * shape[i] && sb[last] == stridesB[i] * shape[i])
            {
                sizes[last] *= shape[i];
                sa[last] = stridesA[i];
                sb[last] = stridesB[i];
                continue;
            }
            sizes.Add(shape[i]);
            sa.Add(stridesA[i]);
            sb.Add(stridesB[i]);
        }
        if (sizes.Count == 0)
        {
            sizes.Add(1);
            sa.Add(0);
            sb.Add(0);
        }
        return new Dims([.. sizes], [.. sa], [.. sb]);
    }
}
