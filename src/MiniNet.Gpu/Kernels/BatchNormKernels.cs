// Batch normalisation on an ILGPU accelerator, with the semantics of MiniNet.Kernels.BatchNormKernels (the
// CPU reference): x viewed as [n, c, s], m = n·s values per channel, the BIASED variance to normalise.
//
// Every operation is a few launches, each reading its inputs once:
//   training forward   Stats (reduction) → FinishStats (per channel) → Map: y = slope·(x − center) + shift
//   eval forward       EvalCoefficients (per channel) → Map
//   training backward  GradSums (reduction) → FinishGrads (per channel) → Map: dx = scale·dy + slope·(x − center) + shift
//   eval backward      [GradSums →] FinishGrads → Map: dx = scale·dy
// Map's per-channel coefficients live in one scratch buffer [4, c] = [scale | slope | center | shift].
//
// Work split (BatchNormPlan): a launch is a grid of groups, each owning one chunk of one "unit" (a channel, or
// a tile of channels) and reducing it to one partial per channel; FinishStats/FinishGrads combine the chunks'
// partials of a channel in chunk order. No atomics: results are deterministic on a given device.
// - planar layout (s > 8): unit = one channel. The channel's m values are taken in flattened order
//   k = i·s + j at address (i·c + ch)·s + j and cut into Chunks equal ranges of k; adjacent threads take
//   adjacent k, so a warp reads contiguous runs of a row whatever s is (all threads busy even for s = 7·7).
//   A thread steps k by the group size with (row, col) advanced incrementally: no division per element.
// - rows layout (s ≤ 8, e.g. BatchNorm1d on [N, C], s = 1): x is n rows of c·s contiguous floats; unit = a
//   tile of ChannelsPerTile whole channels, i.e. TileWidth adjacent columns; adjacent threads take adjacent
//   columns (coalesced), TileWidth-wide lanes of a group stride down the rows of the chunk's row range.
// Threads load four values before using any (four loads in flight each), which a memory-bound kernel
// needs to approach the device's bandwidth.
//
// Precision: each thread keeps Welford moments (count, mean, M2), merged with Chan's formula (within a
// thread, across the group's tree in shared memory, then across chunks), so a channel of 1e6 values with mean
// 1000 and std 1 keeps its variance (a float sum of squares would lose it). Gradient sums are Σdy and
// Σdy·(x − mean), plain float sums per thread, tree-added.
//
// Traps: var + eps == 0 gives invStd = 0 (as the CPU kernels, not NaN); empty weight/bias views mean affine
// off; empty output views mean "not needed". Group.DimX is a power of two (the tree needs it).
using ILGPU;
using ILGPU.Algorithms;

namespace MiniNet.Gpu.Kernels;

/// <summary>
/// The geometry of one batch-norm launch over x viewed as [n, c, s] (see the file header); public because ILGPU
/// needs kernel parameter types to be.
/// </summary>
public readonly struct BatchNormPlan
{
    /// <summary>s at or below which the rows layout is used.</summary>
    public const int RowsLayoutMaxS = 8;

    /// <summary>Creates a plan; <paramref name="tileWidth"/> 0 selects the planar layout.</summary>
    public BatchNormPlan(int n, int c, int s, int chunks, int tileWidth, int channelsPerTile)
    {
        N = n;
        C = c;
        S = s;
        Chunks = chunks;
        TileWidth = tileWidth;
        ChannelsPerTile = channelsPerTile;
    }

    /// <summary>Batch size n.</summary>
    public int N { get; }
    /// <summary>Channels c.</summary>
    public int C { get; }
    /// <summary>Values per channel per sample s (1 for [N, C]).</summary>
    public int S { get; }
    /// <summary>Chunks per unit (channel or tile); partials are [field, c, Chunks].</summary>
    public int Chunks { get; }
    /// <summary>Columns per tile in the rows layout; 0 for the planar layout.</summary>
    public int TileWidth { get; }
    /// <summary>Whole channels per tile in the rows layout (TileWidth / s).</summary>
    public int ChannelsPerTile { get; }

    /// <summary>Whether this is the rows layout (else planar).</summary>
    public bool IsRows => TileWidth > 0;

    /// <summary>Number of groups to launch: units × chunks.</summary>
    public int Groups => (IsRows ? (C + ChannelsPerTile - 1) / ChannelsPerTile : C) * Chunks;

    /// <summary>What thread <paramref name="lane"/> of group <paramref name="group"/> (of <paramref name="lanes"/> threads) works on.</summary>
    internal GroupTask Locate(int group, int lane, int lanes)
    {
        int unit = group / Chunks, chunk = group - unit * Chunks;
        int rowStride = C * S;
        if (!IsRows)
        {
            // Channel `unit`, flattened indices k in [begin, end); this thread takes begin + lane, + lanes, ...
            // Chunk bounds are multiples of 32, so warps stay 128-byte aligned when s is (56·56 = 98·32).
            long m = (long)N * S;
            int begin = ChunkStart(m, chunk), end = chunk + 1 == Chunks ? (int)m : ChunkStart(m, chunk + 1);
            int k = begin + lane;
            int row = k / S, col = k - row * S;
            int rowStep = lanes / S, colStep = lanes - rowStep * S;
            int count = k < end ? (end - k + lanes - 1) / lanes : 0;
            var planar = new Walk(row * rowStride + unit * S + col, col, count, rowStep * rowStride + colStep, colStep, S, rowStride - S);
            return new GroupTask(planar, unit, 1, unit, chunk, 1, lanes, 1);
        }
        // Tile `unit`: columns first·s + tx of rows [r0, r1); this thread takes rows r0 + ry, + rowLanes, ...
        int tx = lane % TileWidth, ry = lane / TileWidth, rowLanes = lanes / TileWidth;
        int first = unit * ChannelsPerTile;
        int channels = C - first < ChannelsPerTile ? C - first : ChannelsPerTile;
        int r0 = (int)((long)N * chunk / Chunks), r1 = (int)((long)N * (chunk + 1) / Chunks);
        int r = r0 + ry;
        bool active = tx < channels * S;
        int rowCount = active && r < r1 ? (r1 - r + rowLanes - 1) / rowLanes : 0;
        var rows = new Walk(r * rowStride + first * S + tx, 0, rowCount, rowLanes * rowStride, 0, 1, 0);
        return new GroupTask(rows, first, channels, active ? first + tx / S : first, chunk, TileWidth, rowLanes, S);
    }

    int ChunkStart(long m, int chunk) => (int)(m * chunk / Chunks) & ~31;

    /// <summary>Index of field <paramref name="field"/> of channel <paramref name="channel"/>'s partial for <paramref name="chunk"/>.</summary>
    public int PartialIndex(int field, int channel, int chunk) => (field * C + channel) * Chunks + chunk;
}

/// <summary>
/// One thread's share of a group's work: a walk over its elements, and how the group's shared-memory slots fold
/// into per-channel partials (a tree over Slots positions SlotUnit apart, then ColumnsPerChannel adjacent slots).
/// </summary>
internal readonly struct GroupTask
{
    public GroupTask(Walk walk, int firstChannel, int channels, int channel, int chunk, int slotUnit, int slots, int columnsPerChannel)
    {
        Walk = walk;
        FirstChannel = firstChannel;
        Channels = channels;
        Channel = channel;
        Chunk = chunk;
        SlotUnit = slotUnit;
        Slots = slots;
        ColumnsPerChannel = columnsPerChannel;
    }

    public Walk Walk { get; }
    /// <summary>The group's channels are FirstChannel .. FirstChannel + Channels − 1.</summary>
    public int FirstChannel { get; }
    public int Channels { get; }
    /// <summary>The channel of this thread's elements.</summary>
    public int Channel { get; }
    public int Chunk { get; }
    public int SlotUnit { get; }
    public int Slots { get; }
    public int ColumnsPerChannel { get; }
}

/// <summary>
/// A thread's walk over its elements: Count addresses, each Step after the previous; when the column passes
/// Width it wraps back and the address jumps Wrap more (the next row of the channel's plane). With
/// ColumnStep = 0 and Width = 1 it never wraps (the rows layout).
/// </summary>
internal readonly struct Walk
{
    public Walk(int address, int column, int count, int step, int columnStep, int width, int wrap)
    {
        Address = address;
        Column = column;
        Count = count;
        Step = step;
        ColumnStep = columnStep;
        Width = width;
        Wrap = wrap;
    }

    public int Address { get; }
    public int Column { get; }
    /// <summary>Elements left, this one included.</summary>
    public int Count { get; }
    public int Step { get; }
    public int ColumnStep { get; }
    public int Width { get; }
    public int Wrap { get; }

    public Walk Next()
    {
        int column = Column + ColumnStep, address = Address + Step;
        if (column >= Width)
        {
            column -= Width;
            address += Wrap;
        }
        return new Walk(address, column, Count - 1, Step, ColumnStep, Width, Wrap);
    }
}

/// <summary>Welford moments of a set of values: count, mean and M2 = Σ(x − mean)².</summary>
internal readonly struct Moments
{
    public Moments(float count, float mean, float m2)
    {
        Count = count;
        Mean = mean;
        M2 = m2;
    }

    public float Count { get; }
    public float Mean { get; }
    public float M2 { get; }

    public static Moments Empty => new(0f, 0f, 0f);

    // Chan et al.: n = na + nb, δ = mean_b − mean_a, mean = mean_a + δ·nb/n, M2 = M2a + M2b + δ²·na·nb/n.
    public static Moments Merge(Moments a, Moments b)
    {
        float n = a.Count + b.Count;
        if (n == 0f) return a;
        float delta = b.Mean - a.Mean, f = b.Count / n;
        return new Moments(n, a.Mean + delta * f, a.M2 + b.M2 + delta * delta * a.Count * f);
    }

    // Welford's update with one value.
    public Moments Add(float x)
    {
        float n = Count + 1f, delta = x - Mean, mean = Mean + delta / n;
        return new Moments(n, mean, M2 + delta * (x - mean));
    }

    // Four values: their own mean and M2 (exact two-pass over registers), merged in.
    public Moments Add4(float x0, float x1, float x2, float x3)
    {
        float mean = (x0 + x1 + x2 + x3) * 0.25f;
        float d0 = x0 - mean, d1 = x1 - mean, d2 = x2 - mean, d3 = x3 - mean;
        return Merge(this, new Moments(4f, mean, d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3));
    }
}

/// <summary>
/// The reductions: one partial per (channel, chunk). Partials are [field, c, chunks]; Stats writes the fields
/// count, mean, M2; GradSums writes Σdy, Σdy·(x − center).
/// </summary>
internal static class BatchNormReductionKernels
{
    /// <summary>Per-(channel, chunk) Welford moments of x.</summary>
    public static void Stats(ArrayView<float> x, BatchNormPlan plan, ArrayView<float> partials)
    {
        var counts = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        var means = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        var m2s = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        int lane = Group.IdxX;
        var task = plan.Locate(Grid.IdxX, lane, Group.DimX);

        var acc = Moments.Empty;
        var w = task.Walk;
        while (w.Count >= 4)
        {
            var w1 = w.Next();
            var w2 = w1.Next();
            var w3 = w2.Next();
            acc = acc.Add4(x[w.Address], x[w1.Address], x[w2.Address], x[w3.Address]);
            w = w3.Next();
        }
        for (; w.Count > 0; w = w.Next()) acc = acc.Add(x[w.Address]);

        // Tree over the slots of one column (SlotUnit apart), then fold each channel's columns in order.
        Store(counts, means, m2s, lane, acc);
        Group.Barrier();
        for (int stride = task.Slots / 2; stride > 0; stride >>= 1)
        {
            if (lane / task.SlotUnit < stride)
            {
                int other = lane + stride * task.SlotUnit;
                Store(counts, means, m2s, lane, Moments.Merge(Load(counts, means, m2s, lane), Load(counts, means, m2s, other)));
            }
            Group.Barrier();
        }
        if (lane >= task.Channels) return;
        var channel = Moments.Empty;
        for (int j = 0; j < task.ColumnsPerChannel; j++)
        {
            channel = Moments.Merge(channel, Load(counts, means, m2s, lane * task.ColumnsPerChannel + j));
        }
        int ch = task.FirstChannel + lane;
        partials[plan.PartialIndex(0, ch, task.Chunk)] = channel.Count;
        partials[plan.PartialIndex(1, ch, task.Chunk)] = channel.Mean;
        partials[plan.PartialIndex(2, ch, task.Chunk)] = channel.M2;
    }

    /// <summary>Per-(channel, chunk) sums Σdy and Σdy·(x − center[ch]).</summary>
    public static void GradSums(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> center, BatchNormPlan plan, ArrayView<float> partials)
    {
        var sumsDy = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        var sumsDyDev = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        int lane = Group.IdxX;
        var task = plan.Locate(Grid.IdxX, lane, Group.DimX);
        float mean = center[task.Channel];

        float sumDy = 0f, sumDyDev = 0f;
        var w = task.Walk;
        while (w.Count >= 4)
        {
            var w1 = w.Next();
            var w2 = w1.Next();
            var w3 = w2.Next();
            float g0 = dy[w.Address], g1 = dy[w1.Address], g2 = dy[w2.Address], g3 = dy[w3.Address];
            float x0 = x[w.Address], x1 = x[w1.Address], x2 = x[w2.Address], x3 = x[w3.Address];
            sumDy += (g0 + g1) + (g2 + g3);
            sumDyDev += (g0 * (x0 - mean) + g1 * (x1 - mean)) + (g2 * (x2 - mean) + g3 * (x3 - mean));
            w = w3.Next();
        }
        for (; w.Count > 0; w = w.Next())
        {
            float g = dy[w.Address];
            sumDy += g;
            sumDyDev += g * (x[w.Address] - mean);
        }

        sumsDy[lane] = sumDy;
        sumsDyDev[lane] = sumDyDev;
        Group.Barrier();
        for (int stride = task.Slots / 2; stride > 0; stride >>= 1)
        {
            if (lane / task.SlotUnit < stride)
            {
                int other = lane + stride * task.SlotUnit;
                sumsDy[lane] += sumsDy[other];
                sumsDyDev[lane] += sumsDyDev[other];
            }
            Group.Barrier();
        }
        if (lane >= task.Channels) return;
        float channelDy = 0f, channelDyDev = 0f;
        for (int j = 0; j < task.ColumnsPerChannel; j++)
        {
            channelDy += sumsDy[lane * task.ColumnsPerChannel + j];
            channelDyDev += sumsDyDev[lane * task.ColumnsPerChannel + j];
        }
        int ch = task.FirstChannel + lane;
        partials[plan.PartialIndex(0, ch, task.Chunk)] = channelDy;
        partials[plan.PartialIndex(1, ch, task.Chunk)] = channelDyDev;
    }

    static void Store(ArrayView<float> counts, ArrayView<float> means, ArrayView<float> m2s, int slot, Moments value)
    {
        counts[slot] = value.Count;
        means[slot] = value.Mean;
        m2s[slot] = value.M2;
    }

    static Moments Load(ArrayView<float> counts, ArrayView<float> means, ArrayView<float> m2s, int slot) =>
        new(counts[slot], means[slot], m2s[slot]);
}

/// <summary>The element-wise pass: output = scale·u + slope·(v − center) + shift with per-channel coefficients.</summary>
internal static class BatchNormMapKernels
{
    /// <summary>
    /// output = scale·u + slope·(v − center) + shift, coefficients [4, c] = [scale | slope | center | shift];
    /// an empty u or v drops its term. Forward: u empty, v = x. Training dx: u = dy, v = x. Eval dx: v empty.
    /// </summary>
    public static void Map(ArrayView<float> u, ArrayView<float> v, BatchNormPlan plan, ArrayView<float> coefficients, ArrayView<float> output)
    {
        var task = plan.Locate(Grid.IdxX, Group.IdxX, Group.DimX);
        int c = plan.C, ch = task.Channel;
        float scale = coefficients[ch], slope = coefficients[c + ch], center = coefficients[2 * c + ch], shift = coefficients[3 * c + ch];
        bool hasU = u.Length > 0, hasV = v.Length > 0;

        var w = task.Walk;
        while (w.Count >= 4)
        {
            var w1 = w.Next();
            var w2 = w1.Next();
            var w3 = w2.Next();
            float u0 = 0f, u1 = 0f, u2 = 0f, u3 = 0f, v0 = center, v1 = center, v2 = center, v3 = center;
            if (hasU)
            {
                u0 = u[w.Address];
                u1 = u[w1.Address];
                u2 = u[w2.Address];
                u3 = u[w3.Address];
            }
            if (hasV)
            {
                v0 = v[w.Address];
                v1 = v[w1.Address];
                v2 = v[w2.Address];
                v3 = v[w3.Address];
            }
            output[w.Address] = Apply(u0, v0, hasU, hasV, scale, slope, center, shift);
            output[w1.Address] = Apply(u1, v1, hasU, hasV, scale, slope, center, shift);
            output[w2.Address] = Apply(u2, v2, hasU, hasV, scale, slope, center, shift);
            output[w3.Address] = Apply(u3, v3, hasU, hasV, scale, slope, center, shift);
            w = w3.Next();
        }
        for (; w.Count > 0; w = w.Next())
        {
            float u0 = hasU ? u[w.Address] : 0f, v0 = hasV ? v[w.Address] : center;
            output[w.Address] = Apply(u0, v0, hasU, hasV, scale, slope, center, shift);
        }
    }

    // The terms of absent inputs are skipped, not multiplied by zero (an infinite coefficient stays out).
    static float Apply(float u, float v, bool hasU, bool hasV, float scale, float slope, float center, float shift)
    {
        float r = shift;
        if (hasV) r += slope * (v - center);
        if (hasU) r += scale * u;
        return r;
    }
}

/// <summary>Per-channel kernels: one thread per channel, chunks combined in order.</summary>
internal static class BatchNormChannelKernels
{
    /// <summary>
    /// Combines the Stats partials: saveMean, saveInvStd = 1/√(var + eps) (0 when var + eps is 0), batchVar
    /// (biased); Map coefficients for y = invStd·weight·(x − mean) + bias.
    /// </summary>
    public static void FinishStats(Index1D ch, ArrayView<float> partials, BatchNormPlan plan, ArrayView<float> weight, ArrayView<float> bias, float eps,
        ArrayView<float> saveMean, ArrayView<float> saveInvStd, ArrayView<float> batchVar, ArrayView<float> coefficients)
    {
        int c = plan.C;
        if (ch >= c) return;
        var acc = Moments.Empty;
        for (int q = 0; q < plan.Chunks; q++)
        {
            acc = Moments.Merge(acc, new Moments(partials[plan.PartialIndex(0, ch, q)], partials[plan.PartialIndex(1, ch, q)], partials[plan.PartialIndex(2, ch, q)]));
        }
        float variance = XMath.Max(acc.M2 / acc.Count, 0f);
        float invStd = InvStd(variance, eps);
        saveMean[ch] = acc.Mean;
        saveInvStd[ch] = invStd;
        batchVar[ch] = variance;
        coefficients[ch] = 0f;
        coefficients[c + ch] = invStd * (weight.Length > 0 ? weight[ch] : 1f);
        coefficients[2 * c + ch] = acc.Mean;
        coefficients[3 * c + ch] = bias.Length > 0 ? bias[ch] : 0f;
    }

    /// <summary>Map coefficients for the eval forward: y = weight/√(runningVar + eps)·(x − runningMean) + bias.</summary>
    public static void EvalCoefficients(Index1D ch, int c, ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> weight, ArrayView<float> bias, float eps, ArrayView<float> coefficients)
    {
        if (ch >= c) return;
        coefficients[ch] = 0f;
        coefficients[c + ch] = InvStd(runningVar[ch], eps) * (weight.Length > 0 ? weight[ch] : 1f);
        coefficients[2 * c + ch] = runningMean[ch];
        coefficients[3 * c + ch] = bias.Length > 0 ? bias[ch] : 0f;
    }

    // Backward (derivation in MiniNet.Kernels.BatchNormKernels): with S1 = Σdy, S2 = Σdy·(x − mean),
    //   dBias = S1,  dWeight = S2·invStd,
    //   training: dx = a·dy + b·(x − mean) + c0 with a = w·invStd, b = −a·invStd²·S2/m, c0 = −a·S1/m;
    //   eval (statistics constant): dx = a·dy with invStd = 1/√(runningVar + eps).

    /// <summary>
    /// Combines the GradSums partials (none when chunks is 0: eval dx only) into dWeight and dBias (each skipped
    /// when empty) and the Map coefficients for dx. training ≠ 0: <paramref name="spread"/> is saveInvStd;
    /// else it is the running variance and invStd = 1/√(spread + eps).
    /// </summary>
    public static void FinishGrads(Index1D ch, ArrayView<float> partials, int c, int chunks, float m, int training, ArrayView<float> center, ArrayView<float> spread, float eps,
        ArrayView<float> weight, ArrayView<float> dWeight, ArrayView<float> dBias, ArrayView<float> coefficients)
    {
        if (ch >= c) return;
        float sumDy = 0f, sumDyDev = 0f;
        for (int q = 0; q < chunks; q++)
        {
            sumDy += partials[ch * chunks + q];
            sumDyDev += partials[(c + ch) * chunks + q];
        }
        float invStd = training != 0 ? spread[ch] : InvStd(spread[ch], eps);
        if (dBias.Length > 0) dBias[ch] = sumDy;
        if (dWeight.Length > 0) dWeight[ch] = sumDyDev * invStd;
        float a = (weight.Length > 0 ? weight[ch] : 1f) * invStd;
        coefficients[ch] = a;
        coefficients[c + ch] = training != 0 ? -a * invStd * invStd * sumDyDev / m : 0f;
        coefficients[2 * c + ch] = training != 0 ? center[ch] : 0f;
        coefficients[3 * c + ch] = training != 0 ? -a * sumDy / m : 0f;
    }

    /// <summary>
    /// running = (1 − f)·running + f·batch, the variance unbiased by <paramref name="unbias"/> = m/(m − 1);
    /// f = 1/count[0] when <paramref name="count"/> is non-empty (momentum = null), else <paramref name="factor"/>.
    /// </summary>
    public static void UpdateRunningStats(Index1D ch, ArrayView<float> batchMean, ArrayView<float> batchVar, float unbias, float factor, ArrayView<float> count,
        ArrayView<float> runningMean, ArrayView<float> runningVar)
    {
        if (ch >= batchMean.Length) return;
        float f = count.Length > 0 ? 1f / count[0] : factor;
        runningMean[ch] = f * batchMean[ch] + (1f - f) * runningMean[ch];
        runningVar[ch] = f * batchVar[ch] * unbias + (1f - f) * runningVar[ch];
    }

    static float InvStd(float variance, float eps)
    {
        float v = variance + eps;
        return v > 0f ? 1f / XMath.Sqrt(v) : 0f;
    }
}
