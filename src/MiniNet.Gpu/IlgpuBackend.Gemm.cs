// GEMM on an ILGPU accelerator: C[m, n] = op(A)·op(B) + beta·C over sub-buffers starting at the
// given offsets, with the contract of MiniNet.Kernels.Gemm (row-major, transposes read in place,
// beta == 0 never reads C, k == 0 gives C = beta·C).
//
// Two paths, one contract:
// - On CUDA, cuBLAS's SGEMM through ILGPU.Algorithms' CuBlas, created once per backend on first use
//   and bound to the accelerator's default stream (so it stays in order with every other kernel).
//   If it cannot be created (no libcublas.so.12 / cublas64_12.dll, ...) the backend falls back to the
//   tiled kernel for good; MININET_CUBLAS=0 turns it off. Its default math mode keeps float32 (no TF32).
// - Otherwise, and for k == 0, the tiled shared-memory kernel GemmKernels.Tiled.
//
// cuBLAS is column-major, and a row-major [r, c] buffer read column-major is the [c, r] matrix, its
// transpose. So row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands and
// m with n. B stored [k, n] row-major is op(B)ᵀ column-major (no transpose, ld = n); B stored [n, k]
// (transB) is op(B) column-major (transpose, ld = k); the same for A with m; C has ld = n.
//
// Trap: the CuBlas handle is never freed (IlgpuBackend.Dispose predates it); a backend lives as long
// as its process, so this leaks nothing that outlives the context.
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using MiniNet.Gpu.Kernels;

namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>? _gemmTiled;
    CuBlas? _cuBlas;
    bool _cuBlasTried;

    /// <summary>Whether GEMMs on this backend run through cuBLAS (loads it on first use).</summary>
    internal bool UsesCuBlas
    {
        get
        {
            bool uses = false;
            Run("CuBlas", () => uses = CuBlasOrNull() is not null);
            return uses;
        }
    }

    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int m, int n, int k, Storage a, int aOffset, Storage b, int bOffset, Storage c, int cOffset, float beta)
    {
        var av = GemmOperand(F(a), aOffset, m, k, "A", "m·k");
        var bv = GemmOperand(F(b), bOffset, k, n, "B", "k·n");
        var cv = GemmOperand(F(c), cOffset, m, n, "C", "m·n");
        if (m == 0 || n == 0) return;
        Run("Gemm", () => GemmViews(transA, transB, m, n, k, av, bv, cv, beta));
    }

    // C = op(A)·op(B) + beta·C on views that start at each matrix (call inside Run).
    internal void GemmViews(bool transA, bool transB, int m, int n, int k, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, float beta)
    {
        if (m == 0 || n == 0) return;
        if (k > 0 && CuBlasOrNull() is { } blas)
        {
            blas.Gemm(
                transB ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
                transA ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
                n, m, k,
                1f, b, transB ? k : n,
                a, transA ? m : k,
                beta, c, n);
            return;
        }

        int side = GemmKernels.SideFor(GroupSize);
        int tile = side * GemmKernels.R;
        int tilesN = Groups(n, tile);
        long groups = (long)Groups(m, tile) * tilesN;
        var args = new GemmArgs(m, n, k, transA ? 1 : 0, transB ? 1 : 0, beta, side, System.Numerics.BitOperations.Log2((uint)tile), tilesN);
        var kernel = _gemmTiled ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.Tiled);
        kernel(new KernelConfig((int)groups, side * side), a, b, c, args);
    }

    // cuBLAS on CUDA when it loads and is not turned off, created on first use; null otherwise (call inside Run).
    CuBlas? CuBlasOrNull()
    {
        if (_cuBlasTried) return _cuBlas;
        _cuBlasTried = true;
        if (Accelerator is not CudaAccelerator cuda || Environment.GetEnvironmentVariable("MININET_CUBLAS") == "0") return null;
        try
        {
            var blas = new CuBlas(cuda);
            blas.Stream = (CudaStream)cuda.DefaultStream;
            _cuBlas = blas;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException or CuBlasException)
        {
            _cuBlas = null;
        }

        return _cuBlas;
    }

    // The rows × cols operand at offset as a view of exactly that length, or an ArgumentException.
    static ArrayView<float> GemmOperand(ArrayView<float> view, int offset, int rows, int cols, string name, string formula)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"Gemm: sizes must be non-negative, got {formula} = {rows}·{cols}.");
        if (offset < 0)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Gemm: the offset of {name} must be non-negative, got {offset}.");
        long length = (long)rows * cols;
        if (offset + length > view.Length)
            throw new ArgumentException($"Gemm: {name} has {view.Length} elements, expected at least offset + {formula} = {offset} + {rows}·{cols} = {offset + length}.", name);
        return length == 0 ? view.SubView(0, 0) : view.SubView(offset, length);
    }
}
