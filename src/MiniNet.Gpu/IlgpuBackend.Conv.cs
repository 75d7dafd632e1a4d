// Conv2d and MaxPool2d on an ILGPU accelerator, with the contracts of MiniNet.Kernels.Conv2dKernels
// and MaxPool2dKernels (layouts x [n, cIn, h, w], weight [cOut, cIn, k, k], y [n, cOut, outH, outW];
// bias may be null; backward outputs that are null (or empty) are skipped, the others overwritten).
//
// Conv2d runs as im2col + GEMM over chunks of B images (B chosen so the scratch buffers stay within
// ConvScratchFloats, 64 MB, unless one image alone needs more); letters as in ConvKernels:
//   forward   cols = im2col(x_chunk) [C·K·K, B·OH·OW];  rows = W·cols [O, B·OH·OW];  y_chunk = rows + bias
//   backward  dyRows [O, B·OH·OW] = dy_chunk moved to rows
//             dWeight  = Σ_chunks dyRows · colsᵀ     (the first chunk's GEMM has beta 0, the rest beta 1)
//             dcols    = Wᵀ · dyRows;  dx_chunk = col2im(dcols)   (a gather: no atomics)
//             dBias[o] = Σ_i Σ_s dy[i, o, s]           (one group per channel, a tree in shared memory)
// The chunking depends only on the sizes, so every sum has a fixed order and results repeat to the bit.
//
// MaxPool2d backward needs the window size and stride for its gather, which the seam does not pass:
// the forward records them for its indices buffer (a weak table keyed by that storage), and the
// backward gathers when the recorded geometry matches its sizes, or else replays the CPU's in-order
// scatter one plane per thread (indices from anywhere else). The GPU does not check that indices lie
// in their plane (the CPU kernel does, on the host); the plane kernel skips those that do not.
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using MiniNet.Gpu.Kernels;
using MiniNet.Kernels;

namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    // Floats of convolution scratch per chunk (64 MB).
    const long ConvScratchFloats = 16L << 20;

    Action<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, int>? _im2Col;
    Action<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, int>? _col2Im;
    Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _rowsToImages;
    Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>? _imagesToRows;
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _channelSum;
    Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolGeometry>? _poolForward;
    Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolGeometry>? _poolGather;

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage weight, Storage? bias, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage y) =>
        Conv2dForward(x, weight, bias, n, cIn, h, w, cOut, kernelSize, stride, padding, y, ConvScratchFloats);

    /// <inheritdoc/>
    public override void Conv2dBackward(Storage dy, Storage x, Storage weight, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage? dx, Storage? dWeight, Storage? dBias) =>
        Conv2dBackward(dy, x, weight, n, cIn, h, w, cOut, kernelSize, stride, padding, dx, dWeight, dBias, ConvScratchFloats);

    // The forward with chunks sized for scratchFloats (tests pass a small one to run several chunks).
    internal void Conv2dForward(Storage x, Storage weight, Storage? bias, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage y, long scratchFloats)
    {
        var s = ConvShape.Create(n, cIn, h, w, cOut, kernelSize, stride, padding);
        var xv = F(x);
        var wv = F(weight);
        var bv = FOrEmpty(bias);
        var yv = F(y);
        ConvShape.Check("forward", "x", xv.Length, s.ImageLength * n, $"n·cIn·h·w = {n}·{cIn}·{h}·{w}");
        ConvShape.Check("forward", "weight", wv.Length, s.WeightLength, $"cOut·cIn·k·k = {cOut}·{cIn}·{kernelSize}·{kernelSize}");
        if (bias is not null) ConvShape.Check("forward", "bias", bv.Length, cOut, "cOut (or null for no bias)");
        ConvShape.Check("forward", "y", yv.Length, s.OutputLength * n, $"n·cOut·outH·outW = {n}·{cOut}·{s.G.OutH}·{s.G.OutW}");
        if (yv.Length == 0) return;

        Run("Conv2dForward", () =>
        {
            int chunk = s.Chunk(scratchFloats);
            var cols = RentFloat(s.Patch * chunk * s.Spatial);    // [C·K·K, B·OH·OW]
            var rows = RentFloat(cOut * chunk * s.Spatial);       // [O, B·OH·OW]
            for (int i0 = 0; i0 < n; i0 += chunk)
            {
                int images = Math.Min(chunk, n - i0);
                int columns = images * s.Spatial;
                var colsView = cols.View.SubView(0, (long)s.Patch * columns);
                var rowsView = rows.View.SubView(0, (long)cOut * columns);
                if (s.Patch > 0)
                {
                    var im2Col = _im2Col ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, int>(ConvKernels.Im2Col);
                    im2Col(cIn * columns, xv.SubView((long)i0 * s.ImageLength, (long)images * s.ImageLength), colsView, s.G, columns);
                }

                GemmViews(false, false, cOut, columns, s.Patch, wv, colsView, rowsView, 0f);
                var toImages = _rowsToImages ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ConvKernels.RowsToImages);
                toImages(cOut * columns, rowsView, bv, yv.SubView((long)i0 * s.OutputLength, (long)images * s.OutputLength), cOut, s.Spatial, images);
            }

            // Keep the scratch handles reachable until every launch using them is queued (a collected handle returns its buffer).
            GC.KeepAlive(cols);
            GC.KeepAlive(rows);
        });
    }

    // The backward with chunks sized for scratchFloats (tests pass a small one to run several chunks).
    internal void Conv2dBackward(Storage dy, Storage x, Storage weight, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage? dx, Storage? dWeight, Storage? dBias, long scratchFloats)
    {
        var s = ConvShape.Create(n, cIn, h, w, cOut, kernelSize, stride, padding);
        var dyv = F(dy);
        var xv = F(x);
        var wv = F(weight);
        var dxv = FOrEmpty(dx);
        var dwv = FOrEmpty(dWeight);
        var dbv = FOrEmpty(dBias);
        ConvShape.Check("backward", "dy", dyv.Length, s.OutputLength * n, $"n·cOut·outH·outW = {n}·{cOut}·{s.G.OutH}·{s.G.OutW}");
        ConvShape.Check("backward", "x", xv.Length, s.ImageLength * n, $"n·cIn·h·w = {n}·{cIn}·{h}·{w}");
        ConvShape.Check("backward", "weight", wv.Length, s.WeightLength, $"cOut·cIn·k·k = {cOut}·{cIn}·{kernelSize}·{kernelSize}");
        if (dxv.Length > 0) ConvShape.Check("backward", "dx", dxv.Length, s.ImageLength * n, $"n·cIn·h·w = {n}·{cIn}·{h}·{w} (or null to skip)");
        if (dwv.Length > 0) ConvShape.Check("backward", "dWeight", dwv.Length, s.WeightLength, $"cOut·cIn·k·k = {cOut}·{cIn}·{kernelSize}·{kernelSize} (or null to skip)");
        if (dbv.Length > 0) ConvShape.Check("backward", "dBias", dbv.Length, cOut, "cOut (or null to skip)");

        // dBias[o] = Σ_i Σ_s dy[i, o, s]
        if (dbv.Length > 0)
        {
            Run("Conv2dBackward.dBias", () =>
            {
                var sum = _channelSum ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(ConvKernels.ChannelSum);
                sum(new KernelConfig(cOut, GroupSize), dyv, dbv, n, cOut, s.Spatial);
            });
        }

        bool needDx = dxv.Length > 0;
        bool needDWeight = dwv.Length > 0;
        if (!needDx && !needDWeight) return;
        if (n == 0)
        {
            // No images: dWeight is a sum over none (dx is empty).
            if (needDWeight) Run("Conv2dBackward.dWeight", () => dwv.MemSetToZero());
            return;
        }

        Run("Conv2dBackward", () =>
        {
            int chunk = s.Chunk(scratchFloats);
            var dyRows = RentFloat(cOut * chunk * s.Spatial);                         // [O, B·OH·OW]
            var cols = needDWeight ? RentFloat(s.Patch * chunk * s.Spatial) : null;   // [C·K·K, B·OH·OW]
            var dcols = needDx ? RentFloat(s.Patch * chunk * s.Spatial) : null;       // [C·K·K, B·OH·OW]
            for (int i0 = 0; i0 < n; i0 += chunk)
            {
                int images = Math.Min(chunk, n - i0);
                int columns = images * s.Spatial;
                var dyRowsView = dyRows.View.SubView(0, (long)cOut * columns);
                if (cOut > 0)
                {
                    var toRows = _imagesToRows ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(ConvKernels.ImagesToRows);
                    toRows(cOut * columns, dyv.SubView((long)i0 * s.OutputLength, (long)images * s.OutputLength), dyRowsView, cOut, s.Spatial, images);
                }

                if (cols is not null)
                {
                    // dWeight [O, C·K·K] (+)= dyRows [O, B·OH·OW] · colsᵀ
                    var colsView = cols.View.SubView(0, (long)s.Patch * columns);
                    var im2Col = _im2Col ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, int>(ConvKernels.Im2Col);
                    im2Col(cIn * columns, xv.SubView((long)i0 * s.ImageLength, (long)images * s.ImageLength), colsView, s.G, columns);
                    GemmViews(false, true, cOut, s.Patch, columns, dyRowsView, colsView, dwv, i0 == 0 ? 0f : 1f);
                }

                if (dcols is not null)
                {
                    // dcols [C·K·K, B·OH·OW] = Wᵀ · dyRows, then dx_chunk = col2im(dcols)
                    var dcolsView = dcols.View.SubView(0, (long)s.Patch * columns);
                    GemmViews(true, false, s.Patch, columns, cOut, wv, dyRowsView, dcolsView, 0f);
                    var col2Im = _col2Im ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvGeometry, int>(ConvKernels.Col2Im);
                    col2Im((int)(images * s.ImageLength), dcolsView, dxv.SubView((long)i0 * s.ImageLength, (long)images * s.ImageLength), s.G, columns);
                }
            }

            // Keep the scratch handles reachable until every launch using them is queued (a collected handle returns its buffer).
            GC.KeepAlive(dyRows);
            GC.KeepAlive(cols);
            GC.KeepAlive(dcols);
        });
    }

    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, int n, int c, int h, int w, int kernelSize, int stride, Storage y, Storage indices)
    {
        CheckPoolSizes(n, c, h, w);
        int outH = MaxPool2dKernels.OutputSize(h, kernelSize, stride);
        int outW = MaxPool2dKernels.OutputSize(w, kernelSize, stride);
        var xv = F(x);
        var yv = F(y);
        var iv = I(indices);
        long planes = (long)n * c;
        CheckPoolLength("forward", "x", xv.Length, planes * h * w, $"n·c·h·w = {n}·{c}·{h}·{w}");
        CheckPoolLength("forward", "y", yv.Length, planes * outH * outW, $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        CheckPoolLength("forward", "indices", iv.Length, planes * outH * outW, $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        var g = new PoolGeometry(h, w, kernelSize, stride, outH, outW);
        if (yv.Length == 0) return;
        Run("MaxPool2dForward", () =>
        {
            var forward = _poolForward ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolGeometry>(PoolKernels.Forward);
            forward((int)yv.Length, xv, yv, iv, g);
        });
    }

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage indices, int n, int c, int h, int w, int kernelSize, int stride, Storage dx)
    {
        CheckPoolSizes(n, c, h, w);
        int outH = MaxPool2dKernels.OutputSize(h, kernelSize, stride);
        int outW = MaxPool2dKernels.OutputSize(w, kernelSize, stride);
        var dyv = F(dy);
        var iv = I(indices);
        var dxv = F(dx);
        long planes = (long)n * c;
        CheckPoolLength("backward", "dy", dyv.Length, planes * outH * outW, $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        CheckPoolLength("backward", "indices", iv.Length, planes * outH * outW, $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        CheckPoolLength("backward", "dx", dxv.Length, planes * h * w, $"n·c·h·w = {n}·{c}·{h}·{w}");
        if (dxv.Length == 0) return;
        var g = new PoolGeometry(h, w, kernelSize, stride, outH, outW);
        Run("MaxPool2dBackward", () =>
        {
            var gather = _poolGather ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolGeometry>(PoolKernels.BackwardGather);
            gather((int)dxv.Length, dyv, iv, dxv, g);
        });
    }

    static void CheckPoolSizes(int n, int c, int h, int w)
    {
        if (n < 0 || c < 0 || h < 0 || w < 0)
            throw new ArgumentOutOfRangeException(nameof(n), $"MaxPool2d: sizes must be non-negative, got n={n}, c={c}, h={h}, w={w}.");
    }

    static void CheckPoolLength(string op, string name, long actual, long expected, string formula)
    {
        if (actual != expected)
            throw new ArgumentException($"MaxPool2d {op}: {name} has {actual} elements, expected {formula} = {expected}.", name);
    }

    // The sizes of one convolution, validated as the CPU kernel does, and its chunk of images.
    readonly record struct ConvShape(int N, int COut, ConvGeometry G)
    {
        public int Patch => G.CIn * G.K * G.K;
        public int Spatial => G.OutH * G.OutW;
        public long ImageLength => (long)G.CIn * G.H * G.W;
        public long OutputLength => (long)COut * Spatial;
        public long WeightLength => (long)COut * Patch;

        // Images per chunk: the scratch of a chunk ([2·C·K·K + O, B·OH·OW] at most) within scratchFloats.
        public int Chunk(long scratchFloats) => (int)Math.Clamp(scratchFloats / Math.Max(1L, ((2L * Patch) + COut) * Spatial), 1, Math.Max(1, N));

        public static ConvShape Create(int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding)
        {
            if (n < 0 || cIn < 0 || h < 0 || w < 0 || cOut < 0)
                throw new ArgumentOutOfRangeException(nameof(n), $"Conv2d: sizes must be non-negative, got n={n}, cIn={cIn}, h={h}, w={w}, cOut={cOut}.");
            int outH = Conv2dKernels.OutputSize(h, kernelSize, stride, padding);
            int outW = Conv2dKernels.OutputSize(w, kernelSize, stride, padding);
            long perImage = Math.Max((long)cIn * kernelSize * kernelSize, cOut) * outH * outW;
            if (perImage > int.MaxValue)
                throw new ArgumentException($"Conv2d: one image's column buffer (cIn·k·k or cOut by outH·outW = {perImage} floats) exceeds the largest device buffer.", nameof(h));
            return new ConvShape(n, cOut, new ConvGeometry(cIn, h, w, kernelSize, stride, padding, outH, outW));
        }

        public static void Check(string op, string name, long actual, long expected, string formula)
        {
            if (actual != expected)
                throw new ArgumentException($"Conv2d {op}: {name} has {actual} elements, expected {formula} = {expected}.", name);
        }
    }
}
