// PLACEHOLDER (Gemm): replaced by the real kernels; nothing here is done.
namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int m, int n, int k, Storage a, int aOffset, Storage b, int bOffset, Storage c, int cOffset, float beta) => throw new NotSupportedException("Gemm: not written yet");
}
