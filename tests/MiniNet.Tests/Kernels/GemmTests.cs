// Gemm tests: MultiplyNaive against a float64 MathNet reference, then every micro-kernel this machine
// supports (and the threaded public entry point) against MultiplyNaive, on odd sizes, all four
// transpose cases, and beta 0 / 1 / other. Data comes from a seeded System.Random.
using MathNet.Numerics.LinearAlgebra;
using MiniNet.Kernels;

namespace MiniNet.Tests.Kernels;

public class GemmTests
{
    private static readonly int[] Sizes = [1, 3, 17, 33, 65, 130];

    private static readonly float[] Betas = [0f, 1f, -0.5f];

    public static TheoryData<bool, bool> TransposeCases => new()
    {
        { false, false },
        { true, false },
        { false, true },
        { true, true },
    };

    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void Naive_matches_float64_reference(bool transA, bool transB)
    {
        var rng = new Random(1);
        int[] sizes = [1, 3, 17, 33];
        foreach (int m in sizes)
        {
            foreach (int n in sizes)
            {
                foreach (int k in sizes)
                {
                    foreach (float beta in Betas)
                    {
                        float[] a = Random(rng, m * k);
                        float[] b = Random(rng, k * n);
                        float[] c0 = Random(rng, m * n);
                        float[] c = (float[])c0.Clone();
                        Gemm.MultiplyNaive(transA, transB, m, n, k, a, b, c, beta);
                        double[] expected = Reference(transA, transB, m, n, k, a, b, c0, beta);
                        AssertClose(expected, c, $"naive m={m} n={n} k={k} beta={beta}");
                    }
                }
            }
        }
    }

    // Edge tiles of every height class (4, 8, 12 rows left over) and width class (16 or 32 columns
    // left over), and transposing packs with whole 8 × 8 and 4 × 4 blocks plus leftovers.
    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void Edge_tiles_and_transposing_packs_match_naive(bool transA, bool transB)
    {
        var rng = new Random(5);
        foreach (int m in new[] { 4, 8, 12, 16, 20, 23, 64, 128 })
        {
            foreach (int n in new[] { 8, 16, 31, 48, 64, 196 })
            {
                foreach (int k in new[] { 8, 12, 40, 300 })
                {
                    float[] a = Random(rng, m * k);
                    float[] b = Random(rng, k * n);
                    float[] c0 = Random(rng, m * n);
                    float[] expected = (float[])c0.Clone();
                    Gemm.MultiplyNaive(transA, transB, m, n, k, a, b, expected, 1f);
                    foreach (Gemm.KernelKind kind in SupportedKinds())
                    {
                        float[] c = (float[])c0.Clone();
                        Gemm.MultiplyWith(kind, parallel: false, transA, transB, m, n, k, a, b, c, 1f);
                        AssertClose(expected, c, $"{kind} m={m} n={n} k={k}");
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void Every_kernel_matches_naive_on_odd_sizes(bool transA, bool transB)
    {
        var rng = new Random(2);
        foreach (int m in Sizes)
        {
            foreach (int n in Sizes)
            {
                foreach (int k in Sizes)
                {
                    float beta = Betas[rng.Next(Betas.Length)];
                    float[] a = Random(rng, m * k);
                    float[] b = Random(rng, k * n);
                    float[] c0 = Random(rng, m * n);
                    float[] expected = (float[])c0.Clone();
                    Gemm.MultiplyNaive(transA, transB, m, n, k, a, b, expected, beta);
                    foreach (Gemm.KernelKind kind in SupportedKinds())
                    {
                        float[] c = (float[])c0.Clone();
                        Gemm.MultiplyWith(kind, parallel: false, transA, transB, m, n, k, a, b, c, beta);
                        AssertClose(expected, c, $"{kind} m={m} n={n} k={k} beta={beta}");
                    }

                    float[] threaded = (float[])c0.Clone();
                    Gemm.Multiply(transA, transB, m, n, k, a, b, threaded, beta);
                    AssertClose(expected, threaded, $"Multiply m={m} n={n} k={k} beta={beta}");
                }
            }
        }
    }

    [Theory]
    [InlineData(300, 200, 270, false, false, 0f)]
    [InlineData(200, 301, 150, true, false, 0f)]
    [InlineData(37, 2100, 5, false, true, 0.5f)]
    [InlineData(401, 45, 513, true, true, -0.5f)]
    [InlineData(50, 70, 1100, true, false, 1f)]
    [InlineData(250, 900, 1100, false, false, 0.5f)]
    [InlineData(250, 900, 1100, true, true, 0f)]
    public void Threaded_and_blocked_paths_match_naive(int m, int n, int k, bool transA, bool transB, float beta)
    {
        // These cover the column and the row split, several k blocks (Kc = 256, or 512 from m = 192) with beta applied
        // only to the first, several m blocks (Mc = 192) and several n blocks (Nc = 2048). From 2^18 packed floats of op(A)
        // (250 × 1100) the column split packs op(A) once, in parallel, for all workers (PackedColumns).
        var rng = new Random(3);
        float[] a = Random(rng, m * k);
        float[] b = Random(rng, k * n);
        float[] c0 = Random(rng, m * n);
        float[] expected = (float[])c0.Clone();
        Gemm.MultiplyNaive(transA, transB, m, n, k, a, b, expected, beta);
        float[] c = (float[])c0.Clone();
        Gemm.Multiply(transA, transB, m, n, k, a, b, c, beta);
        AssertClose(expected, c, $"m={m} n={n} k={k}");
        foreach (Gemm.KernelKind kind in SupportedKinds())
        {
            c = (float[])c0.Clone();
            Gemm.MultiplyWith(kind, parallel: true, transA, transB, m, n, k, a, b, c, beta);
            AssertClose(expected, c, $"{kind} m={m} n={n} k={k}");
        }
    }

    // The swapped path for x · Wᵀ (Cᵀ = B · Aᵀ, B's rows broadcast unpacked): several k blocks of 512 (accumulated in
    // the Cᵀ block), B's rows not a multiple of the kernel's rows (the zero-padded edge block), A's rows not a multiple
    // of the 32-column panel, beta 0 / 1 / other (the transposed store and the transposed add), serial and both
    // parallel splits (panels of A for 64 and 128 rows, rows of B for 37 and 100), one panel with k blocks of 8192,
    // and more rows of B than one slab (340 · Mr) of the Cᵀ scratch block.
    [Theory]
    [InlineData(64, 1003, 1100, 0f)]
    [InlineData(37, 530, 700, 0.5f)]
    [InlineData(128, 259, 600, 1f)]
    [InlineData(100, 77, 513, -0.5f)]
    [InlineData(16, 50, 128, 0f)]
    [InlineData(256, 300, 140, 1f)]
    [InlineData(16, 20, 8300, 0.5f)]
    [InlineData(40, 4200, 130, 0f)]
    public void Swapped_transposed_B_path_matches_naive(int m, int n, int k, float beta)
    {
        Assert.True(Gemm.UseSwapped(m, k), "the case must take the swapped path");
        var rng = new Random(8);
        float[] a = Random(rng, m * k);
        float[] b = Random(rng, n * k);
        float[] c0 = Random(rng, m * n);
        if (beta == 0f)
        {
            c0[0] = float.NaN;
            c0[^1] = float.PositiveInfinity;
        }

        float[] expected = (float[])c0.Clone();
        Gemm.MultiplyNaive(false, true, m, n, k, a, b, expected, beta);
        foreach (Gemm.KernelKind kind in SupportedKinds())
        {
            foreach (bool parallel in new[] { false, true })
            {
                float[] c = (float[])c0.Clone();
                Gemm.MultiplyWith(kind, parallel, false, true, m, n, k, a, b, c, beta);
                AssertClose(expected, c, $"{kind} parallel={parallel} m={m} n={n} k={k} beta={beta}");
            }
        }
    }

    // PackedColumns with more column chunks than 2 per worker: n = 8300 > 4 · Nc gives five chunks of about
    // 1660 columns (half-panel edges). Too large for the naive loop: the serial blocked path, itself checked against
    // naive above, is the reference; the scalar kernel is skipped for time.
    [Theory]
    [InlineData(64, 8300, 4100, false, true, 0.5f)]
    [InlineData(70, 8300, 3800, true, false, 0f)]
    public void Shared_pack_column_chunks_match_serial(int m, int n, int k, bool transA, bool transB, float beta)
    {
        var rng = new Random(6);
        float[] a = Random(rng, m * k);
        float[] b = Random(rng, k * n);
        float[] c0 = Random(rng, m * n);
        foreach (Gemm.KernelKind kind in SupportedKinds().Where(kind => kind != Gemm.KernelKind.Scalar))
        {
            float[] expected = (float[])c0.Clone();
            Gemm.MultiplyWith(kind, parallel: false, transA, transB, m, n, k, a, b, expected, beta);
            float[] c = (float[])c0.Clone();
            Gemm.MultiplyWith(kind, parallel: true, transA, transB, m, n, k, a, b, c, beta);
            AssertClose(expected, c, $"{kind} m={m} n={n} k={k}");
        }
    }

    // Non-temporal stores: beta 0, one k block, C of at least 2^20 floats with rows a multiple of 16 floats. C starts at
    // several offsets, so its first 64-byte aligned column (where streaming starts) moves; old NaN must not leak.
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Streamed_stores_match_naive(bool transA, bool transB)
    {
        const int m = 131, n = 8064, k = 40;
        var rng = new Random(7);
        float[] a = Random(rng, m * k);
        float[] b = Random(rng, k * n);
        float[] expected = new float[m * n];
        Gemm.MultiplyNaive(transA, transB, m, n, k, a, b, expected);
        foreach (int offset in new[] { 0, 1, 6, 15 })
        {
            float[] c = Enumerable.Repeat(float.NaN, offset + (m * n)).ToArray();
            foreach (bool parallel in new[] { false, true })
            {
                Gemm.MultiplyWith(Gemm.DefaultKind, parallel, transA, transB, m, n, k, a, b, c.AsSpan(offset), 0f);
                AssertClose(expected, c[offset..], $"offset={offset} parallel={parallel}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(TransposeCases))]
    public void Beta_zero_ignores_NaN_in_C(bool transA, bool transB)
    {
        var rng = new Random(4);
        foreach ((int m, int n, int k) in new[] { (3, 5, 7), (13, 35, 17), (130, 65, 33), (200, 200, 100) })
        {
            float[] a = Random(rng, m * k);
            float[] b = Random(rng, k * n);
            float[] expected = new float[m * n];
            Gemm.MultiplyNaive(transA, transB, m, n, k, a, b, expected);
            float[] c = Enumerable.Repeat(float.NaN, m * n).ToArray();
            Gemm.Multiply(transA, transB, m, n, k, a, b, c);
            Assert.All(c, v => Assert.True(float.IsFinite(v)));
            AssertClose(expected, c, $"m={m} n={n} k={k}");
            foreach (Gemm.KernelKind kind in SupportedKinds())
            {
                Array.Fill(c, float.NaN);
                Gemm.MultiplyWith(kind, parallel: false, transA, transB, m, n, k, a, b, c, 0f);
                AssertClose(expected, c, $"{kind} m={m} n={n} k={k}");
            }
        }
    }

    [Fact]
    public void Hand_example()
    {
        // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
        float[] a = [1, 2, 3, 4, 5, 6];
        float[] b = [7, 8, 9, 10, 11, 12];
        float[] c = [1, 1, 1, 1];
        Gemm.Multiply(false, false, 2, 2, 3, a, b, c, 1f);
        Assert.Equal([59f, 65f, 140f, 155f], c);
        float[] aT = [1, 4, 2, 5, 3, 6];
        float[] bT = [7, 9, 11, 8, 10, 12];
        Gemm.Multiply(true, true, 2, 2, 3, aT, bT, c);
        Assert.Equal([58f, 64f, 139f, 154f], c);
    }

    [Fact]
    public void Zero_k_scales_C_by_beta()
    {
        float[] c = [1f, float.NaN, 3f, 4f];
        Gemm.Multiply(false, false, 2, 2, 0, [], [], c);
        Assert.Equal([0f, 0f, 0f, 0f], c);
        c = [1f, 2f, 3f, 4f];
        Gemm.Multiply(false, true, 2, 2, 0, [], [], c, 2f);
        Assert.Equal([2f, 4f, 6f, 8f], c);
    }

    [Fact]
    public void Short_buffers_are_rejected()
    {
        float[] a = new float[6];
        float[] b = new float[6];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, a, b, new float[3]));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, a.AsSpan(1), b, new float[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MultiplyNaive(false, false, -1, 2, 3, a, b, new float[4]));
    }

    private static IEnumerable<Gemm.KernelKind> SupportedKinds()
    {
        yield return Gemm.KernelKind.Scalar;
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            yield return Gemm.KernelKind.Vector256;
        }

        if (Gemm.DefaultKind == Gemm.KernelKind.Vector512)
        {
            yield return Gemm.KernelKind.Vector512;
        }
    }

    private static float[] Random(Random rng, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2.0) - 1.0);
        }

        return values;
    }

    // op(A) · op(B) + beta · C in float64 with MathNet.
    private static double[] Reference(bool transA, bool transB, int m, int n, int k, float[] a, float[] b, float[] c, float beta)
    {
        var aMatrix = Matrix<double>.Build.DenseOfRowMajor(transA ? k : m, transA ? m : k, a.Select(v => (double)v));
        var bMatrix = Matrix<double>.Build.DenseOfRowMajor(transB ? n : k, transB ? k : n, b.Select(v => (double)v));
        var cMatrix = Matrix<double>.Build.DenseOfRowMajor(m, n, c.Select(v => (double)v));
        var opA = transA ? aMatrix.Transpose() : aMatrix;
        var opB = transB ? bMatrix.Transpose() : bMatrix;
        var product = opA * opB;
        if (beta != 0f)
        {
            product += beta * cMatrix;
        }

        return product.ToRowMajorArray();
    }

    private static void AssertClose(double[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1.0, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]);
            Assert.True(error <= 1e-4 * scale, $"{context}: element {i} expected {expected[i]}, got {actual[i]}.");
        }
    }

    private static void AssertClose(float[] expected, float[] actual, string context)
        => AssertClose(expected.Select(v => (double)v).ToArray(), actual, context);
}
