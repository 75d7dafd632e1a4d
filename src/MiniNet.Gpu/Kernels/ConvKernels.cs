// ConvKernels: the layout kernels around the GEMMs of a 2-D convolution (contract and letters:
// MiniNet.Kernels.Conv2dKernels): im2col, col2im, the moves between [images, channels, spatial] and
// [channels, images·spatial], and the per-channel sum of dBias.
//
// A chunk of B images is lowered to one column matrix whose columns run over (image, output pixel):
//   cols [C·K·K, B·OH·OW],  cols[(c·K + ky)·K + kx, i·OH·OW + oy·OW + ox] = x[i, c, oy·S − P + ky, ox·S − P + kx]
// (0 in the padding), so one GEMM covers the chunk: rows [O, B·OH·OW] = W [O, C·K·K] · cols.
// All kernels write each output element once and read what they need (gathers): no atomics, and the
// order of every sum is fixed, so results repeat to the bit.
using ILGPU;
using ILGPU.Algorithms;

namespace MiniNet.Gpu.Kernels;

/// <summary>The sizes of one convolution (value type: a kernel argument).</summary>
internal readonly record struct ConvGeometry(int CIn, int H, int W, int K, int Stride, int Padding, int OutH, int OutW);

/// <summary>Layout kernels of the im2col convolution.</summary>
internal static class ConvKernels
{
    /// <summary>
    /// One thread per (channel c, column): writes the K·K rows of c in that column of cols.
    /// index = c·columns + column, column = i·OH·OW + oy·OW + ox; x holds the chunk's images [B, C, H, W].
    /// </summary>
    public static void Im2Col(Index1D index, ArrayView<float> x, ArrayView<float> cols, ConvGeometry g, int columns)
    {
        int c = index / columns;
        int column = index - (c * columns);
        int spatial = g.OutH * g.OutW;
        int i = column / spatial;
        int s = column - (i * spatial);
        int oy = s / g.OutW;
        int ox = s - (oy * g.OutW);
        int iy0 = (oy * g.Stride) - g.Padding;
        int ix0 = (ox * g.Stride) - g.Padding;
        int plane = ((i * g.CIn) + c) * g.H * g.W;   // x[i, c, :, :]
        int at = (c * g.K * g.K * columns) + column;  // cols[(c·K + 0)·K + 0, column]
        for (int ky = 0; ky < g.K; ky++)
        {
            int iy = iy0 + ky;
            bool rowInside = iy >= 0 && iy < g.H;
            for (int kx = 0; kx < g.K; kx++)
            {
                int ix = ix0 + kx;
                cols[at] = rowInside && ix >= 0 && ix < g.W ? x[plane + (iy * g.W) + ix] : 0f;
                at += columns;
            }
        }
    }

    /// <summary>
    /// The adjoint of Im2Col as a gather, one thread per input pixel of the chunk:
    /// dx[i, c, iy, ix] = Σ over the windows (oy, ox) covering it of dcols[(c·K + ky)·K + kx, i·OH·OW + oy·OW + ox]
    /// with ky = iy + P − oy·S, kx = ix + P − ox·S.
    /// </summary>
    // Window rows covering iy: 0 ≤ iy + P − oy·S ≤ K − 1, i.e. oy from ⌈(iy + P − K + 1)/S⌉ (0 when
    // iy + P < K, else (iy + P − K)/S + 1) to ⌊(iy + P)/S⌋, clipped to [0, OH − 1]; columns alike.
    public static void Col2Im(Index1D index, ArrayView<float> dcols, ArrayView<float> dx, ConvGeometry g, int columns)
    {
        int row = index / g.W;
        int ix = index - (row * g.W);
        int planeIndex = row / g.H;
        int iy = row - (planeIndex * g.H);
        int i = planeIndex / g.CIn;
        int c = planeIndex - (i * g.CIn);
        int yp = iy + g.Padding;
        int xp = ix + g.Padding;
        int oyBegin = yp < g.K ? 0 : ((yp - g.K) / g.Stride) + 1;
        int oyEnd = XMath.Min(yp / g.Stride, g.OutH - 1);
        int oxBegin = xp < g.K ? 0 : ((xp - g.K) / g.Stride) + 1;
        int oxEnd = XMath.Min(xp / g.Stride, g.OutW - 1);
        int imageColumn = i * g.OutH * g.OutW;
        int channelRow = c * g.K;
        float sum = 0f;
        for (int oy = oyBegin; oy <= oyEnd; oy++)
        {
            int ky = yp - (oy * g.Stride);
            int rowBase = (channelRow + ky) * g.K;
            int columnBase = imageColumn + (oy * g.OutW);
            for (int ox = oxBegin; ox <= oxEnd; ox++)
            {
                int kx = xp - (ox * g.Stride);
                sum += dcols[((rowBase + kx) * columns) + columnBase + ox];
            }
        }

        dx[index] = sum;
    }

    /// <summary>
    /// y[i, o, s] = rows[o, i·spatial + s] + bias[o] (no bias when bias.Length is 0): the GEMM's
    /// [O, B·spatial] result back to the images [B, O, spatial]; index runs over y.
    /// </summary>
    public static void RowsToImages(Index1D index, ArrayView<float> rows, ArrayView<float> bias, ArrayView<float> y, int channels, int spatial, int images)
    {
        int perImage = channels * spatial;
        int i = index / perImage;
        int rest = index - (i * perImage);
        int o = rest / spatial;
        int s = rest - (o * spatial);
        float v = rows[(o * images * spatial) + (i * spatial) + s];
        y[index] = bias.Length > 0 ? v + bias[o] : v;
    }

    /// <summary>rows[o, i·spatial + s] = y[i, o, s]: images [B, O, spatial] to [O, B·spatial]; index runs over rows.</summary>
    public static void ImagesToRows(Index1D index, ArrayView<float> y, ArrayView<float> rows, int channels, int spatial, int images)
    {
        int columns = images * spatial;
        int o = index / columns;
        int column = index - (o * columns);
        int i = column / spatial;
        int s = column - (i * spatial);
        rows[index] = y[(((i * channels) + o) * spatial) + s];
    }

    /// <summary>
    /// dBias[o] = Σ_i Σ_s dy[i, o, s] for dy [n, channels, spatial]: one group per channel o; each
    /// thread sums a fixed strided share in a fixed order, then a tree in shared memory.
    /// </summary>
    public static void ChannelSum(ArrayView<float> dy, ArrayView<float> dBias, int n, int channels, int spatial)
    {
        var partial = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        int o = Grid.IdxX;
        int t = Group.IdxX;
        float sum = 0f;
        for (int i = 0; i < n; i++)
        {
            int row = ((i * channels) + o) * spatial;
            for (int s = t; s < spatial; s += Group.DimX) sum += dy[row + s];
        }

        partial[t] = sum;
        Group.Barrier();
        for (int half = Group.DimX / 2; half > 0; half /= 2)
        {
            if (t < half) partial[t] += partial[t + half];
            Group.Barrier();
        }

        if (t == 0) dBias[o] = partial[0];
    }
}
