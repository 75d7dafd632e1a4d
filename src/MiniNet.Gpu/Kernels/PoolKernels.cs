// PoolKernels: 2-D max pooling, forward and backward (contract and letters:
// MiniNet.Kernels.MaxPool2dKernels). Square K × K windows at stride S, no padding, floor mode.
//
// Forward, one thread per output: the first maximum in row-major window order wins ties; a NaN wins
// over any number and among NaNs the last one is kept (`v > max || isnan(v)` from −∞, starting at the
// window's first index), exactly as the CPU kernel and PyTorch; indices hold iy·W + ix in the plane.
// Backward, dx[p][j] = Σ over outputs o of plane p with indices[o] == j of dy[o], in ascending o (the
// CPU kernel's order, so the sums agree to the bit): BackwardGather, one thread per input pixel, visits
// only the windows covering it (the seam passes K and S), so overlapping windows (S < K) are summed
// without atomics. Indices are those the forward wrote (the seam's contract).
using ILGPU;
using ILGPU.Algorithms;

namespace MiniNet.Gpu.Kernels;

/// <summary>The sizes of one max pooling (value type: a kernel argument).</summary>
internal readonly record struct PoolGeometry(int H, int W, int K, int Stride, int OutH, int OutW);

/// <summary>Max pooling kernels.</summary>
internal static class PoolKernels
{
    /// <summary>y and indices [planes, OH, OW] from x [planes, H, W]; index runs over the outputs.</summary>
    public static void Forward(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<int> indices, PoolGeometry g)
    {
        int planeOut = g.OutH * g.OutW;
        int plane = index / planeOut;
        int rest = index - (plane * planeOut);
        int oy = rest / g.OutW;
        int ox = rest - (oy * g.OutW);
        int planeStart = plane * g.H * g.W;
        int iy0 = oy * g.Stride;
        int ix0 = ox * g.Stride;
        float max = float.NegativeInfinity;
        int argmax = (iy0 * g.W) + ix0;
        for (int ky = 0; ky < g.K; ky++)
        {
            int rowStart = ((iy0 + ky) * g.W) + ix0;
            for (int kx = 0; kx < g.K; kx++)
            {
                float v = x[planeStart + rowStart + kx];
                if (v > max || float.IsNaN(v))
                {
                    max = v;
                    argmax = rowStart + kx;
                }
            }
        }

        y[index] = max;
        indices[index] = argmax;
    }

    /// <summary>dx [planes, H, W] from dy and indices [planes, OH, OW]; index runs over dx.</summary>
    // Windows covering row iy: oy·S ≤ iy ≤ oy·S + K − 1, i.e. oy from ⌈(iy − K + 1)/S⌉ (0 when iy < K,
    // else (iy − K)/S + 1) to ⌊iy/S⌋, clipped to OH − 1; columns alike.
    public static void BackwardGather(Index1D index, ArrayView<float> dy, ArrayView<int> indices, ArrayView<float> dx, PoolGeometry g)
    {
        int row = index / g.W;
        int ix = index - (row * g.W);
        int plane = row / g.H;
        int iy = row - (plane * g.H);
        int target = (iy * g.W) + ix;
        int oyBegin = iy < g.K ? 0 : ((iy - g.K) / g.Stride) + 1;
        int oyEnd = XMath.Min(iy / g.Stride, g.OutH - 1);
        int oxBegin = ix < g.K ? 0 : ((ix - g.K) / g.Stride) + 1;
        int oxEnd = XMath.Min(ix / g.Stride, g.OutW - 1);
        int planeOut = plane * g.OutH * g.OutW;
        float sum = 0f;
        for (int oy = oyBegin; oy <= oyEnd; oy++)
        {
            int o = planeOut + (oy * g.OutW) + oxBegin;
            for (int ox = oxBegin; ox <= oxEnd; ox++, o++)
            {
                if (indices[o] == target) sum += dy[o];
            }
        }

        dx[index] = sum;
    }
}
