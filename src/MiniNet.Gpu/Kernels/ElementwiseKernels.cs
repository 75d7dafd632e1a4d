// Element-wise ILGPU kernels: fill, broadcasting binary ops, unary ops, y += alpha·x, sums to a
// broadcast shape, permutes, row argmax and the dropout mask. Reference semantics: MiniNet.Kernels.
// Elementwise (the CPU backend); results agree with it to float rounding, and the dropout mask agrees
// bit for bit (the same counter-based hash of (seed, index)).
//
// Index arithmetic: a broadcast or permuted operand's offset comes from the output's linear index through
// the merged dims in LoopDims (innermost first, at most LoopDims.MaxRank): a division per dim but the outermost.
// Reductions are deterministic: each thread sums a fixed strided share in order, a group combines its
// threads in a fixed tree in shared memory, and slices of one output are combined by a second pass.
// Traps: every thread of a group must reach every Group.Barrier(), so group kernels return early only on
// conditions that hold for the whole group (the row or output index is the group's index).
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace MiniNet.Gpu.Kernels;

/// <summary>One dim of an element-wise loop: its size and each operand's stride in it (0 where broadcast).</summary>
/// <param name="Size">The dim's size.</param>
/// <param name="StrideA">Operand a's stride in this dim.</param>
/// <param name="StrideB">Operand b's stride in this dim.</param>
public readonly record struct LoopDim(int Size, int StrideA, int StrideB);

/// <summary>
/// Up to <see cref="MaxRank"/> dims of an element-wise loop over a contiguous output, innermost first
/// (D0 is the innermost, D[Rank − 1] the outermost). A kernel argument, so a fixed set of fields (ILGPU
/// takes value types made of scalars, public or visible to its runtime).
/// </summary>
public record struct LoopDims
{
    /// <summary>The most dims a loop may have.</summary>
    public const int MaxRank = 8;

    /// <summary>The number of dims in use, 1 to <see cref="MaxRank"/>.</summary>
    public int Rank { get; set; }
    /// <summary>Dim 0 (the innermost).</summary>
    public LoopDim D0 { get; set; }
    /// <summary>Dim 1.</summary>
    public LoopDim D1 { get; set; }
    /// <summary>Dim 2.</summary>
    public LoopDim D2 { get; set; }
    /// <summary>Dim 3.</summary>
    public LoopDim D3 { get; set; }
    /// <summary>Dim 4.</summary>
    public LoopDim D4 { get; set; }
    /// <summary>Dim 5.</summary>
    public LoopDim D5 { get; set; }
    /// <summary>Dim 6.</summary>
    public LoopDim D6 { get; set; }
    /// <summary>Dim 7.</summary>
    public LoopDim D7 { get; set; }

    /// <summary>Dim <paramref name="d"/> (0 = innermost).</summary>
    public LoopDim this[int d]
    {
        readonly get => d switch
        {
            0 => D0,
            1 => D1,
            2 => D2,
            3 => D3,
            4 => D4,
            5 => D5,
            6 => D6,
            _ => D7,
        };
        set
        {
            switch (d)
            {
                case 0: D0 = value; break;
                case 1: D1 = value; break;
                case 2: D2 = value; break;
                case 3: D3 = value; break;
                case 4: D4 = value; break;
                case 5: D5 = value; break;
                case 6: D6 = value; break;
                default: D7 = value; break;
            }
        }
    }

    /// <summary>
    /// The offsets in operands a and b of the output element at linear index <paramref name="index"/>: the
    /// coordinate of each inner dim is peeled off with one division; the outermost takes what is left.
    /// </summary>
    public readonly void Offsets(int index, out int offsetA, out int offsetB)
    {
        int rest = index;
        offsetA = 0;
        offsetB = 0;
        int rank = Rank;
        if (rank > 1) Peel(ref rest, D0, ref offsetA, ref offsetB);
        if (rank > 2) Peel(ref rest, D1, ref offsetA, ref offsetB);
        if (rank > 3) Peel(ref rest, D2, ref offsetA, ref offsetB);
        if (rank > 4) Peel(ref rest, D3, ref offsetA, ref offsetB);
        if (rank > 5) Peel(ref rest, D4, ref offsetA, ref offsetB);
        if (rank > 6) Peel(ref rest, D5, ref offsetA, ref offsetB);
        if (rank > 7) Peel(ref rest, D6, ref offsetA, ref offsetB);
        var outer = this[rank - 1];
        offsetA += rest * outer.StrideA;
        offsetB += rest * outer.StrideB;
    }

    static void Peel(ref int rest, LoopDim dim, ref int offsetA, ref int offsetB)
    {
        int quotient = rest / dim.Size;
        int coordinate = rest - quotient * dim.Size;
        offsetA += coordinate * dim.StrideA;
        offsetB += coordinate * dim.StrideB;
        rest = quotient;
    }
}

/// <summary>Fill, binary and unary element-wise ops, and y += alpha·x.</summary>
internal static class ElementwiseKernels
{
    /// <summary>y[i] = value.</summary>
    public static void Fill(Index1D i, ArrayView<float> y, float value)
    {
        if (i >= y.Length) return;
        y[i] = value;
    }

    /// <summary>y[i] = a[i·strideA] op b[i·strideB], strides 1 (full operand) or 0 (a single value).</summary>
    public static void BinaryFlat(Index1D i, BinaryOp op, ArrayView<float> a, int strideA, ArrayView<float> b, int strideB, ArrayView<float> y)
    {
        if (i >= y.Length) return;
        int at = i;
        y[at] = Apply(op, a[at * strideA], b[at * strideB]);
    }

    /// <summary>y[i] = a[offsetA(i)] op b[offsetB(i)] with the offsets from the merged broadcast dims.</summary>
    public static void BinaryBroadcast(Index1D i, BinaryOp op, ArrayView<float> a, ArrayView<float> b, LoopDims dims, ArrayView<float> y)
    {
        if (i >= y.Length) return;
        dims.Offsets(i, out int offsetA, out int offsetB);
        y[i] = Apply(op, a[offsetA], b[offsetB]);
    }

    // The op is the same for every thread of a launch, so the switch never diverges.
    static float Apply(BinaryOp op, float u, float v) => op switch
    {
        BinaryOp.Add => u + v,
        BinaryOp.Sub => u - v,
        BinaryOp.Mul => u * v,
        BinaryOp.Div => u / v,
        BinaryOp.Maximum => XMath.IsNaN(u) || XMath.IsNaN(v) ? float.NaN : XMath.Max(u, v),
        BinaryOp.Minimum => XMath.IsNaN(u) || XMath.IsNaN(v) ? float.NaN : XMath.Min(u, v),
        BinaryOp.Greater => u > v ? 1f : 0f,
        BinaryOp.Equal => u == v ? 1f : 0f,
        BinaryOp.ReluBackward => v > 0f ? u : 0f,
        _ => float.NaN,
    };

    /// <summary>y[i] = op(x[i] [, scalar]); y may be x.</summary>
    public static void Unary(Index1D i, UnaryOp op, ArrayView<float> x, float scalar, ArrayView<float> y)
    {
        if (i >= y.Length) return;
        float v = x[i];
        y[i] = op switch
        {
            UnaryOp.Neg => -v,
            UnaryOp.Exp => XMath.Exp(v),
            UnaryOp.Log => XMath.Log(v),
            UnaryOp.Sqrt => XMath.Sqrt(v),
            UnaryOp.Abs => XMath.Abs(v),
            UnaryOp.Sign => v > 0f ? 1f : v < 0f ? -1f : v,           // keeps ±0 and NaN, as the CPU
            UnaryOp.Relu => v > 0f || XMath.IsNaN(v) ? v : 0f,
            UnaryOp.Sigmoid => 1f / (1f + XMath.Exp(-v)),
            UnaryOp.Tanh => Tanh(v),
            UnaryOp.AddScalar => v + scalar,
            UnaryOp.MulScalar => v * scalar,
            UnaryOp.PowScalar => Pow(v, scalar),
            _ => float.NaN,
        };
    }

    // tanh x = sign(x)·(1 − 2/(e^{2|x|} + 1)): finite for every x (the textbook (e^{2x} − 1)/(e^{2x} + 1)
    // is ∞/∞ = NaN past |x| ≈ 44). Near 0 that form cancels, so |x| < 1/8 uses the odd Taylor series
    // x − x³/3 + 2x⁵/15 − 17x⁷/315, whose next term (62/2835·x⁹) is below float precision there.
    static float Tanh(float x)
    {
        float a = XMath.Abs(x);
        if (a < 0.125f)
        {
            float x2 = x * x;
            return x * (1f + x2 * (-1f / 3f + x2 * (2f / 15f + x2 * (-17f / 315f))));
        }
        float t = 1f - 2f / (XMath.Exp(2f * a) + 1f);
        return x < 0f ? -t : t;
    }

    // x^p as MathF.Pow. Integer exponents up to 64 in size (x², 1/x, ... from autograd) use exact
    // repeated squaring, which also gives pow's special values: x⁰ = 1 even for NaN, (−0)⁻¹ = −∞,
    // (−2)³ = −8. Other exponents go to XMath.Pow, which follows MathF.Pow's special cases.
    static float Pow(float x, float p)
    {
        if (p == XMath.Floor(p) && XMath.Abs(p) <= 64f)
        {
            int n = (int)XMath.Abs(p);
            float result = 1f, power = x;
            while (n > 0)
            {
                if ((n & 1) != 0) result *= power;
                power *= power;
                n >>= 1;
            }
            return p < 0f ? 1f / result : result;
        }
        return XMath.Pow(x, p);
    }

    /// <summary>y[i] += alpha·x[i].</summary>
    public static void AddScaled(Index1D i, ArrayView<float> y, ArrayView<float> x, float alpha)
    {
        if (i >= y.Length) return;
        y[i] = x[i] * alpha + y[i];
    }
}

/// <summary>Reductions of a sum over some dims: a group per output (rows) or a thread per output (columns).</summary>
internal static class SumKernels
{
    // x viewed as [outer, kept, inner]; output k sums its outer·inner values x[(o·kept + k)·inner + i],
    // numbered r = o·inner + i, split into `slices` slices of `chunk` consecutive r. Group g = k·slices + s
    // sums slice s of output k: thread t takes r = start + t, t + G, ... (adjacent threads read adjacent
    // addresses when inner > 1), stepping (o, i) by G without a division: G = stepO·inner + stepI.
    // y[g] = scale · the group's tree sum.

    /// <summary>y [kept·slices] = scale · sums of slices of x [outer, kept, inner] over outer and inner (one group per slice).</summary>
    public static void SumRows(ArrayView<float> x, int outer, int kept, int inner, int slices, int chunk, float scale, ArrayView<float> y)
    {
        var shared = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        int g = Grid.IdxX;
        if (g >= kept * slices) return;                          // the whole group returns
        int k = g / slices, s = g - k * slices;
        int t = Group.IdxX, groupSize = Group.DimX;
        long count = (long)outer * inner;
        long end = Math.Min(count, (long)(s + 1) * chunk);
        long r = (long)s * chunk + t;
        int o = (int)(r / inner), i = (int)(r - (long)o * inner);
        int stepO = groupSize / inner, stepI = groupSize - stepO * inner;
        float sum = 0f;
        for (; r < end; r += groupSize)
        {
            sum += x[((long)o * kept + k) * inner + i];
            o += stepO;
            i += stepI;
            if (i >= inner)
            {
                i -= inner;
                o++;
            }
        }
        float total = GroupTree.Sum(shared, sum);
        if (t == 0) y[g] = total * scale;
    }

    // x viewed as [outer, reduce, inner]; output o = po·inner + pi sums x[(po·reduce + r)·inner + pi] over r,
    // split into `slices` slices of `chunk` consecutive r. Thread index = s·outputs + o sums slice s of
    // output o in order; adjacent threads take adjacent pi, so reads along a row are coalesced.

    /// <summary>y [slices, outer·inner] = sums of slices of x [outer, reduce, inner] over reduce (one thread per slice and output).</summary>
    public static void SumColumns(Index1D index, ArrayView<float> x, int outer, int reduce, int inner, int slices, int chunk, ArrayView<float> y)
    {
        int outputs = outer * inner;
        if (index >= outputs * slices) return;
        int s = index / outputs, o = index - s * outputs;
        int po = o / inner, pi = o - po * inner;
        int begin = s * chunk, end = Math.Min(reduce, begin + chunk);
        long at = ((long)po * reduce + begin) * inner + pi;
        float sum = 0f;
        for (int r = begin; r < end; r++, at += inner) sum += x[at];
        y[index] = sum;
    }
}

/// <summary>Copies with the dims reordered.</summary>
internal static class PermuteKernels
{
    /// <summary>y[i] = x[offset(i)], the offset of y's element i in x from y's merged dims and x's strides (StrideA).</summary>
    public static void Permute(Index1D i, ArrayView<float> x, LoopDims dims, ArrayView<float> y)
    {
        if (i >= y.Length) return;
        dims.Offsets(i, out int from, out _);
        y[i] = x[from];
    }
}

/// <summary>Index of the first maximum of each row.</summary>
internal static class ArgMaxKernels
{
    // The order CPU's TensorPrimitives.IndexOfMax uses: NaN above everything, then the larger value,
    // +0 above −0, then the smaller index. It is a total order on (value, index) pairs, so the tree
    // finds the same winner as a left-to-right scan.
    static bool Beats(float v, int i, float w, int j)
    {
        bool vNaN = XMath.IsNaN(v), wNaN = XMath.IsNaN(w);
        if (vNaN || wNaN) return vNaN && (!wNaN || i < j);
        if (v != w) return v > w;
        if (v == 0f)
        {
            bool vPositive = 1f / v > 0f, wPositive = 1f / w > 0f;
            if (vPositive != wPositive) return vPositive;
        }
        return i < j;
    }

    /// <summary>result[row] = index of the first maximum of x [rows, cols]'s row (one group per row).</summary>
    public static void ArgMaxRows(ArrayView<float> x, int rows, int cols, ArrayView<int> result)
    {
        var values = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        var indices = SharedMemory.Allocate<int>(IlgpuBackend.MaxGroupSize);
        int row = Grid.IdxX;
        if (row >= rows) return;                                  // the whole group returns
        int t = Group.IdxX, groupSize = Group.DimX;
        long start = (long)row * cols;
        float best = float.NegativeInfinity;
        int bestAt = int.MaxValue;                                // loses to any element, -∞ included
        for (int j = t; j < cols; j += groupSize)
        {
            float v = x[start + j];
            if (Beats(v, j, best, bestAt))
            {
                best = v;
                bestAt = j;
            }
        }
        values[t] = best;
        indices[t] = bestAt;
        Group.Barrier();
        for (int half = groupSize / 2; half > 0; half /= 2)
        {
            if (t < half && Beats(values[t + half], indices[t + half], values[t], indices[t]))
            {
                values[t] = values[t + half];
                indices[t] = indices[t + half];
            }
            Group.Barrier();
        }
        if (t == 0) result[row] = indices[0];
    }
}

/// <summary>The inverted-dropout mask from a counter-based generator.</summary>
internal static class DropoutKernels
{
    /// <summary>mask[i] = scale where UniformAt(seed, i) ≥ p, else 0 (scale = 1/(1 − p), computed by the caller as the CPU does).</summary>
    public static void DropoutMask(Index1D i, ArrayView<float> mask, float p, float scale, ulong seed)
    {
        if (i >= mask.Length) return;
        mask[i] = UniformAt(seed, (ulong)(int)i) >= p ? scale : 0f;
    }

    // MiniNet.Kernels.Elementwise.UniformAt, operation for operation: the SplitMix64 finaliser of
    // seed + (counter + 1)·golden ratio, top 24 bits scaled to [0, 1) (exact in float).
    static float UniformAt(ulong seed, ulong counter)
    {
        ulong z = seed + (counter + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (1f / (1 << 24));
    }
}

/// <summary>Reductions over the threads of one group through shared memory, in a fixed tree order.</summary>
internal static class GroupTree
{
    // Every thread of the group calls these with the same `shared` array (at least Group.DimX long, a
    // power of two); every thread gets the result. The closing barrier lets `shared` be reused at once.

    /// <summary>The sum of every thread's value.</summary>
    public static float Sum(ArrayView<float> shared, float value)
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int half = Group.DimX / 2; half > 0; half /= 2)
        {
            if (t < half) shared[t] += shared[t + half];
            Group.Barrier();
        }
        float total = shared[0];
        Group.Barrier();
        return total;
    }

    /// <summary>The largest of every thread's value; NaN if any is NaN (as TensorPrimitives.Max).</summary>
    public static float Max(ArrayView<float> shared, float value)
    {
        int t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (int half = Group.DimX / 2; half > 0; half /= 2)
        {
            if (t < half) shared[t] = MaxOrNaN(shared[t], shared[t + half]);
            Group.Barrier();
        }
        float max = shared[0];
        Group.Barrier();
        return max;
    }

    /// <summary>max(a, b), NaN when either is NaN.</summary>
    public static float MaxOrNaN(float a, float b) => a > b || XMath.IsNaN(a) ? a : b;
}
