// MaxPool2dKernels: 2-D max pooling (PyTorch's MaxPool2d with return_indices: square window, no
// padding, dilation 1, floor mode), forward and backward.
//
// Letters: N batch, C channels, H × W input plane, K window size, S stride,
// OH × OW output plane with OH = (H - K) / S + 1 (the same for OW).
//
// Forward:  y[n, c, oy, ox] = max over the K × K window at (oy·S, ox·S) of x[n, c, :, :]
//           indices[n, c, oy, ox] = iy·W + ix of that maximum inside its own H × W plane.
//   Ties keep the first maximum in row-major window order. A NaN wins over any number, and among
//   several NaNs the last one is kept, exactly as PyTorch's CPU kernel
//   (`if (val > max || isnan(val))`, starting from -inf and the window's first index).
// Backward: dx is zeroed, then dx[n, c][indices[n, c, oy, ox]] += dy[n, c, oy, ox]; with S < K the
//   windows overlap and a pixel that wins several of them collects all their gradients.
//
// Threading: planes (n, c) are independent, so large inputs are split into plane ranges, one per core.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MiniNet.Kernels;

/// <summary>Forward and backward kernels of 2-D max pooling on [N, C, H, W] float buffers.</summary>
public static unsafe class MaxPool2dKernels
{
    // Window visits below which the work stays on the calling thread.
    private const long ParallelThreshold = 1L << 18;

    /// <summary>Output height (or width) of the pooling: (size - kernelSize) / stride + 1.</summary>
    /// <param name="size">Input height (or width).</param>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows.</param>
    /// <returns>The number of output positions along that dimension.</returns>
    public static int OutputSize(int size, int kernelSize, int stride)
    {
        if (kernelSize <= 0 || stride <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"MaxPool2d: expected kernelSize > 0 and stride > 0, got kernelSize={kernelSize}, stride={stride}.");
        }

        if (size < kernelSize)
        {
            throw new ArgumentException($"MaxPool2d: input size {size} is smaller than the kernel size {kernelSize}.", nameof(size));
        }

        return ((size - kernelSize) / stride) + 1;
    }

    /// <summary>Max pooling forward pass with argmax indices.</summary>
    /// <param name="x">Input [n, c, h, w].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows in both dimensions.</param>
    /// <param name="y">Output [n, c, outH, outW], overwritten.</param>
    /// <param name="indices">Argmax [n, c, outH, outW] as iy·w + ix inside each h × w plane, overwritten.</param>
    public static void Forward(ReadOnlySpan<float> x, int n, int c, int h, int w, int kernelSize, int stride, Span<float> y, Span<int> indices)
    {
        CheckSizes(n, c, h, w);
        int outH = OutputSize(h, kernelSize, stride);
        int outW = OutputSize(w, kernelSize, stride);
        int planes = n * c;
        int planeIn = h * w;
        int planeOut = outH * outW;
        CheckLength(x.Length, (long)planes * planeIn, "forward", "x", $"n·c·h·w = {n}·{c}·{h}·{w}");
        CheckLength(y.Length, (long)planes * planeOut, "forward", "y", $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        CheckLength(indices.Length, (long)planes * planeOut, "forward", "indices", $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        long work = (long)planes * planeOut * kernelSize * kernelSize;
        int workers = Workers(planes, work);
        if (workers <= 1)
        {
            for (int p = 0; p < planes; p++)
            {
                ForwardPlane(x.Slice(p * planeIn, planeIn), h, w, kernelSize, stride, outH, outW, y.Slice(p * planeOut, planeOut), indices.Slice(p * planeOut, planeOut));
            }

            return;
        }

        fixed (float* px = x, py = y)
        fixed (int* pi = indices)
        {
            float* xs = px;
            float* ys = py;
            int* ids = pi;
            int step = (planes + workers - 1) / workers;
            ForkJoin.For(workers, t =>
            {
                int end = Math.Min(planes, (t + 1) * step);
                for (int p = t * step; p < end; p++)
                {
                    var plane = new ReadOnlySpan<float>(xs + ((long)p * planeIn), planeIn);
                    var outPlane = new Span<float>(ys + ((long)p * planeOut), planeOut);
                    var idPlane = new Span<int>(ids + ((long)p * planeOut), planeOut);
                    ForwardPlane(plane, h, w, kernelSize, stride, outH, outW, outPlane, idPlane);
                }
            });
        }
    }

    /// <summary>Max pooling backward pass: routes each output gradient to its argmax pixel.</summary>
    /// <param name="dy">Gradient of the output [n, c, outH, outW].</param>
    /// <param name="indices">Argmax [n, c, outH, outW] from <see cref="Forward"/>.</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="outH">Output height.</param>
    /// <param name="outW">Output width.</param>
    /// <param name="dx">Gradient of the input [n, c, h, w], overwritten.</param>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<int> indices, int n, int c, int h, int w, int outH, int outW, Span<float> dx)
    {
        CheckSizes(n, c, h, w);
        if (outH < 0 || outW < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(outH), $"MaxPool2d backward: output sizes must be non-negative, got outH={outH}, outW={outW}.");
        }

        int planes = n * c;
        int planeIn = h * w;
        int planeOut = outH * outW;
        CheckLength(dy.Length, (long)planes * planeOut, "backward", "dy", $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        CheckLength(indices.Length, (long)planes * planeOut, "backward", "indices", $"n·c·outH·outW = {n}·{c}·{outH}·{outW}");
        CheckLength(dx.Length, (long)planes * planeIn, "backward", "dx", $"n·c·h·w = {n}·{c}·{h}·{w}");
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)planeIn)
            {
                throw new ArgumentException($"MaxPool2d backward: indices[{i}] = {indices[i]} is outside the {h}×{w} plane.", nameof(indices));
            }
        }

        int workers = Workers(planes, (long)planes * (planeIn + planeOut));
        if (workers <= 1)
        {
            for (int p = 0; p < planes; p++)
            {
                BackwardPlane(dy.Slice(p * planeOut, planeOut), indices.Slice(p * planeOut, planeOut), dx.Slice(p * planeIn, planeIn));
            }

            return;
        }

        fixed (float* pdy = dy, pdx = dx)
        fixed (int* pi = indices)
        {
            float* dys = pdy;
            float* dxs = pdx;
            int* ids = pi;
            int step = (planes + workers - 1) / workers;
            ForkJoin.For(workers, t =>
            {
                int end = Math.Min(planes, (t + 1) * step);
                for (int p = t * step; p < end; p++)
                {
                    var dyPlane = new ReadOnlySpan<float>(dys + ((long)p * planeOut), planeOut);
                    var idPlane = new ReadOnlySpan<int>(ids + ((long)p * planeOut), planeOut);
                    var dxPlane = new Span<float>(dxs + ((long)p * planeIn), planeIn);
                    BackwardPlane(dyPlane, idPlane, dxPlane);
                }
            });
        }
    }

    /// <summary>
    /// Reference backward pass: the scatter written as one loop over all outputs. Same arguments
    /// and semantics as <see cref="Backward"/>.
    /// </summary>
    /// <param name="dy">Gradient of the output [n, c, outH, outW].</param>
    /// <param name="indices">Argmax [n, c, outH, outW] from <see cref="Forward"/>.</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="outH">Output height.</param>
    /// <param name="outW">Output width.</param>
    /// <param name="dx">Gradient of the input [n, c, h, w], overwritten.</param>
    public static void BackwardNaive(ReadOnlySpan<float> dy, ReadOnlySpan<int> indices, int n, int c, int h, int w, int outH, int outW, Span<float> dx)
    {
        CheckLength(dy.Length, (long)n * c * outH * outW, "backward", "dy", "n·c·outH·outW");
        CheckLength(indices.Length, (long)n * c * outH * outW, "backward", "indices", "n·c·outH·outW");
        CheckLength(dx.Length, (long)n * c * h * w, "backward", "dx", "n·c·h·w");
        dx.Clear();
        for (int i = 0; i < dy.Length; i++)
        {
            int plane = i / (outH * outW);
            dx[(plane * h * w) + indices[i]] += dy[i];
        }
    }

    // One plane: x [H, W] -> y [OH, OW], indices [OH, OW].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlane(ReadOnlySpan<float> x, int h, int w, int k, int stride, int outH, int outW, Span<float> y, Span<int> indices)
    {
        if (k == 2 && stride == 2)
        {
            ForwardPlane2x2(x, w, outH, outW, y, indices);
            return;
        }

        for (int oy = 0; oy < outH; oy++)
        {
            int iy0 = oy * stride;
            for (int ox = 0; ox < outW; ox++)
            {
                int ix0 = ox * stride;
                float max = float.NegativeInfinity;
                int argmax = (iy0 * w) + ix0;
                for (int ky = 0; ky < k; ky++)
                {
                    int rowStart = ((iy0 + ky) * w) + ix0;
                    ReadOnlySpan<float> row = x.Slice(rowStart, k);
                    for (int kx = 0; kx < k; kx++)
                    {
                        float v = row[kx];
                        if (v > max || float.IsNaN(v))
                        {
                            max = v;
                            argmax = rowStart + kx;
                        }
                    }
                }

                y[(oy * outW) + ox] = max;
                indices[(oy * outW) + ox] = argmax;
            }
        }
    }

    // The common 2 × 2, stride 2 window: eight outputs a step with AVX2 where the plane leaves room for
    // the vector loads, the scalar loop for the rest (sizes were checked by the caller).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlane2x2(ReadOnlySpan<float> x, int w, int outH, int outW, Span<float> y, Span<int> indices)
    {
        fixed (float* px = x, py = y)
        fixed (int* pi = indices)
        {
            for (int oy = 0; oy < outH; oy++)
            {
                int top = 2 * oy * w;
                int ox = Avx2.IsSupported ? ForwardRow2x2Avx2(px, px + x.Length, top, w, outW, py + (oy * outW), pi + (oy * outW)) : 0;
                ForwardRow2x2(px, top, w, ox, outW, py + (oy * outW), pi + (oy * outW));
            }
        }
    }

    // Outputs [ox0, outW) of one output row, one window at a time: the same visiting order and NaN
    // rule as the general loop, unrolled. Random data makes its branches unpredictable (~10 ns an
    // output here), hence the vector path.
    private static void ForwardRow2x2(float* px, int top, int w, int ox0, int outW, float* yRow, int* iRow)
    {
        float* row0 = px + top;
        float* row1 = row0 + w;
        for (int ox = ox0; ox < outW; ox++)
        {
            int ix = 2 * ox;
            float max = row0[ix];
            int argmax = top + ix; // the general loop takes the first tap whatever it is (NaN and -inf included)
            float v = row0[ix + 1];
            if (v > max || float.IsNaN(v))
            {
                max = v;
                argmax = top + ix + 1;
            }

            v = row1[ix];
            if (v > max || float.IsNaN(v))
            {
                max = v;
                argmax = top + w + ix;
            }

            v = row1[ix + 1];
            if (v > max || float.IsNaN(v))
            {
                max = v;
                argmax = top + w + ix + 1;
            }

            yRow[ox] = max;
            iRow[ox] = argmax;
        }
    }

    // Eight windows a step: 16 floats of each input row split into even and odd columns (the four
    // taps), then the general loop's rule lane by lane without branches: a tap replaces the running
    // maximum when it is greater or NaN. A last, partial group of lanes is stored under a mask; its
    // loads may run past the row into the plane's next rows (unused lanes), never past the plane.
    // Returns the first output left to the scalar loop.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ForwardRow2x2Avx2(float* px, float* planeEnd, int top, int w, int outW, float* yRow, int* iRow)
    {
        float* row0 = px + top;
        float* row1 = row0 + w;
        var lanes = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        int ox = 0;
        for (; ox < outW && row1 + (2 * ox) + 16 <= planeEnd; ox += 8)
        {
            Split(row0 + (2 * ox), out var t0, out var t1);
            Split(row1 + (2 * ox), out var t2, out var t3);
            var i0 = Vector256.Create(top + (2 * ox)) + lanes;
            var max = t0;
            var argmax = i0;
            Take(ref max, ref argmax, t1, i0 + Vector256.Create(1));
            Take(ref max, ref argmax, t2, i0 + Vector256.Create(w));
            Take(ref max, ref argmax, t3, i0 + Vector256.Create(w + 1));
            int valid = outW - ox;
            if (valid >= 8)
            {
                max.Store(yRow + ox);
                argmax.Store(iRow + ox);
            }
            else
            {
                var mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(valid));
                Avx.MaskStore(yRow + ox, mask.AsSingle(), max);
                Avx2.MaskStore(iRow + ox, mask, argmax);
            }
        }

        return Math.Min(ox, outW);

        // 16 consecutive floats into their 8 even and 8 odd columns, in order.
        static void Split(float* p, out Vector256<float> even, out Vector256<float> odd)
        {
            var a = Avx.LoadVector256(p);
            var b = Avx.LoadVector256(p + 8);
            // Per 128-bit lane: [a0 a2 b0 b2 | a4 a6 b4 b6]; then the 64-bit pairs reordered to a0 a2 a4 a6 b0 b2 b4 b6.
            even = Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
            odd = Avx2.Permute4x64(Avx.Shuffle(a, b, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle();
        }

        static void Take(ref Vector256<float> max, ref Vector256<int> argmax, Vector256<float> v, Vector256<int> index)
        {
            var take = Avx.Or(Avx.CompareGreaterThan(v, max), Avx.CompareUnordered(v, v));
            max = Avx.BlendVariable(max, v, take);
            argmax = Avx.BlendVariable(argmax.AsSingle(), index.AsSingle(), take).AsInt32();
        }
    }

    // One plane: dx [H, W] = 0, then dx[indices[o]] += dy[o].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardPlane(ReadOnlySpan<float> dy, ReadOnlySpan<int> indices, Span<float> dx)
    {
        dx.Clear();
        for (int o = 0; o < dy.Length; o++)
        {
            dx[indices[o]] += dy[o];
        }
    }

    private static int Workers(int planes, long work)
    {
        if (work < ParallelThreshold || planes < 2)
        {
            return 1;
        }

        return Math.Min(Environment.ProcessorCount, planes);
    }

    private static void CheckSizes(int n, int c, int h, int w)
    {
        if (n < 0 || c < 0 || h < 0 || w < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), $"MaxPool2d: sizes must be non-negative, got n={n}, c={c}, h={h}, w={w}.");
        }
    }

    private static void CheckLength(int actual, long expected, string op, string name, string formula)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"MaxPool2d {op}: {name} has {actual} elements, expected {formula} = {expected}.", name);
        }
    }
}
