// Gemm, the transposed-B product with few rows: C = A · Bᵀ computed as Cᵀ = B · Aᵀ.
//
// Linear's forward is x · Wᵀ with x [batch, in] and W [out, in]: few rows of A and a large B stored
// [n, k]. The blocked algorithm packs op(B) = Bᵀ, a transpose of every row of B into 32-column
// panels, which reads 32 rows of B at once and is bound by memory latency (the CNN's fc forward
// packs all 25 MB of W per call). Here the roles are swapped: the micro-kernel broadcasts B[j, p]
// straight from Mr rows of B (RunRows, no packing of B at all) against a packed panel of Aᵀ, and
// writes Cᵀ tiles into a scratch block that is transposed into C at the end. Only A, the small
// operand, is packed, once per k block, and reused by every row group of B.
//
// Threading: each worker owns a rectangle of Cᵀ, rows of B (Mr-aligned) × panels of A's rows, and
// packs the panels of A it needs itself.

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace MiniNet.Kernels;

public static unsafe partial class Gemm
{
    // k steps per block when a worker has several panels of Aᵀ: Mr rows of B (12 × 512 floats =
    // 24 KiB) stay in L1 while every panel passes them.
    private const int KcRows = 512;

    // k steps per block when a worker has one panel: B's rows are used once, so long blocks let the
    // hardware prefetcher stream them (CNN fc forward with W out of cache: 6.4 → 4.3–4.8 ms at 8192);
    // the panel of Aᵀ (32 × 8192 floats, 1 MiB) stays in L2.
    private const int KcOnePanel = 8192;

    // Whether a transposed-B product takes the swapped path: between 16 and 256 rows of C (fewer
    // waste most of a 32-column panel of Aᵀ; more are better served by the blocked algorithm) and
    // enough k steps to pay for the final transpose of C.
    internal static bool UseSwapped(int m, int k) => m >= 16 && m <= 256 && k >= 128;

    // Edge rows of B (fewer than Mr), copied into a zero-padded block.
    [ThreadStatic]
    private static float[]? t_edgeRows;

    // A worker's block of Cᵀ, [rows of B, panel columns].
    [ThreadStatic]
    private static float[]? t_ct;

    private static void Swapped(KernelKind kind, int workers, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta)
    {
        switch (kind)
        {
            case KernelKind.Vector512:
                Swapped<Kernel512>(workers, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
            case KernelKind.Vector256:
                Swapped<Kernel256>(workers, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
            default:
                Swapped<KernelScalar>(workers, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
        }
    }

    private static void Swapped<TKernel>(int workers, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta)
        where TKernel : struct, IMicroKernel
    {
        int mr = TKernel.Mr;
        int nr = TKernel.Nr;
        int panels = CeilDiv(m, nr);
        if (workers <= 1)
        {
            SwappedBlock<TKernel>(m, k, a, lda, b, ldb, c, ldc, beta, 0, n, 0, panels);
            return;
        }

        // Panels of A per worker when they split A's rows evenly enough: each worker then packs only
        // its own panels and reads all of B (from L3). Otherwise each worker takes a range of B's
        // rows and packs every panel.
        int perWorker = CeilDiv(panels, workers);
        if (Math.Min(m, perWorker * nr) * workers * 5 <= m * 6)
        {
            ForkJoin.For(workers, t =>
            {
                int p0 = t * panels / workers;
                int p1 = (t + 1) * panels / workers;
                if (p1 > p0)
                {
                    SwappedBlock<TKernel>(m, k, a, lda, b, ldb, c, ldc, beta, 0, n, p0, p1);
                }
            });
            return;
        }

        int groups = CeilDiv(n, mr);
        ForkJoin.For(workers, t =>
        {
            int j0 = t * groups / workers * mr;
            int j1 = Math.Min(n, (t + 1) * groups / workers * mr);
            if (j1 > j0)
            {
                SwappedBlock<TKernel>(m, k, a, lda, b, ldb, c, ldc, beta, j0, j1, 0, panels);
            }
        });
    }

    // C[p0·Nr : p1·Nr, j0 : j1] (rows past m excluded) = (B[j0 : j1, :] · Aᵀ)ᵀ + beta · C, in slabs of
    // at most 340 · Mr rows of B so that the Cᵀ scratch block stays bounded (2 MiB at 128 columns).
    private static void SwappedBlock<TKernel>(int m, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta, int j0, int j1, int p0, int p1)
        where TKernel : struct, IMicroKernel
    {
        int slab = 340 * TKernel.Mr;
        for (int s0 = j0; s0 < j1; s0 += slab)
        {
            SwappedSlab<TKernel>(m, k, a, lda, b, ldb, c, ldc, beta, s0, Math.Min(j1, s0 + slab), p0, p1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SwappedSlab<TKernel>(int m, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta, int j0, int j1, int p0, int p1)
        where TKernel : struct, IMicroKernel
    {
        int mr = TKernel.Mr;
        int nr = TKernel.Nr;
        int rows = j1 - j0;
        int i0 = p0 * nr;
        int count = Math.Min(m, p1 * nr) - i0;
        int width = (p1 - p0) * nr;
        int kcStep = p1 - p0 == 1 ? KcOnePanel : KcRows;
        int kcMax = Math.Min(kcStep, k);
        float* packA = PackBuffer(ref t_packB, width * kcMax); // panels of Aᵀ, [kc, Nr] each
        float* ct = PackBuffer(ref t_ct, RoundUp(rows, mr) * width); // [rows, width]
        float* edge = PackBuffer(ref t_edgeRows, mr * kcMax); // [Mr, kc]
        for (int pc = 0; pc < k; pc += kcStep)
        {
            int kc = Math.Min(kcStep, k - pc);
            PackB(true, a, lda, pc, i0, kc, count, nr, packA);
            float tileBeta = pc == 0 ? 0f : 1f;
            for (int jr = 0; jr < rows; jr += mr)
            {
                float* bRows = b + ((long)(j0 + jr) * ldb) + pc;
                nint ld = ldb;
                if (jr + mr > rows)
                {
                    // Fewer than Mr rows left: copy them into a zero-padded block.
                    int left = rows - jr;
                    for (int r = 0; r < mr; r++)
                    {
                        var dst = new Span<float>(edge + ((long)r * kc), kc);
                        if (r < left)
                        {
                            new ReadOnlySpan<float>(bRows + ((long)r * ldb), kc).CopyTo(dst);
                        }
                        else
                        {
                            dst.Clear();
                        }
                    }

                    bRows = edge;
                    ld = kc;
                }

                for (int q = 0; q < p1 - p0; q++)
                {
                    TKernel.RunRows(kc, bRows, ld, packA + ((long)q * nr * kc), ct + ((long)jr * width) + (q * nr), width, tileBeta);
                }
            }
        }

        float* cBlock = c + ((long)i0 * ldc) + j0;
        if (beta == 0f)
        {
            Transpose(ct, width, rows, count, cBlock, ldc);
            return;
        }

        // C = beta · C + Cᵀᵀ: transpose into a scratch block, then add it row by row.
        float* t = PackBuffer(ref t_packA, count * rows);
        Transpose(ct, width, rows, count, t, rows);
        for (int i = 0; i < count; i++)
        {
            var src = new ReadOnlySpan<float>(t + ((long)i * rows), rows);
            var dst = new Span<float>(cBlock + ((long)i * ldc), rows);
            if (beta == 1f)
            {
                TensorPrimitives.Add(dst, src, dst);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(dst, beta, src, dst);
            }
        }
    }
}
