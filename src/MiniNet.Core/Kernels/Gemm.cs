// Gemm: single-precision matrix multiply C = op(A) · op(B) + beta · C.
//
// Contract
// - All matrices are row-major and contiguous. op(A) is [m, k], op(B) is [k, n], C is [m, n].
// - transA: A is stored as [k, m] and op(A) = Aᵀ; otherwise A is stored as [m, k].
//   transB: B is stored as [n, k] and op(B) = Bᵀ; otherwise B is stored as [k, n].
// - beta == 0 overwrites C without reading it (old NaN or Inf in C do not leak into the result);
//   any other beta scales the old C before the product is added.
// - Multiply is the fast kernel (packing, cache blocking, SIMD micro-kernel, two-level threading);
//   MultiplyNaive is the scalar reference it is tested against.
//
// How Multiply works (the Goto/BLIS scheme, written for row-major C)
// - For each block of Nc columns and each block of Kc steps of the k dimension, the Kc × Nc block
//   of op(B) (at most PackedBBlock floats, so it stays in L2) is packed into panels of Nr columns:
//   panel[p, j] is contiguous in j, so one SIMD load reads Nr / 16 (or Nr / 8) consecutive columns
//   of one k step.
// - For each block of Mc rows the Mc × Kc block of op(A) is packed into panels of Mr rows:
//   panel[p, i] is contiguous in i, so the micro-kernel broadcasts A[i, p] from consecutive floats.
// - The micro-kernel keeps an Mr × Nr tile of C in registers for the whole Kc loop and does one
//   fused multiply-add per register per k step. The packed A micro-panel (Kc × Mr, 24 KiB at most)
//   stays in L1 while the micro-kernel walks across the packed B block (L2): only B's two vector
//   loads a step come from L2. (The other order kept a Kc × Nr B micro-panel in L1, which at
//   Kc 512 is 64 KiB and did not fit: both operands then streamed from L2.)
// - Transposes are absorbed by the packing routines; no transposed copy is ever materialised.
// - A · Bᵀ with 16 to 256 rows (Linear's forward) is computed as Cᵀ = B · Aᵀ without packing B:
//   see Gemm.Swapped.cs.
// - Edge tiles (m or n not a multiple of the tile) are computed into a scratch tile from
//   zero-padded panels and then copied into C.
// - A large C written in one pass (beta 0, k within one block) is stored with non-temporal stores
//   from its first 64-byte aligned column on (StreamMinC).
// - Large products are split over the cores (ForkJoin) by column or row ranges, whichever gives
//   the busiest core the least work. With a large op(A), column splits pack op(A) once into a
//   buffer all workers share and take a few column chunks per core dynamically, each packing its
//   own columns of op(B) (PackedColumns). Otherwise each range runs the serial algorithm with its
//   own thread-static pack buffers. Small products stay on the caller.
//
// Traps
// - Spans cannot be captured by the parallel lambda: buffers are pinned with `fixed` and plain
//   pointer copies are captured instead.
// - The pack buffers live on the pinned object heap, so their addresses stay valid without `fixed`.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MiniNet.Kernels;

/// <summary>Single-precision general matrix multiply on row-major contiguous buffers.</summary>
public static unsafe partial class Gemm
{
    // k steps per packed block: the Kc × 12 A micro-panel (12 KiB) stays in L1.
    private const int Kc = 256;

    // k steps per packed block once op(A) has at least Mc rows: C is passed over half as often
    // (1024³: 2-3% faster; fc fwd with m = 64 is 4% slower at 512, so it keeps 256).
    private const int KcTall = 512;

    // Rows of op(A) per packed block: Mc × Kc floats (192 or 384 KiB) stay in L2.
    private const int Mc = 192;

    // Floats of packed op(B) per block (Kc × Nc, 1 MiB): the block stays in L2 while the micro-kernel
    // walks its panels once per panel of op(A). (Nc was 2048 columns, 4 MiB at Kc 512: serial 1024³
    // then streamed B from L3 and ran at 118 GFLOP/s, now 129-131.)
    private const int PackedBBlock = 1 << 18;

    // Products with fewer multiply-adds than this stay on the calling thread.
    internal const long ParallelThreshold = 1L << 21;

    // A beta 0 product done in one k block writes C once and never reads it back: from this many
    // floats of C (4 MB, twice L2) Kernel512 stores it with non-temporal stores, which skip reading
    // every line of C into the cache before overwriting it (CNN fc dW, 1000 × 6272 × 64, in the
    // pairs bench: 7.6 → 5.2 ms). When C would have stayed in cache (the same 25 MB C overwritten
    // in a loop) they cost about 20%.
    private const long StreamMinC = 1L << 20;

    // Column splits with at least this many packed floats of op(A) share one packing of it
    // (PackedColumns). Below, each worker packs all of op(A) itself: a second fork would cost more.
    private const long SharedPackThreshold = 1L << 18;

    // Column chunks per worker in PackedColumns: more than one lets a worker that started late or
    // was interrupted take fewer.
    private const int ChunksPerWorker = 2;

    [ThreadStatic]
    private static float[]? t_packA;

    [ThreadStatic]
    private static float[]? t_packB;

    // All of op(A), packed once by PackedColumns for every worker (owned by the calling thread).
    [ThreadStatic]
    private static float[]? t_packAShared;

    // The micro-kernel Multiply uses on this machine.
    internal static KernelKind DefaultKind { get; } =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? KernelKind.Vector512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported ? KernelKind.Vector256
        : KernelKind.Scalar;

    /// <summary>
    /// Computes C = op(A) · op(B) + beta · C with packed, cache-blocked SIMD kernels, using several
    /// cores when the product is large.
    /// </summary>
    /// <param name="transA">A is stored as [k, m] and used transposed; otherwise A is [m, k].</param>
    /// <param name="transB">B is stored as [n, k] and used transposed; otherwise B is [k, n].</param>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="n">Columns of op(B) and of C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="a">A, row-major, m·k floats.</param>
    /// <param name="b">B, row-major, k·n floats.</param>
    /// <param name="c">C [m, n], row-major; read only when beta is not 0.</param>
    /// <param name="beta">Scale of the old C: 0 overwrites C, 1 accumulates into it.</param>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, float beta = 0f)
        => MultiplyWith(DefaultKind, parallel: true, transA, transB, m, n, k, a, b, c, beta);

    /// <summary>
    /// Reference implementation of <see cref="Multiply"/>: a scalar triple loop with a float
    /// accumulator. Same arguments and semantics.
    /// </summary>
    /// <param name="transA">A is stored as [k, m] and used transposed; otherwise A is [m, k].</param>
    /// <param name="transB">B is stored as [n, k] and used transposed; otherwise B is [k, n].</param>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="n">Columns of op(B) and of C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="a">A, row-major, m·k floats.</param>
    /// <param name="b">B, row-major, k·n floats.</param>
    /// <param name="c">C [m, n], row-major; read only when beta is not 0.</param>
    /// <param name="beta">Scale of the old C: 0 overwrites C, 1 accumulates into it.</param>
    public static void MultiplyNaive(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, float beta = 0f)
    {
        Validate(m, n, k, a, b, c);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float aip = transA ? a[(p * m) + i] : a[(i * k) + p];
                    float bpj = transB ? b[(j * k) + p] : b[(p * n) + j];
                    sum += aip * bpj;
                }

                c[(i * n) + j] = beta == 0f ? sum : (beta * c[(i * n) + j]) + sum;
            }
        }
    }

    // Multiply with an explicit micro-kernel and threading choice: tests run every kernel the
    // machine supports, and callers that already run in parallel (Conv2d over the batch) pass
    // parallel: false.
    internal static void MultiplyWith(KernelKind kind, bool parallel, bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, float beta)
    {
        Validate(m, n, k, a, b, c);
        if (m == 0 || n == 0)
        {
            return;
        }

        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        fixed (float* pa = a, pb = b, pc = c)
        {
            int workers = parallel ? Workers(m, n, k) : 1;
            if (transB && !transA && UseSwapped(m, k))
            {
                Swapped(kind, workers, m, n, k, pa, lda, pb, ldb, pc, n, beta);
                return;
            }

            if (workers <= 1)
            {
                Blocked(kind, transA, transB, m, n, k, pa, lda, pb, ldb, pc, n, beta);
                return;
            }

            float* aa = pa;
            float* bb = pb;
            float* cc = pc;
            var (splitColumns, step) = Split(m, n, workers);
            long packedA = (long)RoundUp(m, 12) * k;
            if (splitColumns && packedA >= SharedPackThreshold && packedA <= int.MaxValue / 2)
            {
                // Column chunks taken dynamically, over one packing of op(A) shared by all workers.
                PackedColumns(kind, workers, transA, transB, m, n, k, pa, lda, pb, ldb, pc, n, beta);
            }
            else if (splitColumns)
            {
                // Column ranges: each worker owns C[:, j0:j1) and the matching columns of op(B).
                ForkJoin.For(CeilDiv(n, step), t =>
                {
                    int j0 = t * step;
                    int width = Math.Min(step, n - j0);
                    float* bPart = transB ? bb + ((long)j0 * ldb) : bb + j0;
                    Blocked(kind, transA, transB, m, width, k, aa, lda, bPart, ldb, cc + j0, n, beta);
                });
            }
            else
            {
                // Row ranges: each worker owns C[i0:i1, :] and the matching rows of op(A).
                ForkJoin.For(CeilDiv(m, step), t =>
                {
                    int i0 = t * step;
                    int height = Math.Min(step, m - i0);
                    float* aPart = transA ? aa + i0 : aa + ((long)i0 * lda);
                    Blocked(kind, transA, transB, height, n, k, aPart, lda, bb, ldb, cc + ((long)i0 * n), n, beta);
                });
            }
        }
    }

    private static void Validate(int m, int n, int k, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(m), $"Gemm: sizes must be non-negative, got m={m}, n={n}, k={k}.");
        }

        if (a.Length < (long)m * k)
        {
            throw new ArgumentException($"Gemm: A has {a.Length} elements, expected at least m·k = {m}·{k} = {(long)m * k}.", nameof(a));
        }

        if (b.Length < (long)k * n)
        {
            throw new ArgumentException($"Gemm: B has {b.Length} elements, expected at least k·n = {k}·{n} = {(long)k * n}.", nameof(b));
        }

        if (c.Length < (long)m * n)
        {
            throw new ArgumentException($"Gemm: C has {c.Length} elements, expected at least m·n = {m}·{n} = {(long)m * n}.", nameof(c));
        }
    }

    private static int Workers(int m, int n, int k)
    {
        if ((long)m * n * k < ParallelThreshold)
        {
            return 1;
        }

        // Each worker should get at least a couple of full register tiles along one dimension.
        int splittable = Math.Max(n / 64, m / 24);
        return Math.Max(1, Math.Min(Environment.ProcessorCount, splittable));
    }

    // Splits C into column ranges (true) or row ranges (false) of `step` columns or rows each: the
    // choice that gives the busiest worker the least work. Work counts padded tile area (edge tiles
    // come in steps of 4 rows and 16 columns) plus the pack of the operand every worker repeats
    // (all of op(A) for column ranges, all of op(B) for row ranges), weighted as four outputs per
    // packed float. Ranges are multiples of the full tile where that costs nothing more.
    private static (bool Columns, int Step) Split(int m, int n, int workers)
    {
        int columnStep = RoundUp(CeilDiv(n, workers), 32);
        if (RoundUp(CeilDiv(n, workers), 16) < columnStep)
        {
            columnStep -= 16;
        }

        int rowStep = RoundUp(CeilDiv(m, workers), 12);
        if (RoundUp(CeilDiv(m, workers), 4) < rowStep)
        {
            rowStep = RoundUp(CeilDiv(m, workers), 4);
        }

        long columnCost = ((long)RoundUp(m, 4) * RoundUp(Math.Min(columnStep, n), 16)) + (4L * m);
        long rowCost = ((long)RoundUp(Math.Min(rowStep, m), 4) * RoundUp(n, 16)) + (4L * n);
        return columnCost <= rowCost ? (true, columnStep) : (false, rowStep);
    }

    // k steps per packed block: KcTall once op(A) has at least Mc rows.
    private static int KcFor(int m) => m >= Mc ? KcTall : Kc;

    private static int CeilDiv(int x, int y) => (x + y - 1) / y;

    private static int RoundUp(int x, int multiple) => CeilDiv(x, multiple) * multiple;

    private static void PackedColumns(KernelKind kind, int workers, bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta)
    {
        switch (kind)
        {
            case KernelKind.Vector512:
                PackedColumns<Kernel512>(workers, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
            case KernelKind.Vector256:
                PackedColumns<Kernel256>(workers, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
            default:
                PackedColumns<KernelScalar>(workers, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
        }
    }

    // The column split. op(A) is packed once, every k block and every Mc block of it, into a buffer
    // both cores read (it stays in L3); then C is cut into ChunksPerWorker column chunks per worker,
    // taken dynamically. A chunk packs its own columns of op(B) one k block at a time (into its
    // thread's buffer, in L2) and runs the micro-kernel over every tile. Nothing is packed twice, and
    // a worker that starts late or is interrupted takes fewer chunks instead of delaying the call.
    private static void PackedColumns<TKernel>(int workers, bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta)
        where TKernel : struct, IMicroKernel
    {
        int mr = TKernel.Mr;
        int nr = TKernel.Nr;
        int kcStep = KcFor(m);
        int mPad = RoundUp(m, mr);

        // [k / Kc][mPad / Mr][kc, Mr]: block (pc, ic) starts at pc · mPad + ic · kc.
        float* packA = PackBuffer(ref t_packAShared, mPad * k);
        int mBlocks = CeilDiv(m, Mc);
        int packJobs = CeilDiv(k, kcStep) * mBlocks;
        void PackJob(int t)
        {
            int pc = t / mBlocks * kcStep;
            int ic = t % mBlocks * Mc;
            int kc = Math.Min(kcStep, k - pc);
            PackA(transA, a, lda, ic, pc, Math.Min(Mc, m - ic), kc, mr, packA + ((long)pc * mPad) + ((long)ic * kc));
        }

        ForkJoin.For(packJobs, PackJob);

        // Chunk t is C[:, Edge(t) : Edge(t + 1)): equal widths to the nearest half panel (Kernel512
        // has a half-width edge tile), and PackedBBlock / Kc columns at most.
        int chunks = Math.Max(workers * ChunksPerWorker, CeilDiv(n, PackedBBlock / kcStep));
        int align = Math.Max(1, nr / 2);
        int Edge(int t) => t == chunks ? n : (int)Math.Round((double)t * n / chunks / align) * align;
        ForkJoin.For(chunks, t =>
        {
            int j0 = Edge(t);
            int nc = Edge(t + 1) - j0;
            if (nc <= 0)
            {
                return;
            }

            float* packB = PackBuffer(ref t_packB, RoundUp(nc, nr) * Math.Min(kcStep, k));
            float* tile = stackalloc float[mr * nr]; // [Mr, Nr] scratch for edge tiles
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                PackB(transB, b, ldb, pc, j0, kc, nc, nr, packB);
                for (int ic = 0; ic < m; ic += Mc)
                {
                    float* aBlock = packA + ((long)pc * mPad) + ((long)ic * kc);
                    Tiles<TKernel>(Math.Min(Mc, m - ic), kc, nc, aBlock, packB, tile, c + ((long)ic * ldc) + j0, ldc, pc == 0 ? beta : 1f, false);
                }
            }
        });
    }

    private static void Blocked(KernelKind kind, bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta)
    {
        switch (kind)
        {
            case KernelKind.Vector512:
                Blocked<Kernel512>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
            case KernelKind.Vector256:
                Blocked<Kernel256>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
            default:
                Blocked<KernelScalar>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta);
                break;
        }
    }

    // The serial blocked algorithm on a strided sub-matrix: op(A) [m, k] with leading dimension lda,
    // op(B) [k, n] with ldb, C [m, n] with ldc.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked<TKernel>(bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, float beta)
        where TKernel : struct, IMicroKernel
    {
        int mr = TKernel.Mr;
        int nr = TKernel.Nr;
        if (k == 0)
        {
            ScaleC(m, n, c, ldc, beta);
            return;
        }

        int kcStep = KcFor(m);
        bool stream = TKernel.Streams && beta == 0f && k <= kcStep && (long)m * n >= StreamMinC && ldc % 16 == 0;
        if (stream)
        {
            // Non-temporal stores need 64-byte aligned tiles: the columns before the first aligned
            // one go through the ordinary path.
            int lead = (int)((64 - ((nint)c & 63)) & 63) / sizeof(float);
            if (lead > 0)
            {
                Blocked<TKernel>(transA, transB, m, lead, k, a, lda, b, ldb, c, ldc, beta);
                b = transB ? b + ((long)lead * ldb) : b + lead;
                c += lead;
                n -= lead;
            }
        }

        int kcMax = Math.Min(kcStep, k);
        float* packA = PackBuffer(ref t_packA, RoundUp(Math.Min(Mc, m), mr) * kcMax);
        int ncStep = PackedBBlock / kcStep;
        float* packB = PackBuffer(ref t_packB, RoundUp(Math.Min(ncStep, n), nr) * kcMax);
        float* tile = stackalloc float[mr * nr]; // [Mr, Nr] scratch for edge tiles

        for (int jc = 0; jc < n; jc += ncStep)
        {
            int nc = Math.Min(ncStep, n - jc);
            for (int pc = 0; pc < k; pc += kcStep)
            {
                int kc = Math.Min(kcStep, k - pc);
                PackB(transB, b, ldb, pc, jc, kc, nc, nr, packB);
                MacroBlock<TKernel>(transA, a, lda, m, pc, kc, nc, packB, packA, tile, c + jc, ldc, pc == 0 ? beta : 1f, stream);
            }
        }

        if (stream)
        {
            Sse.StoreFence();
        }
    }

    // C[0:m, 0:nc] = op(A)[0:m, pc : pc + kc] · packed op(B) block [kc, nc] + beta · C: packs op(A)
    // Mc rows at a time and runs the micro-kernel over every tile of the block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MacroBlock<TKernel>(bool transA, float* a, int lda, int m, int pc, int kc, int nc, float* packB, float* packA, float* tile, float* c, int ldc, float beta, bool stream)
        where TKernel : struct, IMicroKernel
    {
        for (int ic = 0; ic < m; ic += Mc)
        {
            int mc = Math.Min(Mc, m - ic);
            PackA(transA, a, lda, ic, pc, mc, kc, TKernel.Mr, packA);
            Tiles<TKernel>(mc, kc, nc, packA, packB, tile, c + ((long)ic * ldc), ldc, beta, stream);
        }
    }

    // C[0:mc, 0:nc] = packed op(A) block [mc, kc] · packed op(B) block [kc, nc] + beta · C: the
    // micro-kernel over every tile, walking across the B block (L2) with one A micro-panel (L1).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tiles<TKernel>(int mc, int kc, int nc, float* packA, float* packB, float* tile, float* c, int ldc, float beta, bool stream)
        where TKernel : struct, IMicroKernel
    {
        int mr = TKernel.Mr;
        int nr = TKernel.Nr;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int mrEdge = Math.Min(mr, mc - ir);
            float* aPanel = packA + ((long)ir * kc); // [kc, Mr]
            for (int jr = 0; jr < nc; jr += nr)
            {
                int nrEdge = Math.Min(nr, nc - jr);
                float* bPanel = packB + ((long)jr * kc); // [kc, Nr]
                float* cTile = c + ((long)ir * ldc) + jr;
                if (mrEdge == mr && nrEdge == nr)
                {
                    TKernel.Run(kc, aPanel, bPanel, cTile, ldc, beta, stream);
                }
                else
                {
                    TKernel.RunEdge(kc, aPanel, bPanel, tile, mrEdge, nrEdge);
                    StoreEdge(tile, nr, cTile, ldc, mrEdge, nrEdge, beta);
                }
            }
        }
    }

    private static void ScaleC(int m, int n, float* c, int ldc, float beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + ((long)i * ldc), n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                for (int j = 0; j < n; j++)
                {
                    row[j] *= beta;
                }
            }
        }
    }

    private static void StoreEdge(float* tile, int ldt, float* c, int ldc, int rows, int cols, float beta)
    {
        for (int i = 0; i < rows; i++)
        {
            float* src = tile + (i * ldt);
            float* dst = c + ((long)i * ldc);
            for (int j = 0; j < cols; j++)
            {
                dst[j] = beta == 0f ? src[j] : (beta * dst[j]) + src[j];
            }
        }
    }

    // Packs op(A)[ic : ic + mc, pc : pc + kc] into panels of mr rows: packA[panel][p, i], [kc, mr]
    // each, rows past mc zero-filled.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(bool transA, float* a, int lda, int ic, int pc, int mc, int kc, int mr, float* packA)
    {
        if (transA)
        {
            // op(A)[i, p] = A[p, i]: each k step is a contiguous run of rows.
            PackRows(a + ((long)pc * lda) + ic, lda, kc, mc, mr, packA);
            return;
        }

        for (int ir = 0; ir < mc; ir += mr)
        {
            // op(A)[i, p] = A[i, p]: a transpose of the rows into the panel.
            int rows = Math.Min(mr, mc - ir);
            float* dst = packA + ((long)ir * kc);
            Transpose(a + ((long)(ic + ir) * lda) + pc, lda, rows, kc, dst, mr);
            for (int i = rows; i < mr; i++)
            {
                for (int p = 0; p < kc; p++)
                {
                    dst[(p * mr) + i] = 0f;
                }
            }
        }
    }

    // Packs op(B)[pc : pc + kc, jc : jc + nc] into panels of nr columns: packB[panel][p, j], [kc, nr]
    // each, columns past nc zero-filled.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(bool transB, float* b, int ldb, int pc, int jc, int kc, int nc, int nr, float* packB)
    {
        if (!transB)
        {
            // op(B)[p, j] = B[p, j]: each k step is a contiguous run of columns.
            PackRows(b + ((long)pc * ldb) + jc, ldb, kc, nc, nr, packB);
            return;
        }

        for (int jr = 0; jr < nc; jr += nr)
        {
            // op(B)[p, j] = B[j, p]: a transpose of the rows of B into the panel.
            int cols = Math.Min(nr, nc - jr);
            float* dst = packB + ((long)jr * kc);
            Transpose(b + ((long)(jc + jr) * ldb) + pc, ldb, cols, kc, dst, nr);
            if (cols < nr)
            {
                for (int p = 0; p < kc; p++)
                {
                    new Span<float>(dst + (p * nr) + cols, nr - cols).Clear();
                }
            }
        }
    }

    // Packs the rows × cols matrix src (row stride lds) into panels of width columns: dst[panel][p, j],
    // [rows, width] each, columns past cols zero-filled. Walks src a few rows at a time across all
    // panels, so src is read as a handful of sequential streams rather than one page per row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRows(float* src, int lds, int rows, int cols, int width, float* dst)
    {
        const int RowsPerPass = 8;
        for (int p0 = 0; p0 < rows; p0 += RowsPerPass)
        {
            int p1 = Math.Min(rows, p0 + RowsPerPass);
            for (int j = 0; j < cols; j += width)
            {
                int n = Math.Min(width, cols - j);
                float* panel = dst + ((long)j * rows);
                for (int p = p0; p < p1; p++)
                {
                    float* s = src + ((long)p * lds) + j;
                    float* d = panel + ((long)p * width);
                    int q = 0;
                    for (; q + 8 <= n; q += 8)
                    {
                        Vector256.Store(Vector256.Load(s + q), d + q);
                    }

                    for (; q < n; q++)
                    {
                        d[q] = s[q];
                    }

                    for (; q < width; q++)
                    {
                        d[q] = 0f;
                    }
                }
            }
        }
    }

    // dst[p, i] = src[i, p] for i < rows, p < cols: src has row stride lds, dst row stride ldd.
    // Blocks of 8 × 8 (then 4 × 4) go through registers; the leftovers are copied one by one.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* src, int lds, int rows, int cols, float* dst, int ldd)
    {
        int i = 0;
        int cols8 = Avx.IsSupported ? cols & ~7 : 0;
        int cols4 = Sse.IsSupported ? cols & ~3 : 0;
        if (cols8 > 0)
        {
            for (; i + 8 <= rows; i += 8)
            {
                float* s = src + ((long)i * lds);
                for (int p = 0; p < cols8; p += 8)
                {
                    Transpose8x8(s + p, lds, dst + ((long)p * ldd) + i, ldd);
                }

                TransposeScalar(s, lds, 8, cols8, cols, dst + i, ldd);
            }
        }

        if (cols4 > 0)
        {
            for (; i + 4 <= rows; i += 4)
            {
                float* s = src + ((long)i * lds);
                for (int p = 0; p < cols4; p += 4)
                {
                    Transpose4x4(s + p, lds, dst + ((long)p * ldd) + i, ldd);
                }

                TransposeScalar(s, lds, 4, cols4, cols, dst + i, ldd);
            }
        }

        TransposeScalar(src + ((long)i * lds), lds, rows - i, 0, cols, dst + i, ldd);
    }

    // dst[p, i] = src[i, p] for i < rows and p0 <= p < p1.
    private static void TransposeScalar(float* src, int lds, int rows, int p0, int p1, float* dst, int ldd)
    {
        for (int i = 0; i < rows; i++)
        {
            float* s = src + ((long)i * lds);
            for (int p = p0; p < p1; p++)
            {
                dst[((long)p * ldd) + i] = s[p];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, int lds, float* dst, int ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(src);
        Vector256<float> r1 = Avx.LoadVector256(src + lds);
        Vector256<float> r2 = Avx.LoadVector256(src + (2 * lds));
        Vector256<float> r3 = Avx.LoadVector256(src + (3 * lds));
        Vector256<float> r4 = Avx.LoadVector256(src + (4 * lds));
        Vector256<float> r5 = Avx.LoadVector256(src + (5 * lds));
        Vector256<float> r6 = Avx.LoadVector256(src + (6 * lds));
        Vector256<float> r7 = Avx.LoadVector256(src + (7 * lds));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + (2 * ldd), Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + (3 * ldd), Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + (4 * ldd), Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + (5 * ldd), Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + (6 * ldd), Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + (7 * ldd), Avx.Permute2x128(s3, s7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(float* src, int lds, float* dst, int ldd)
    {
        Vector128<float> r0 = Sse.LoadVector128(src);
        Vector128<float> r1 = Sse.LoadVector128(src + lds);
        Vector128<float> r2 = Sse.LoadVector128(src + (2 * lds));
        Vector128<float> r3 = Sse.LoadVector128(src + (3 * lds));
        Vector128<float> t0 = Sse.UnpackLow(r0, r1);
        Vector128<float> t1 = Sse.UnpackHigh(r0, r1);
        Vector128<float> t2 = Sse.UnpackLow(r2, r3);
        Vector128<float> t3 = Sse.UnpackHigh(r2, r3);
        Sse.Store(dst, Sse.MoveLowToHigh(t0, t2));
        Sse.Store(dst + ldd, Sse.MoveHighToLow(t2, t0));
        Sse.Store(dst + (2 * ldd), Sse.MoveLowToHigh(t1, t3));
        Sse.Store(dst + (3 * ldd), Sse.MoveHighToLow(t3, t1));
    }

    // A thread-static pinned buffer of at least `length` floats, returned 64-byte aligned.
    private static float* PackBuffer(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length + 16)
        {
            buffer = GC.AllocateUninitializedArray<float>(length + 16, pinned: true);
        }

        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((address + 63) & ~(nint)63);
    }

    // Micro-kernels Multiply can run; tests exercise each one the machine supports.
    internal enum KernelKind
    {
        // Portable scalar 4 × 4 tile.
        Scalar,

        // AVX2 + FMA 6 × 16 tile.
        Vector256,

        // AVX-512 12 × 32 tile.
        Vector512,
    }

    // C[0:Mr, 0:Nr] = sum over p of aPanel[p, :]ᵀ · bPanel[p, :] + beta · C, with C's leading dimension ldc.
    private interface IMicroKernel
    {
        static abstract int Mr { get; }

        static abstract int Nr { get; }

        // Whether Run honours stream: non-temporal stores of a beta 0 tile whose rows are 64-byte aligned.
        static abstract bool Streams { get; }

        static abstract void Run(int kc, float* a, float* b, float* c, int ldc, float beta, bool stream);

        // Run with A unpacked: Mr rows of A, each kc contiguous floats, lda floats apart.
        static abstract void RunRows(int kc, float* a, nint lda, float* b, float* c, int ldc, float beta);

        // An edge tile: at least the first rows × cols of the Mr × Nr product into tile [Mr, Nr]
        // (leading dimension Nr, beta 0); the panels keep their full Mr and Nr strides.
        static abstract void RunEdge(int kc, float* a, float* b, float* tile, int rows, int cols);
    }

    // Compile-time tile shapes for Kernel512's edge tiles: the JIT specialises Tile512 per shape
    // and drops the rows and columns a shape does not compute.
    private interface ITileShape
    {
        static abstract int Rows { get; }

        static abstract bool Wide { get; }
    }

    private readonly struct Rows4x16 : ITileShape
    {
        public static int Rows => 4;

        public static bool Wide => false;
    }

    private readonly struct Rows4x32 : ITileShape
    {
        public static int Rows => 4;

        public static bool Wide => true;
    }

    private readonly struct Rows8x16 : ITileShape
    {
        public static int Rows => 8;

        public static bool Wide => false;
    }

    private readonly struct Rows8x32 : ITileShape
    {
        public static int Rows => 8;

        public static bool Wide => true;
    }

    private readonly struct Rows12x16 : ITileShape
    {
        public static int Rows => 12;

        public static bool Wide => false;
    }

    // 12 rows × 32 columns: 24 zmm accumulators, 2 B loads and 12 broadcasts per k step.
    private readonly struct Kernel512 : IMicroKernel
    {
        public static int Mr => 12;

        public static int Nr => 32;

        public static bool Streams => true;

        // Edge tiles compute only the rows (4, 8 or 12) and column halves (16 or 32) they need.
        public static void RunEdge(int kc, float* a, float* b, float* tile, int rows, int cols)
        {
            switch (rows <= 4 ? 0 : rows <= 8 ? 1 : 2, cols <= 16)
            {
                case (0, true): Tile512<Rows4x16>(kc, a, b, tile); break;
                case (0, false): Tile512<Rows4x32>(kc, a, b, tile); break;
                case (1, true): Tile512<Rows8x16>(kc, a, b, tile); break;
                case (1, false): Tile512<Rows8x32>(kc, a, b, tile); break;
                case (2, true): Tile512<Rows12x16>(kc, a, b, tile); break;
                default: Run(kc, a, b, tile, Nr, 0f, false); break;
            }
        }

        // The first TShape.Rows rows and 16 or 32 columns of the 12 × 32 product into tile [12, 32].
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Tile512<TShape>(int kc, float* a, float* b, float* tile)
            where TShape : struct, ITileShape
        {
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
            Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
            Vector512<float> c80 = default, c81 = default, c90 = default, c91 = default;
            Vector512<float> ca0 = default, ca1 = default, cb0 = default, cb1 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector512<float> b0 = Vector512.Load(b);
                Vector512<float> b1 = TShape.Wide ? Vector512.Load(b + 16) : default;
                Vector512<float> ai = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
                if (TShape.Wide) c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
                if (TShape.Wide) c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
                if (TShape.Wide) c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
                if (TShape.Wide) c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                if (TShape.Rows > 4)
                {
                    ai = Vector512.Create(a[4]);
                    c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
                    if (TShape.Wide) c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                    ai = Vector512.Create(a[5]);
                    c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
                    if (TShape.Wide) c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                    ai = Vector512.Create(a[6]);
                    c60 = Vector512.FusedMultiplyAdd(ai, b0, c60);
                    if (TShape.Wide) c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                    ai = Vector512.Create(a[7]);
                    c70 = Vector512.FusedMultiplyAdd(ai, b0, c70);
                    if (TShape.Wide) c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                }

                if (TShape.Rows > 8)
                {
                    ai = Vector512.Create(a[8]);
                    c80 = Vector512.FusedMultiplyAdd(ai, b0, c80);
                    if (TShape.Wide) c81 = Vector512.FusedMultiplyAdd(ai, b1, c81);
                    ai = Vector512.Create(a[9]);
                    c90 = Vector512.FusedMultiplyAdd(ai, b0, c90);
                    if (TShape.Wide) c91 = Vector512.FusedMultiplyAdd(ai, b1, c91);
                    ai = Vector512.Create(a[10]);
                    ca0 = Vector512.FusedMultiplyAdd(ai, b0, ca0);
                    if (TShape.Wide) ca1 = Vector512.FusedMultiplyAdd(ai, b1, ca1);
                    ai = Vector512.Create(a[11]);
                    cb0 = Vector512.FusedMultiplyAdd(ai, b0, cb0);
                    if (TShape.Wide) cb1 = Vector512.FusedMultiplyAdd(ai, b1, cb1);
                }

                a += 12;
                b += 32;
            }

            // Rows and columns a shape skips are stored as zeros: StoreEdge never reads them.
            Store(tile, c00, c01, 0f);
            Store(tile + 32, c10, c11, 0f);
            Store(tile + 64, c20, c21, 0f);
            Store(tile + 96, c30, c31, 0f);
            if (TShape.Rows > 4)
            {
                Store(tile + 128, c40, c41, 0f);
                Store(tile + 160, c50, c51, 0f);
                Store(tile + 192, c60, c61, 0f);
                Store(tile + 224, c70, c71, 0f);
            }

            if (TShape.Rows > 8)
            {
                Store(tile + 256, c80, c81, 0f);
                Store(tile + 288, c90, c91, 0f);
                Store(tile + 320, ca0, ca1, 0f);
                Store(tile + 352, cb0, cb1, 0f);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run(int kc, float* a, float* b, float* c, int ldc, float beta, bool stream)
        {
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
            Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
            Vector512<float> c80 = default, c81 = default, c90 = default, c91 = default;
            Vector512<float> ca0 = default, ca1 = default, cb0 = default, cb1 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector512<float> b0 = Vector512.Load(b);
                Vector512<float> b1 = Vector512.Load(b + 16);
                Vector512<float> ai = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(a[4]);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a[5]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a[6]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a[7]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                ai = Vector512.Create(a[8]);
                c80 = Vector512.FusedMultiplyAdd(ai, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(ai, b1, c81);
                ai = Vector512.Create(a[9]);
                c90 = Vector512.FusedMultiplyAdd(ai, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(ai, b1, c91);
                ai = Vector512.Create(a[10]);
                ca0 = Vector512.FusedMultiplyAdd(ai, b0, ca0);
                ca1 = Vector512.FusedMultiplyAdd(ai, b1, ca1);
                ai = Vector512.Create(a[11]);
                cb0 = Vector512.FusedMultiplyAdd(ai, b0, cb0);
                cb1 = Vector512.FusedMultiplyAdd(ai, b1, cb1);
                a += 12;
                b += 32;
            }

            Store(c, c00, c01, beta, stream);
            Store(c + ldc, c10, c11, beta, stream);
            Store(c + (2 * ldc), c20, c21, beta, stream);
            Store(c + (3 * ldc), c30, c31, beta, stream);
            Store(c + (4 * ldc), c40, c41, beta, stream);
            Store(c + (5 * ldc), c50, c51, beta, stream);
            Store(c + (6 * ldc), c60, c61, beta, stream);
            Store(c + (7 * ldc), c70, c71, beta, stream);
            Store(c + (8 * ldc), c80, c81, beta, stream);
            Store(c + (9 * ldc), c90, c91, beta, stream);
            Store(c + (10 * ldc), ca0, ca1, beta, stream);
            Store(c + (11 * ldc), cb0, cb1, beta, stream);
        }

        // Run over Mr unpacked rows of A: each k step broadcasts A[i, p] from row i directly.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void RunRows(int kc, float* a, nint lda, float* b, float* c, int ldc, float beta)
        {
            float* a0 = a;
            float* a4 = a + (4 * lda);
            float* a8 = a + (8 * lda);
            nint l1 = lda, l2 = 2 * lda, l3 = 3 * lda;
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
            Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
            Vector512<float> c80 = default, c81 = default, c90 = default, c91 = default;
            Vector512<float> ca0 = default, ca1 = default, cb0 = default, cb1 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector512<float> b0 = Vector512.Load(b);
                Vector512<float> b1 = Vector512.Load(b + 16);
                Vector512<float> ai = Vector512.Create(a0[0]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a0[l1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a0[l2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a0[l3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(a4[0]);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a4[l1]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a4[l2]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a4[l3]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                ai = Vector512.Create(a8[0]);
                c80 = Vector512.FusedMultiplyAdd(ai, b0, c80);
                c81 = Vector512.FusedMultiplyAdd(ai, b1, c81);
                ai = Vector512.Create(a8[l1]);
                c90 = Vector512.FusedMultiplyAdd(ai, b0, c90);
                c91 = Vector512.FusedMultiplyAdd(ai, b1, c91);
                ai = Vector512.Create(a8[l2]);
                ca0 = Vector512.FusedMultiplyAdd(ai, b0, ca0);
                ca1 = Vector512.FusedMultiplyAdd(ai, b1, ca1);
                ai = Vector512.Create(a8[l3]);
                cb0 = Vector512.FusedMultiplyAdd(ai, b0, cb0);
                cb1 = Vector512.FusedMultiplyAdd(ai, b1, cb1);
                a0++;
                a4++;
                a8++;
                b += 32;
            }

            Store(c, c00, c01, beta);
            Store(c + ldc, c10, c11, beta);
            Store(c + (2 * ldc), c20, c21, beta);
            Store(c + (3 * ldc), c30, c31, beta);
            Store(c + (4 * ldc), c40, c41, beta);
            Store(c + (5 * ldc), c50, c51, beta);
            Store(c + (6 * ldc), c60, c61, beta);
            Store(c + (7 * ldc), c70, c71, beta);
            Store(c + (8 * ldc), c80, c81, beta);
            Store(c + (9 * ldc), c90, c91, beta);
            Store(c + (10 * ldc), ca0, ca1, beta);
            Store(c + (11 * ldc), cb0, cb1, beta);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(float* c, Vector512<float> v0, Vector512<float> v1, float beta, bool stream = false)
        {
            if (stream)
            {
                Avx512F.StoreAlignedNonTemporal(c, v0);
                Avx512F.StoreAlignedNonTemporal(c + 16, v1);
            }
            else if (beta == 0f)
            {
                Vector512.Store(v0, c);
                Vector512.Store(v1, c + 16);
            }
            else if (beta == 1f)
            {
                Vector512.Store(Vector512.Load(c) + v0, c);
                Vector512.Store(Vector512.Load(c + 16) + v1, c + 16);
            }
            else
            {
                Vector512<float> scale = Vector512.Create(beta);
                Vector512.Store(Vector512.FusedMultiplyAdd(scale, Vector512.Load(c), v0), c);
                Vector512.Store(Vector512.FusedMultiplyAdd(scale, Vector512.Load(c + 16), v1), c + 16);
            }
        }
    }

    // 6 rows × 16 columns: 12 ymm accumulators, 2 B loads and 6 broadcasts per k step.
    private readonly struct Kernel256 : IMicroKernel
    {
        public static int Mr => 6;

        public static int Nr => 16;

        public static bool Streams => false;

        public static void RunEdge(int kc, float* a, float* b, float* tile, int rows, int cols) => Run(kc, a, b, tile, Nr, 0f, false);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run(int kc, float* a, float* b, float* c, int ldc, float beta, bool stream)
        {
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector256<float> b0 = Vector256.Load(b);
                Vector256<float> b1 = Vector256.Load(b + 8);
                Vector256<float> ai = Vector256.Create(a[0]);
                c00 = Fma.MultiplyAdd(ai, b0, c00);
                c01 = Fma.MultiplyAdd(ai, b1, c01);
                ai = Vector256.Create(a[1]);
                c10 = Fma.MultiplyAdd(ai, b0, c10);
                c11 = Fma.MultiplyAdd(ai, b1, c11);
                ai = Vector256.Create(a[2]);
                c20 = Fma.MultiplyAdd(ai, b0, c20);
                c21 = Fma.MultiplyAdd(ai, b1, c21);
                ai = Vector256.Create(a[3]);
                c30 = Fma.MultiplyAdd(ai, b0, c30);
                c31 = Fma.MultiplyAdd(ai, b1, c31);
                ai = Vector256.Create(a[4]);
                c40 = Fma.MultiplyAdd(ai, b0, c40);
                c41 = Fma.MultiplyAdd(ai, b1, c41);
                ai = Vector256.Create(a[5]);
                c50 = Fma.MultiplyAdd(ai, b0, c50);
                c51 = Fma.MultiplyAdd(ai, b1, c51);
                a += 6;
                b += 16;
            }

            Store(c, c00, c01, beta);
            Store(c + ldc, c10, c11, beta);
            Store(c + (2 * ldc), c20, c21, beta);
            Store(c + (3 * ldc), c30, c31, beta);
            Store(c + (4 * ldc), c40, c41, beta);
            Store(c + (5 * ldc), c50, c51, beta);
        }

        // Run over Mr unpacked rows of A: each k step broadcasts A[i, p] from row i directly.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void RunRows(int kc, float* a, nint lda, float* b, float* c, int ldc, float beta)
        {
            float* a0 = a;
            float* a3 = a + (3 * lda);
            nint l1 = lda, l2 = 2 * lda;
            Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
            Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
            Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector256<float> b0 = Vector256.Load(b);
                Vector256<float> b1 = Vector256.Load(b + 8);
                Vector256<float> ai = Vector256.Create(a0[0]);
                c00 = Fma.MultiplyAdd(ai, b0, c00);
                c01 = Fma.MultiplyAdd(ai, b1, c01);
                ai = Vector256.Create(a0[l1]);
                c10 = Fma.MultiplyAdd(ai, b0, c10);
                c11 = Fma.MultiplyAdd(ai, b1, c11);
                ai = Vector256.Create(a0[l2]);
                c20 = Fma.MultiplyAdd(ai, b0, c20);
                c21 = Fma.MultiplyAdd(ai, b1, c21);
                ai = Vector256.Create(a3[0]);
                c30 = Fma.MultiplyAdd(ai, b0, c30);
                c31 = Fma.MultiplyAdd(ai, b1, c31);
                ai = Vector256.Create(a3[l1]);
                c40 = Fma.MultiplyAdd(ai, b0, c40);
                c41 = Fma.MultiplyAdd(ai, b1, c41);
                ai = Vector256.Create(a3[l2]);
                c50 = Fma.MultiplyAdd(ai, b0, c50);
                c51 = Fma.MultiplyAdd(ai, b1, c51);
                a0++;
                a3++;
                b += 16;
            }

            Store(c, c00, c01, beta);
            Store(c + ldc, c10, c11, beta);
            Store(c + (2 * ldc), c20, c21, beta);
            Store(c + (3 * ldc), c30, c31, beta);
            Store(c + (4 * ldc), c40, c41, beta);
            Store(c + (5 * ldc), c50, c51, beta);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(float* c, Vector256<float> v0, Vector256<float> v1, float beta)
        {
            if (beta == 0f)
            {
                Vector256.Store(v0, c);
                Vector256.Store(v1, c + 8);
            }
            else if (beta == 1f)
            {
                Vector256.Store(Vector256.Load(c) + v0, c);
                Vector256.Store(Vector256.Load(c + 8) + v1, c + 8);
            }
            else
            {
                Vector256<float> scale = Vector256.Create(beta);
                Vector256.Store(Fma.MultiplyAdd(scale, Vector256.Load(c), v0), c);
                Vector256.Store(Fma.MultiplyAdd(scale, Vector256.Load(c + 8), v1), c + 8);
            }
        }
    }

    // 4 rows × 4 columns of scalar accumulators: the portable fallback.
    private readonly struct KernelScalar : IMicroKernel
    {
        public static int Mr => 4;

        public static int Nr => 4;

        public static bool Streams => false;

        public static void RunEdge(int kc, float* a, float* b, float* tile, int rows, int cols) => Run(kc, a, b, tile, Nr, 0f, false);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Run(int kc, float* a, float* b, float* c, int ldc, float beta, bool stream)
        {
            float* acc = stackalloc float[16]; // [4, 4]
            new Span<float>(acc, 16).Clear();
            for (int p = 0; p < kc; p++)
            {
                for (int i = 0; i < 4; i++)
                {
                    float ai = a[i];
                    acc[(i * 4) + 0] += ai * b[0];
                    acc[(i * 4) + 1] += ai * b[1];
                    acc[(i * 4) + 2] += ai * b[2];
                    acc[(i * 4) + 3] += ai * b[3];
                }

                a += 4;
                b += 4;
            }

            StoreEdge(acc, 4, c, ldc, 4, 4, beta);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void RunRows(int kc, float* a, nint lda, float* b, float* c, int ldc, float beta)
        {
            float* acc = stackalloc float[16]; // [4, 4]
            new Span<float>(acc, 16).Clear();
            for (int p = 0; p < kc; p++)
            {
                for (int i = 0; i < 4; i++)
                {
                    float ai = a[(i * lda) + p];
                    acc[(i * 4) + 0] += ai * b[0];
                    acc[(i * 4) + 1] += ai * b[1];
                    acc[(i * 4) + 2] += ai * b[2];
                    acc[(i * 4) + 3] += ai * b[3];
                }

                b += 4;
            }

            StoreEdge(acc, 4, c, ldc, 4, 4, beta);
        }
    }
}
