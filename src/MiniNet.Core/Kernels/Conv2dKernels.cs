// Conv2dKernels: 2-D convolution (PyTorch's Conv2d: cross-correlation, square kernel, the same
// stride and zero padding in both dimensions, dilation 1, groups 1), forward and backward.
//
// Letters: N batch, C input channels, O output channels, H × W input image, K kernel size,
// S stride, P padding, OH × OW output image with OH = (H + 2P - K) / S + 1 (the same for OW).
//
// Forward:  y[n, o, oy, ox] = bias[o] + Σ_{c, ky, kx} weight[o, c, ky, kx] · x[n, c, oy·S - P + ky, ox·S - P + kx]
//           (terms that fall in the padding are zero).
// The fast path lowers each image to columns (im2col) and runs one GEMM per image:
//   cols_n [C·K·K, OH·OW],  y_n [O, OH·OW] = weight [O, C·K·K] · cols_n.
// A 1 × 1, stride 1, padding 0 convolution uses x_n itself as cols_n.
//
// Backward, from y_n = W · cols_n + bias:
//   dBias[o]   = Σ_n Σ_{oy, ox} dy[n, o, oy, ox]
//   dWeight    = Σ_n dy_n [O, OH·OW] · cols_nᵀ [OH·OW, C·K·K]
//   dcols_n    = Wᵀ [C·K·K, O] · dy_n [O, OH·OW],   dx_n = col2im(dcols_n) (overlapping patches add up)
// All three gradients are overwritten, not accumulated. An empty dx, dWeight or dBias span means
// "not needed" and that work is skipped.
//
// Threading: with several images and enough work the batch is split across cores (each worker has
// its own pooled scratch buffers and its own dWeight partial sum, added up at the end); otherwise
// images run one after another and the GEMM itself uses the cores.
using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MiniNet.Kernels;

/// <summary>Forward and backward kernels of a 2-D convolution on [N, C, H, W] float buffers.</summary>
public static unsafe class Conv2dKernels
{
    /// <summary>Output height (or width) of a convolution: (size + 2·padding - kernelSize) / stride + 1.</summary>
    /// <param name="size">Input height (or width).</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows.</param>
    /// <param name="padding">Zeros added on each side.</param>
    /// <returns>The number of output positions along that dimension.</returns>
    public static int OutputSize(int size, int kernelSize, int stride, int padding)
    {
        if (kernelSize <= 0 || stride <= 0 || padding < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"Conv2d: expected kernelSize > 0, stride > 0, padding >= 0, got kernelSize={kernelSize}, stride={stride}, padding={padding}.");
        }

        if (size + (2 * padding) < kernelSize)
        {
            throw new ArgumentException($"Conv2d: padded input size {size} + 2·{padding} is smaller than the kernel size {kernelSize}.", nameof(size));
        }

        return ((size + (2 * padding) - kernelSize) / stride) + 1;
    }

    /// <summary>Convolution forward pass through im2col and GEMM.</summary>
    /// <param name="x">Input [n, cIn, h, w].</param>
    /// <param name="weight">Kernels [cOut, cIn, kernelSize, kernelSize].</param>
    /// <param name="bias">Bias [cOut], or an empty span for no bias.</param>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows in both dimensions.</param>
    /// <param name="padding">Zeros added on each side in both dimensions.</param>
    /// <param name="y">Output [n, cOut, outH, outW], overwritten.</param>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Span<float> y)
    {
        var s = Shape.Create(n, cIn, h, w, cOut, kernelSize, stride, padding);
        s.CheckForward(x, weight, bias, y);
        if (y.IsEmpty)
        {
            return;
        }

        bool direct = s.IsPointwise;
        int colsLength = direct ? 0 : s.Patch * s.Spatial;
        bool batchParallel = BatchParallel(s);
        fixed (float* px = x, pw = weight, pb = bias, py = y)
        {
            float* xs = px;
            float* ws = pw;
            float* bs = bias.IsEmpty ? null : pb;
            float* ys = py;
            if (!batchParallel)
            {
                float[] scratch = ArrayPool<float>.Shared.Rent(Math.Max(colsLength, 1));
                for (int i = 0; i < n; i++)
                {
                    ForwardImage(s, i, xs, ws, bs, ys, scratch, parallelGemm: true);
                }

                ArrayPool<float>.Shared.Return(scratch);
                return;
            }

            ForkJoin.For(n, i =>
            {
                float[] scratch = ArrayPool<float>.Shared.Rent(Math.Max(colsLength, 1));
                ForwardImage(s, i, xs, ws, bs, ys, scratch, parallelGemm: false);
                ArrayPool<float>.Shared.Return(scratch);
            });
        }
    }

    /// <summary>Convolution backward pass through GEMM and col2im.</summary>
    /// <param name="dy">Gradient of the output [n, cOut, outH, outW].</param>
    /// <param name="x">Forward input [n, cIn, h, w].</param>
    /// <param name="weight">Kernels [cOut, cIn, kernelSize, kernelSize].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows in both dimensions.</param>
    /// <param name="padding">Zeros added on each side in both dimensions.</param>
    /// <param name="dx">Gradient of the input [n, cIn, h, w], overwritten; empty to skip.</param>
    /// <param name="dWeight">Gradient of the kernels [cOut, cIn, k, k], overwritten; empty to skip.</param>
    /// <param name="dBias">Gradient of the bias [cOut], overwritten; empty to skip.</param>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Span<float> dx, Span<float> dWeight, Span<float> dBias)
    {
        var s = Shape.Create(n, cIn, h, w, cOut, kernelSize, stride, padding);
        s.CheckBackward(dy, x, weight, dx, dWeight, dBias);

        // dBias[o] = Σ_n Σ_{oy, ox} dy[n, o, oy, ox]
        if (!dBias.IsEmpty)
        {
            dBias.Clear();
            for (int i = 0; i < n; i++)
            {
                for (int o = 0; o < cOut; o++)
                {
                    dBias[o] += TensorPrimitives.Sum(dy.Slice(((i * cOut) + o) * s.Spatial, s.Spatial));
                }
            }
        }

        bool needDx = !dx.IsEmpty;
        bool needDWeight = !dWeight.IsEmpty;
        if (needDWeight)
        {
            dWeight.Clear();
        }

        if (!needDx && !needDWeight)
        {
            return;
        }

        if (n == 0 || s.Spatial == 0 || s.Patch == 0)
        {
            dx.Clear();
            return;
        }

        bool direct = s.IsPointwise;
        int colsLength = direct || !needDWeight ? 0 : s.Patch * s.Spatial;
        int dcolsLength = direct || !needDx ? 0 : s.Patch * s.Spatial;
        bool batchParallel = BatchParallel(s);
        int partialLength = batchParallel && needDWeight ? cOut * s.Patch : 0;
        int scratchLength = Math.Max(colsLength + dcolsLength, 1);
        fixed (float* pdy = dy, px = x, pw = weight, pdx = dx, pdw = dWeight)
        {
            float* dys = pdy;
            float* xs = px;
            float* ws = pw;
            float* dxs = needDx ? pdx : null;
            float* dws = needDWeight ? pdw : null;
            if (!batchParallel)
            {
                float[] scratch = ArrayPool<float>.Shared.Rent(scratchLength);
                fixed (float* pScratch = scratch)
                {
                    for (int i = 0; i < n; i++)
                    {
                        BackwardImage(s, i, dys, xs, ws, dxs, dws, pScratch, pScratch + colsLength, parallelGemm: true);
                    }
                }

                ArrayPool<float>.Shared.Return(scratch);
                return;
            }

            // Fixed contiguous chunks of images, each summing its dWeight partial in image order,
            // then the partials summed in chunk order: the result does not depend on which thread
            // ran what, so a seeded training run repeats to the bit.
            int chunks = Math.Min(n, BackwardChunks);
            float[] partials = needDWeight ? ArrayPool<float>.Shared.Rent(chunks * partialLength) : [];
            partials.AsSpan(0, needDWeight ? chunks * partialLength : 0).Clear();
            fixed (float* pPartials = partials)
            {
                float* partialBase = pPartials;
                ForkJoin.For(chunks, c =>
                {
                    float[] scratch = ArrayPool<float>.Shared.Rent(scratchLength);
                    fixed (float* pScratch = scratch)
                    {
                        float* partial = dws is null ? null : partialBase + (long)c * partialLength;
                        for (int i = (int)((long)c * n / chunks), end = (int)((long)(c + 1) * n / chunks); i < end; i++)
                            BackwardImage(s, i, dys, xs, ws, dxs, partial, pScratch, pScratch + colsLength, parallelGemm: false);
                    }

                    ArrayPool<float>.Shared.Return(scratch);
                });
            }

            if (dws is not null)
            {
                var total = new Span<float>(dws, partialLength);
                for (int c = 0; c < chunks; c++)
                    TensorPrimitives.Add(total, partials.AsSpan(c * partialLength, partialLength), total);
                ArrayPool<float>.Shared.Return(partials);
            }
        }
    }

    /// <summary>
    /// Reference forward pass: direct seven-deep loops with a float accumulator. Same arguments and
    /// semantics as <see cref="Forward"/>.
    /// </summary>
    /// <param name="x">Input [n, cIn, h, w].</param>
    /// <param name="weight">Kernels [cOut, cIn, kernelSize, kernelSize].</param>
    /// <param name="bias">Bias [cOut], or an empty span for no bias.</param>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows in both dimensions.</param>
    /// <param name="padding">Zeros added on each side in both dimensions.</param>
    /// <param name="y">Output [n, cOut, outH, outW], overwritten.</param>
    public static void ForwardNaive(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Span<float> y)
    {
        var s = Shape.Create(n, cIn, h, w, cOut, kernelSize, stride, padding);
        s.CheckForward(x, weight, bias, y);
        int k = kernelSize;
        for (int i = 0; i < n; i++)
        {
            for (int o = 0; o < cOut; o++)
            {
                for (int oy = 0; oy < s.OutH; oy++)
                {
                    for (int ox = 0; ox < s.OutW; ox++)
                    {
                        float sum = bias.IsEmpty ? 0f : bias[o];
                        for (int c = 0; c < cIn; c++)
                        {
                            for (int ky = 0; ky < k; ky++)
                            {
                                int iy = (oy * stride) - padding + ky;
                                if (iy < 0 || iy >= h)
                                {
                                    continue;
                                }

                                for (int kx = 0; kx < k; kx++)
                                {
                                    int ix = (ox * stride) - padding + kx;
                                    if (ix < 0 || ix >= w)
                                    {
                                        continue;
                                    }

                                    sum += weight[(((((o * cIn) + c) * k) + ky) * k) + kx] * x[(((((i * cIn) + c) * h) + iy) * w) + ix];
                                }
                            }
                        }

                        y[(((((i * cOut) + o) * s.OutH) + oy) * s.OutW) + ox] = sum;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Reference backward pass: each output gradient is scattered to the bias, the kernel taps and
    /// the input pixels it came from. Same arguments and semantics as <see cref="Backward"/>.
    /// </summary>
    /// <param name="dy">Gradient of the output [n, cOut, outH, outW].</param>
    /// <param name="x">Forward input [n, cIn, h, w].</param>
    /// <param name="weight">Kernels [cOut, cIn, kernelSize, kernelSize].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="cOut">Output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows in both dimensions.</param>
    /// <param name="padding">Zeros added on each side in both dimensions.</param>
    /// <param name="dx">Gradient of the input [n, cIn, h, w], overwritten; empty to skip.</param>
    /// <param name="dWeight">Gradient of the kernels [cOut, cIn, k, k], overwritten; empty to skip.</param>
    /// <param name="dBias">Gradient of the bias [cOut], overwritten; empty to skip.</param>
    public static void BackwardNaive(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Span<float> dx, Span<float> dWeight, Span<float> dBias)
    {
        var s = Shape.Create(n, cIn, h, w, cOut, kernelSize, stride, padding);
        s.CheckBackward(dy, x, weight, dx, dWeight, dBias);
        dx.Clear();
        dWeight.Clear();
        dBias.Clear();
        int k = kernelSize;
        for (int i = 0; i < n; i++)
        {
            for (int o = 0; o < cOut; o++)
            {
                for (int oy = 0; oy < s.OutH; oy++)
                {
                    for (int ox = 0; ox < s.OutW; ox++)
                    {
                        float g = dy[(((((i * cOut) + o) * s.OutH) + oy) * s.OutW) + ox];
                        if (!dBias.IsEmpty)
                        {
                            dBias[o] += g;
                        }

                        for (int c = 0; c < cIn; c++)
                        {
                            for (int ky = 0; ky < k; ky++)
                            {
                                int iy = (oy * stride) - padding + ky;
                                if (iy < 0 || iy >= h)
                                {
                                    continue;
                                }

                                for (int kx = 0; kx < k; kx++)
                                {
                                    int ix = (ox * stride) - padding + kx;
                                    if (ix < 0 || ix >= w)
                                    {
                                        continue;
                                    }

                                    int wi = (((((o * cIn) + c) * k) + ky) * k) + kx;
                                    int xi = (((((i * cIn) + c) * h) + iy) * w) + ix;
                                    if (!dWeight.IsEmpty)
                                    {
                                        dWeight[wi] += g * x[xi];
                                    }

                                    if (!dx.IsEmpty)
                                    {
                                        dx[xi] += g * weight[wi];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Lowers one image to columns: cols[(c·K + ky)·K + kx, oy·outW + ox] = x[c, oy·S - P + ky, ox·S - P + kx],
    /// zero where the tap falls in the padding.
    /// </summary>
    /// <param name="x">One image [cIn, h, w].</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows in both dimensions.</param>
    /// <param name="padding">Zeros added on each side in both dimensions.</param>
    /// <param name="cols">Columns [cIn·k·k, outH·outW], overwritten.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Im2Col(ReadOnlySpan<float> x, int cIn, int h, int w, int kernelSize, int stride, int padding, Span<float> cols)
    {
        int outH = OutputSize(h, kernelSize, stride, padding);
        int outW = OutputSize(w, kernelSize, stride, padding);
        CheckLength(x.Length, (long)cIn * h * w, "Im2Col", "x", "cIn·h·w");
        CheckLength(cols.Length, (long)cIn * kernelSize * kernelSize * outH * outW, "Im2Col", "cols", "cIn·k·k·outH·outW");
        int k = kernelSize;
        int spatial = outH * outW;
        fixed (float* px = x, pcols = cols)
        {
            if (stride == 1 && 2 * padding == k - 1)
            {
                Im2ColSame(px, cIn, h, w, k, padding, pcols);
                return;
            }

            for (int c = 0; c < cIn; c++)
            {
                float* plane = px + ((long)c * h * w); // [h, w]
                for (int ky = 0; ky < k; ky++)
                {
                    for (int kx = 0; kx < k; kx++)
                    {
                        float* row = pcols + ((long)(((c * k) + ky) * k + kx) * spatial); // [outH, outW]
                        var (oxBegin, oxEnd) = ValidRange(kx, stride, padding, w, outW);
                        int ix0 = (oxBegin * stride) - padding + kx;
                        for (int oy = 0; oy < outH; oy++)
                        {
                            float* dst = row + (oy * outW);
                            int iy = (oy * stride) - padding + ky;
                            if (iy < 0 || iy >= h || oxBegin >= oxEnd)
                            {
                                new Span<float>(dst, outW).Clear();
                                continue;
                            }

                            for (int ox = 0; ox < oxBegin; ox++)
                            {
                                dst[ox] = 0f;
                            }

                            for (int ox = oxEnd; ox < outW; ox++)
                            {
                                dst[ox] = 0f;
                            }

                            float* src = plane + (iy * w) + ix0;
                            if (stride == 1)
                            {
                                CopyRow(src, dst + oxBegin, oxEnd - oxBegin);
                            }
                            else
                            {
                                for (int ox = oxBegin; ox < oxEnd; ox++, src += stride)
                                {
                                    dst[ox] = *src;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Im2Col for stride 1 and "same" padding (2·padding = k − 1, so the output is h × w): each row
    // (c, ky, kx) of cols is the plane shifted by (ky − padding) rows and (kx − padding) columns,
    // i.e. cols[L] = plane[L + off] for one offset off over the whole run of valid output rows. The
    // row is cleared, that run copied as one block, then the |kx − padding| columns per row that
    // wrapped around from the neighbouring row (or fell outside the plane) are zeroed. Per-row copies
    // of 14 floats (the CNN's second layer) made the general loop cost a quarter of the layer's GEMM.
    private static void Im2ColSame(float* px, int cIn, int h, int w, int k, int padding, float* pcols)
    {
        int spatial = h * w;
        for (int c = 0; c < cIn; c++)
        {
            float* plane = px + ((long)c * spatial);
            for (int ky = 0; ky < k; ky++)
            {
                for (int kx = 0; kx < k; kx++)
                {
                    float* row = pcols + ((long)(((c * k) + ky) * k + kx) * spatial); // [h, w]
                    var shift = new SameShift(h, w, ky - padding, kx - padding);
                    new Span<float>(row, spatial).Clear();
                    if (!shift.Empty)
                    {
                        shift.Source(plane).CopyTo(shift.Target(row));
                        shift.ClearWrapped(row);
                    }
                }
            }
        }
    }

    // Col2Im for stride 1 and "same" padding, the adjoint of Im2ColSame: each row of cols is added
    // to the plane shifted the other way, as one block. A row whose columns wrap (kx ≠ padding) is
    // first copied into a scratch row with the wrapped columns zeroed, so they add nothing.
    private static void Col2ImSame(float* pcols, int cIn, int h, int w, int k, int padding, float* px)
    {
        int spatial = h * w;
        float[] scratch = ArrayPool<float>.Shared.Rent(spatial);
        fixed (float* pScratch = scratch)
        {
            for (int c = 0; c < cIn; c++)
            {
                float* plane = px + ((long)c * spatial);
                for (int ky = 0; ky < k; ky++)
                {
                    for (int kx = 0; kx < k; kx++)
                    {
                        float* row = pcols + ((long)(((c * k) + ky) * k + kx) * spatial); // [h, w]
                        var shift = new SameShift(h, w, ky - padding, kx - padding);
                        if (shift.Empty)
                        {
                            continue;
                        }

                        if (shift.Dx != 0)
                        {
                            shift.Target(row).CopyTo(shift.Target(pScratch));
                            shift.ClearWrapped(pScratch);
                            row = pScratch;
                        }

                        Span<float> destination = shift.Source(plane);
                        TensorPrimitives.Add(destination, shift.Target(row), destination);
                    }
                }
            }
        }

        ArrayPool<float>.Shared.Return(scratch);
    }

    // The geometry of one (ky, kx) tap for stride 1 and same padding: output position L = oy·w + ox
    // reads plane[L + off] with off = dy·w + dx. Rows oy in [oyBegin, oyEnd) read inside the plane;
    // the run [first, end) of L (those rows, clipped to the plane) moves between cols and the plane
    // in one block, and in each of those rows the |dx| columns ClearWrapped zeroes read a
    // neighbouring row (or past the plane) instead.
    private readonly struct SameShift
    {
        public readonly int Dx;
        private readonly int _w, _off, _oyBegin, _oyEnd, _first, _end;

        public SameShift(int h, int w, int dy, int dx)
        {
            Dx = dx;
            _w = w;
            _off = (dy * w) + dx;
            _oyBegin = Math.Max(0, -dy);
            _oyEnd = Math.Min(h, h - dy);
            Empty = _oyBegin >= _oyEnd || Math.Abs(dx) >= w;
            _first = Math.Max(_oyBegin * w, -_off);
            _end = Math.Min(_oyEnd * w, (h * w) - _off);
        }

        public bool Empty { get; }

        // The block of a cols row (or the scratch row) that moves: positions [first, end).
        public Span<float> Target(float* row) => new(row + _first, _end - _first);

        // The matching block of the plane.
        public Span<float> Source(float* plane) => new(plane + _first + _off, _end - _first);

        // Zeroes, in each valid row of a cols row, the columns whose source column is outside [0, w).
        public void ClearWrapped(float* row)
        {
            int z0 = Dx > 0 ? _w - Dx : 0;
            int z1 = Dx > 0 ? _w : -Dx;
            for (int oy = _oyBegin; oy < _oyEnd && z1 > z0; oy++)
            {
                new Span<float>(row + (oy * _w) + z0, z1 - z0).Clear();
            }
        }
    }

    // dst[0:length) = src[0:length) for the short rows of im2col: whole vectors, then single floats.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* src, float* dst, int length)
    {
        int j = 0;
        for (; j + 8 <= length; j += 8)
        {
            Vector256.Store(Vector256.Load(src + j), dst + j);
        }

        for (; j < length; j++)
        {
            dst[j] = src[j];
        }
    }

    // dst[0:length) += src[0:length), the same way.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* src, float* dst, int length)
    {
        int j = 0;
        for (; j + 8 <= length; j += 8)
        {
            Vector256.Store(Vector256.Load(dst + j) + Vector256.Load(src + j), dst + j);
        }

        for (; j < length; j++)
        {
            dst[j] += src[j];
        }
    }

    /// <summary>
    /// Adjoint of <see cref="Im2Col"/>: x is zeroed, then each column entry is added to the pixel it
    /// was read from (overlapping windows add up); entries that fall in the padding are dropped.
    /// </summary>
    /// <param name="cols">Columns [cIn·k·k, outH·outW].</param>
    /// <param name="cIn">Input channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows in both dimensions.</param>
    /// <param name="padding">Zeros added on each side in both dimensions.</param>
    /// <param name="x">One image [cIn, h, w], overwritten.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Col2Im(ReadOnlySpan<float> cols, int cIn, int h, int w, int kernelSize, int stride, int padding, Span<float> x)
    {
        int outH = OutputSize(h, kernelSize, stride, padding);
        int outW = OutputSize(w, kernelSize, stride, padding);
        CheckLength(cols.Length, (long)cIn * kernelSize * kernelSize * outH * outW, "Col2Im", "cols", "cIn·k·k·outH·outW");
        CheckLength(x.Length, (long)cIn * h * w, "Col2Im", "x", "cIn·h·w");
        int k = kernelSize;
        int spatial = outH * outW;
        x.Clear();
        fixed (float* pcols = cols, px = x)
        {
            if (stride == 1 && 2 * padding == k - 1)
            {
                Col2ImSame(pcols, cIn, h, w, k, padding, px);
                return;
            }

            for (int c = 0; c < cIn; c++)
            {
                float* plane = px + ((long)c * h * w); // [h, w]
                for (int ky = 0; ky < k; ky++)
                {
                    for (int kx = 0; kx < k; kx++)
                    {
                        float* row = pcols + ((long)(((c * k) + ky) * k + kx) * spatial); // [outH, outW]
                        var (oxBegin, oxEnd) = ValidRange(kx, stride, padding, w, outW);
                        if (oxBegin >= oxEnd)
                        {
                            continue;
                        }

                        int ix0 = (oxBegin * stride) - padding + kx;
                        for (int oy = 0; oy < outH; oy++)
                        {
                            int iy = (oy * stride) - padding + ky;
                            if (iy < 0 || iy >= h)
                            {
                                continue;
                            }

                            float* src = row + (oy * outW) + oxBegin;
                            float* dst = plane + (iy * w) + ix0;
                            if (stride == 1)
                            {
                                AddRow(src, dst, oxEnd - oxBegin);
                            }
                            else
                            {
                                for (int ox = oxBegin; ox < oxEnd; ox++, dst += stride)
                                {
                                    *dst += *src++;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Output columns ox whose tap kx lands inside the image: 0 <= ox·S - P + kx < W.
    private static (int Begin, int End) ValidRange(int kx, int stride, int padding, int w, int outW)
    {
        int offset = kx - padding;
        int begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int end = w - offset <= 0 ? 0 : Math.Min(outW, ((w - offset - 1) / stride) + 1);
        return (Math.Min(begin, outW), end);
    }

    // Chunks of the batch in the parallel backward: a constant, so results do not depend on the core count.
    private const int BackwardChunks = 8;

    private static bool BatchParallel(in Shape s)
    {
        long macs = (long)s.N * s.COut * s.Patch * s.Spatial;
        if (s.N < 2 || Environment.ProcessorCount < 2 || macs < Gemm.ParallelThreshold)
        {
            return false;
        }

        // Whole images per core balance well once there are a few per core, or when one image is
        // too small for the GEMM to split it.
        long perImage = macs / s.N;
        return s.N >= 2 * Environment.ProcessorCount || perImage < 4 * Gemm.ParallelThreshold;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardImage(in Shape s, int i, float* x, float* weight, float* bias, float* y, float[] scratch, bool parallelGemm)
    {
        var image = new ReadOnlySpan<float>(x + ((long)i * s.CIn * s.H * s.W), s.CIn * s.H * s.W); // [C, H, W]
        var output = new Span<float>(y + ((long)i * s.COut * s.Spatial), s.COut * s.Spatial); // [O, OH·OW]
        var kernels = new ReadOnlySpan<float>(weight, s.COut * s.Patch); // [O, C·K·K]
        ReadOnlySpan<float> cols = image; // [C·K·K, OH·OW]
        if (!s.IsPointwise)
        {
            Span<float> lowered = scratch.AsSpan(0, s.Patch * s.Spatial);
            Im2Col(image, s.CIn, s.H, s.W, s.K, s.Stride, s.Padding, lowered);
            cols = lowered;
        }

        Gemm.MultiplyWith(Gemm.DefaultKind, parallelGemm, false, false, s.COut, s.Spatial, s.Patch, kernels, cols, output, 0f);
        if (bias is not null)
        {
            for (int o = 0; o < s.COut; o++)
            {
                Span<float> row = output.Slice(o * s.Spatial, s.Spatial);
                TensorPrimitives.Add(row, bias[o], row);
            }
        }
    }

    // Adds image i's share of dWeight into dWeight (when not null) and writes dx for image i (when
    // dx is not null). cols and dcols are scratch buffers of Patch × Spatial floats each.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardImage(in Shape s, int i, float* dy, float* x, float* weight, float* dx, float* dWeight, float* cols, float* dcols, bool parallelGemm)
    {
        int imageLength = s.CIn * s.H * s.W;
        int patchLength = s.Patch * s.Spatial;
        var gradient = new ReadOnlySpan<float>(dy + ((long)i * s.COut * s.Spatial), s.COut * s.Spatial); // [O, OH·OW]
        if (dWeight is not null)
        {
            var image = new ReadOnlySpan<float>(x + ((long)i * imageLength), imageLength); // [C, H, W]
            ReadOnlySpan<float> lowered = image; // [C·K·K, OH·OW]
            if (!s.IsPointwise)
            {
                var buffer = new Span<float>(cols, patchLength);
                Im2Col(image, s.CIn, s.H, s.W, s.K, s.Stride, s.Padding, buffer);
                lowered = buffer;
            }

            // dWeight [O, C·K·K] += dy_i [O, OH·OW] · cols_iᵀ
            var dKernels = new Span<float>(dWeight, s.COut * s.Patch);
            Gemm.MultiplyWith(Gemm.DefaultKind, parallelGemm, false, true, s.COut, s.Patch, s.Spatial, gradient, lowered, dKernels, 1f);
        }

        if (dx is not null)
        {
            // dcols_i [C·K·K, OH·OW] = Wᵀ · dy_i, with W stored as [O, C·K·K].
            var kernels = new ReadOnlySpan<float>(weight, s.COut * s.Patch);
            var dImage = new Span<float>(dx + ((long)i * imageLength), imageLength); // [C, H, W]
            if (s.IsPointwise)
            {
                Gemm.MultiplyWith(Gemm.DefaultKind, parallelGemm, true, false, s.Patch, s.Spatial, s.COut, kernels, gradient, dImage, 0f);
            }
            else
            {
                var dLowered = new Span<float>(dcols, patchLength);
                Gemm.MultiplyWith(Gemm.DefaultKind, parallelGemm, true, false, s.Patch, s.Spatial, s.COut, kernels, gradient, dLowered, 0f);
                Col2Im(dLowered, s.CIn, s.H, s.W, s.K, s.Stride, s.Padding, dImage);
            }
        }
    }

    private static void CheckLength(int actual, long expected, string op, string name, string formula)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"Conv2d {op}: {name} has {actual} elements, expected {formula} = {expected}.", name);
        }
    }

    // The sizes of one convolution, validated once.
    private readonly record struct Shape(int N, int CIn, int H, int W, int COut, int K, int Stride, int Padding, int OutH, int OutW)
    {
        public int Patch => CIn * K * K;

        public int Spatial => OutH * OutW;

        public bool IsPointwise => K == 1 && Stride == 1 && Padding == 0;

        public static Shape Create(int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding)
        {
            if (n < 0 || cIn < 0 || h < 0 || w < 0 || cOut < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(n), $"Conv2d: sizes must be non-negative, got n={n}, cIn={cIn}, h={h}, w={w}, cOut={cOut}.");
            }

            int outH = OutputSize(h, kernelSize, stride, padding);
            int outW = OutputSize(w, kernelSize, stride, padding);
            return new Shape(n, cIn, h, w, cOut, kernelSize, stride, padding, outH, outW);
        }

        public void CheckForward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y)
        {
            CheckLength(x.Length, (long)N * CIn * H * W, "forward", "x", $"n·cIn·h·w = {N}·{CIn}·{H}·{W}");
            CheckLength(weight.Length, (long)COut * Patch, "forward", "weight", $"cOut·cIn·k·k = {COut}·{CIn}·{K}·{K}");
            if (!bias.IsEmpty)
            {
                CheckLength(bias.Length, COut, "forward", "bias", "cOut (or 0 for no bias)");
            }

            CheckLength(y.Length, (long)N * COut * Spatial, "forward", "y", $"n·cOut·outH·outW = {N}·{COut}·{OutH}·{OutW}");
        }

        public void CheckBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> dx, Span<float> dWeight, Span<float> dBias)
        {
            CheckLength(dy.Length, (long)N * COut * Spatial, "backward", "dy", $"n·cOut·outH·outW = {N}·{COut}·{OutH}·{OutW}");
            CheckLength(x.Length, (long)N * CIn * H * W, "backward", "x", $"n·cIn·h·w = {N}·{CIn}·{H}·{W}");
            CheckLength(weight.Length, (long)COut * Patch, "backward", "weight", $"cOut·cIn·k·k = {COut}·{CIn}·{K}·{K}");
            if (!dx.IsEmpty)
            {
                CheckLength(dx.Length, (long)N * CIn * H * W, "backward", "dx", $"n·cIn·h·w = {N}·{CIn}·{H}·{W} (or 0 to skip)");
            }

            if (!dWeight.IsEmpty)
            {
                CheckLength(dWeight.Length, (long)COut * Patch, "backward", "dWeight", $"cOut·cIn·k·k = {COut}·{CIn}·{K}·{K} (or 0 to skip)");
            }

            if (!dBias.IsEmpty)
            {
                CheckLength(dBias.Length, COut, "backward", "dBias", "cOut (or 0 to skip)");
            }
        }
    }
}
