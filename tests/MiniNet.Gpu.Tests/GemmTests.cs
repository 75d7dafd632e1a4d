// GEMM on every ILGPU device against the CPU backend: through the seam (transposes, offsets, beta,
// odd sizes, several tiles, k = 0, errors) and through Tensor.MatMul with its gradients.
using MiniNet.Gpu;

namespace MiniNet.Gpu.Tests;

public class GemmTests
{
    // (m, n, k): ones, odd sizes below and above the CPU accelerator's 16 × 16 tile, and one above a GPU's 64 × 64.
    static readonly (int M, int N, int K)[] Sizes = [(1, 1, 1), (1, 7, 3), (5, 1, 9), (17, 19, 23), (33, 20, 5), (70, 67, 37)];

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Matches_the_cpu_for_every_transpose_offset_and_beta(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var random = new Random(7);
        foreach (var (m, n, k) in Sizes)
        {
            foreach (bool transA in new[] { false, true })
            {
                foreach (bool transB in new[] { false, true })
                {
                    foreach (float beta in new[] { 0f, 1f, 0.5f })
                    {
                        var a = Values(random, 3 + (m * k) + 2);
                        var b = Values(random, 5 + (k * n));
                        // beta = 0 must not read C: fill it with NaN (outside the window it stays NaN on both sides).
                        var c = beta == 0f ? Enumerable.Repeat(float.NaN, 7 + (m * n) + 4).ToArray() : Values(random, 7 + (m * n) + 4);
                        var expected = RunGemm(Device.Cpu.Backend, transA, transB, m, n, k, a, 3, b, 5, c, 7, beta);
                        var actual = RunGemm(backend, transA, transB, m, n, k, a, 3, b, 5, c, 7, beta);
                        Parity.AssertClose(expected, actual, 1e-5f, $"C for m={m} n={n} k={k} transA={transA} transB={transB} beta={beta}");
                        Assert.All(actual.AsSpan(7, m * n).ToArray(), v => Assert.False(float.IsNaN(v)));
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void With_k_zero_C_becomes_beta_times_C(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var c = Values(new Random(3), 2 + 15);
        float[] none = [];
        Assert.All(RunGemm(backend, false, false, 3, 5, 0, none, 0, none, 0, c, 2, 0f).AsSpan(2).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(c, RunGemm(backend, true, false, 3, 5, 0, none, 0, none, 0, c, 2, 1f));
        var half = RunGemm(backend, false, true, 3, 5, 0, none, 0, none, 0, c, 2, 0.5f);
        Assert.Equal(c[..2], half[..2]);
        Assert.Equal(c[2..].Select(v => 0.5f * v), half[2..]);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Repeats_to_the_bit(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var random = new Random(11);
        var a = Values(random, 37 * 29);
        var b = Values(random, 29 * 41);
        var c = new float[37 * 41];
        Assert.Equal(RunGemm(backend, true, true, 37, 41, 29, a, 0, b, 0, c, 0, 0f), RunGemm(backend, true, true, 37, 41, 29, a, 0, b, 0, c, 0, 0f));
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void Operands_too_short_for_their_offset_are_refused(string name)
    {
        var backend = TestDevices.Get(name).Backend;
        var a = backend.FromHost(new float[6]);
        var b = backend.FromHost(new float[12]);
        var c = backend.FromHost(new float[8]);
        var e = Assert.Throws<ArgumentException>(() => backend.Gemm(false, false, 2, 4, 3, a, 1, b, 0, c, 0, 0f));
        Assert.Contains("Gemm", e.Message, StringComparison.Ordinal);
        Assert.Contains("A has 6 elements", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => backend.Gemm(false, false, 2, 4, 3, a, 0, b, 0, c, 1, 0f));
        Assert.Contains("C has 8 elements", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.Gemm(false, false, -1, 4, 3, a, 0, b, 0, c, 0, 0f));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(16, 4)]
    [InlineData(32, 4)]
    [InlineData(64, 8)]
    [InlineData(128, 8)]
    [InlineData(256, 16)]
    public void The_gemm_group_is_the_largest_square_the_group_size_allows(int groupSize, int side)
    {
        Assert.Equal(side, Kernels.GemmKernels.SideFor(groupSize));
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void CuBlas_is_used_only_on_cuda(string name)
    {
        var backend = (IlgpuBackend)TestDevices.Get(name).Backend;
        bool cuda = backend.Accelerator is ILGPU.Runtime.Cuda.CudaAccelerator;
        bool enabled = Environment.GetEnvironmentVariable("MININET_CUBLAS") != "0";
        if (!cuda || !enabled) Assert.False(backend.UsesCuBlas);
        TestContext.Current.SendDiagnosticMessage($"{name}: GEMM through {(backend.UsesCuBlas ? "cuBLAS" : "the tiled kernel")}");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Names), MemberType = typeof(TestDevices))]
    public void MatMul_matches_the_cpu_with_both_gradients(string name)
    {
        Parity.Check(name, t => t[0].MatMul(t[1]), [Parity.Randn(1, true, 5, 7), Parity.Randn(2, true, 7, 3)]);
        Parity.Check(name, t => t[0].MatMul(t[1]), [Parity.Randn(3, true, 19, 1), Parity.Randn(4, true, 1, 17)]);
        // Batched with equal batches (offsets), and a batch against one shared matrix (gradient summed over the batch).
        Parity.Check(name, t => t[0].MatMul(t[1]), [Parity.Randn(5, true, 3, 4, 9), Parity.Randn(6, true, 3, 9, 5)]);
        Parity.Check(name, t => t[0].MatMul(t[1]), [Parity.Randn(7, true, 2, 17, 6), Parity.Randn(8, true, 6, 18)]);
        Parity.Check(name, t => t[0].MatMul(t[1]), [Parity.Randn(9, true, 6, 18), Parity.Randn(10, true, 2, 18, 5)]);
    }

    static float[] RunGemm(Backend backend, bool transA, bool transB, int m, int n, int k, float[] a, int aOffset, float[] b, int bOffset, float[] c, int cOffset, float beta)
    {
        var sc = backend.FromHost(c);
        backend.Gemm(transA, transB, m, n, k, backend.FromHost(a), aOffset, backend.FromHost(b), bOffset, sc, cOffset, beta);
        var result = new float[c.Length];
        backend.ToHost(sc, result);
        return result;
    }

    static float[] Values(Random random, int length) => [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1))];
}
