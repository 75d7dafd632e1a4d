// GemmKernels: C[m, n] = op(A)·op(B) + beta·C on row-major views that start at the matrices' first
// elements (the host takes sub-views at the seam's offsets). op(A) is [m, k]: A is stored [m, k], or
// [k, m] when transA; op(B) is [k, n]: B is stored [k, n], or [n, k] when transB. beta == 0 writes C
// without reading it (NaN or garbage in C does not leak), as BLAS and the CPU kernel do; k == 0 gives
// C = beta·C.
//
// The tiled kernel (one group per tile × tile block of C, tile = side·R):
// - A group has side × side threads, side = the largest power of two with side² ≤ GroupSize (4 on
//   ILGPU's CPU accelerator, 16 on a GPU); each thread owns an R × R register block of C at rows
//   ty + side·qi and columns tx + side·qj (qi, qj < R), so adjacent threads write adjacent columns.
// - For each step of Bk along k the group stages op(A)[tile, Bk] and op(B)[Bk, tile] in shared
//   memory, both k-major ([p, i] at p·ld + i, ld = tile + 1 so the k-fast loads do not hit one bank).
//   The loads absorb the transposes: each thread walks the staged elements in the order that is
//   contiguous in global memory (k-fast for A [m, k] and B [n, k], row/column-fast otherwise), so a
//   warp's loads are coalesced in all four cases. Elements past m, n or k are staged as 0.
// - After a barrier every thread runs Bk rank-1 updates of its block: R loads of A, R of B, R² FMAs.
// - Edge tiles store only rows < m and columns < n. A product of padded zeros with a real value lands
//   only in those unstored positions, so an Inf in A or B never turns a stored result into NaN.
// Shared arrays are sized for the largest tile (MaxSide·R); smaller groups use a prefix of them.
using ILGPU;

namespace MiniNet.Gpu.Kernels;

/// <summary>Sizes and flags of one GEMM launch (value type: a kernel argument).</summary>
internal readonly record struct GemmArgs(int M, int N, int K, int TransA, int TransB, float Beta, int Side, int TileShift, int TilesN);

/// <summary>Tiled shared-memory matrix multiply.</summary>
internal static class GemmKernels
{
    /// <summary>Register block per thread: R × R outputs.</summary>
    public const int R = 4;

    /// <summary>k steps staged per shared tile.</summary>
    public const int Bk = 16;

    const int LogBk = 4;

    /// <summary>Threads along one side of the largest group: sqrt(MaxGroupSize).</summary>
    public const int MaxSide = 16;

    const int MaxTile = MaxSide * R;
    const int SharedLength = Bk * (MaxTile + 1);

    /// <summary>Threads per side of a GEMM group for a backend whose groups hold up to <paramref name="groupSize"/> threads.</summary>
    public static int SideFor(int groupSize)
    {
        int side = 1;
        while ((side * 2) * (side * 2) <= groupSize && side * 2 <= MaxSide) side *= 2;
        return side;
    }

    /// <summary>One group computes the tile × tile block Grid.IdxX of C (row-major over tiles).</summary>
    public static void Tiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs g)
    {
        var aTile = SharedMemory.Allocate<float>(SharedLength);   // [Bk, tile + 1]: op(A)[i, p] at p·ld + i
        var bTile = SharedMemory.Allocate<float>(SharedLength);   // [Bk, tile + 1]: op(B)[p, j] at p·ld + j

        int side = g.Side;
        int tile = side * R;
        int ld = tile + 1;
        int threads = side * side;
        int t = Group.IdxX;
        int ty = t / side;
        int tx = t - (ty * side);
        int tileRow = Grid.IdxX / g.TilesN;
        int row0 = tileRow * tile;
        int col0 = (Grid.IdxX - (tileRow * g.TilesN)) * tile;

        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;

        for (int k0 = 0; k0 < g.K; k0 += Bk)
        {
            for (int e = t; e < tile * Bk; e += threads)
            {
                // op(A)[i, p]: A [m, k] is read k-fast, A [k, m] row-fast.
                int i = g.TransA == 0 ? e >> LogBk : e & (tile - 1);
                int p = g.TransA == 0 ? e & (Bk - 1) : e >> g.TileShift;
                int gi = row0 + i;
                int gp = k0 + p;
                float av = 0f;
                if (gi < g.M && gp < g.K) av = g.TransA == 0 ? a[(gi * g.K) + gp] : a[(gp * g.M) + gi];
                aTile[(p * ld) + i] = av;

                // op(B)[p, j]: B [k, n] is read column-fast, B [n, k] k-fast.
                int j = g.TransB == 0 ? e & (tile - 1) : e >> LogBk;
                int q = g.TransB == 0 ? e >> g.TileShift : e & (Bk - 1);
                int gj = col0 + j;
                int gq = k0 + q;
                float bv = 0f;
                if (gj < g.N && gq < g.K) bv = g.TransB == 0 ? b[(gq * g.N) + gj] : b[(gj * g.K) + gq];
                bTile[(q * ld) + j] = bv;
            }

            Group.Barrier();
            for (int p = 0; p < Bk; p++)
            {
                int ra = (p * ld) + ty;
                int rb = (p * ld) + tx;
                float a0 = aTile[ra], a1 = aTile[ra + side], a2 = aTile[ra + (2 * side)], a3 = aTile[ra + (3 * side)];
                float b0 = bTile[rb], b1 = bTile[rb + side], b2 = bTile[rb + (2 * side)], b3 = bTile[rb + (3 * side)];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }

            Group.Barrier();
        }

        int r0 = row0 + ty, r1 = r0 + side, r2 = r0 + (2 * side), r3 = r0 + (3 * side);
        int j0 = col0 + tx, j1 = j0 + side, j2 = j0 + (2 * side), j3 = j0 + (3 * side);
        Store(c, g, r0, j0, c00); Store(c, g, r0, j1, c01); Store(c, g, r0, j2, c02); Store(c, g, r0, j3, c03);
        Store(c, g, r1, j0, c10); Store(c, g, r1, j1, c11); Store(c, g, r1, j2, c12); Store(c, g, r1, j3, c13);
        Store(c, g, r2, j0, c20); Store(c, g, r2, j1, c21); Store(c, g, r2, j2, c22); Store(c, g, r2, j3, c23);
        Store(c, g, r3, j0, c30); Store(c, g, r3, j1, c31); Store(c, g, r3, j2, c32); Store(c, g, r3, j3, c33);
    }

    // C[row, col] = sum (beta == 0: C is not read) or beta·C[row, col] + sum; outside C: nothing.
    static void Store(ArrayView<float> c, GemmArgs g, int row, int col, float sum)
    {
        if (row >= g.M || col >= g.N) return;
        int at = (row * g.N) + col;
        c[at] = g.Beta == 0f ? sum : (g.Beta * c[at]) + sum;
    }
}
