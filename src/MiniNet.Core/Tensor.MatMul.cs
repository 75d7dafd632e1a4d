// Matrix product, as torch.matmul for the cases the layers use:
//   1-d·1-d (dot), 2-d·1-d, 1-d·2-d, 2-d·2-d, and batched [..., m, k]·[..., k, n] where both
//   batch shapes agree or one side is a plain matrix (it is then shared by every batch entry).
// Backward of C = A·B:  dA = dC·Bᵀ,  dB = Aᵀ·dC  (per batch entry; a shared matrix sums over them).
// Both run as GEMMs with transpose flags, so no transpose is ever materialised.
namespace MiniNet;

public sealed partial class Tensor
{
    /// <summary>Matrix product (see the file header for the supported shapes).</summary>
    public Tensor MatMul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        CheckSameDevice("MatMul", this, other);
        if (Rank == 0 || other.Rank == 0)
            throw new ArgumentException($"MatMul: both arguments need at least 1 dimension, got {Format(_shape)} and {Format(other._shape)}.");
        if (Rank == 1 && other.Rank == 1) return Reshape(1, -1).MatMul(other.Reshape(-1, 1)).Reshape();
        if (Rank == 1) return Unsqueeze(0).MatMul(other).Squeeze(-2);
        if (other.Rank == 1) return MatMul(other.Unsqueeze(1)).Squeeze(-1);

        int m = _shape[^2], k = _shape[^1], k2 = other._shape[^2], n = other._shape[^1];
        if (k != k2)
            throw new ArgumentException($"MatMul: shapes {Format(_shape)} and {Format(other._shape)} cannot be multiplied ({k} columns vs {k2} rows).");
        int[] batchA = _shape[..^2], batchB = other._shape[..^2];
        int[] batch;
        if (SameShape(batchA, batchB) || batchB.Length == 0) batch = batchA;
        else if (batchA.Length == 0) batch = batchB;
        else throw new ArgumentException($"MatMul: batch dimensions of {Format(_shape)} and {Format(other._shape)} differ; only equal batch shapes or a plain matrix on one side are supported.");
        int count = CheckShape("MatMul", batch);
        int strideA = batchA.Length == 0 ? 0 : m * k, strideB = batchB.Length == 0 ? 0 : k * n;
        var a = this;
        var b = other;

        var c = Device.Backend.AllocateUninitialized(CheckShape("MatMul", [.. batch, m, n]));
        BatchedGemm(false, false, count, m, n, k, a.Storage, strideA, b.Storage, strideB, c, m * n);
        return Make(c, [.. batch, m, n], "MatMul", [a, b], g =>
        {
            Tensor? da = null, db = null;
            if (a.RequiresGrad)
            {
                da = EmptyLike(a);
                BatchedGemm(false, true, count, m, k, n, g.Storage, m * n, b.Storage, strideB, da.Storage, strideA);
            }
            if (b.RequiresGrad)
            {
                db = EmptyLike(b);
                BatchedGemm(true, false, count, k, n, m, a.Storage, strideA, g.Storage, m * n, db.Storage, strideB);
            }
            return [da, db];
        });
    }

    // For each batch entry i: C_i (+)= op(A_i)·op(B_i). A zero stride shares one matrix; a zero
    // stride on C accumulates every entry into it (beta = 1 after the first).
    static void BatchedGemm(bool transA, bool transB, int count, int m, int n, int k, Storage a, int strideA, Storage b, int strideB, Storage c, int strideC)
    {
        var backend = a.Device.Backend;
        if (count == 1 || (strideA != 0 && strideC != 0 && strideB == 0 && !transA))
        {
            // A batch of rows against one shared B folds into a single taller GEMM.
            int rows = strideB == 0 && count > 1 ? m * count : m;
            backend.Gemm(transA, transB, rows, n, k, a, 0, b, 0, c, 0, 0f);
            return;
        }
        if (strideC == 0 && transA && !transB && strideA != 0 && strideB != 0)
        {
            // Σ_i A_iᵀ·B_i over a contiguous batch is one GEMM with the batch folded into k.
            backend.Gemm(true, false, m, n, k * count, a, 0, b, 0, c, 0, 0f);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            float beta = strideC == 0 && i > 0 ? 1f : 0f;
            backend.Gemm(transA, transB, m, n, k, a, i * strideA, b, i * strideB, c, i * strideC, beta);
        }
    }
}
