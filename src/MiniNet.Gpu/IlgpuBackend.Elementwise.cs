// PLACEHOLDER (Elementwise): replaced by the real kernels; nothing here is done.
namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public override void Fill(Storage buffer, float value) => throw new NotSupportedException("Elementwise: not written yet");
    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, int[] aShape, Storage b, int[] bShape, Storage y, int[] yShape) => throw new NotSupportedException("Elementwise: not written yet");
    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, float scalar, Storage y) => throw new NotSupportedException("Elementwise: not written yet");
    /// <inheritdoc/>
    public override void AddScaledInPlace(Storage y, Storage x, float alpha) => throw new NotSupportedException("Elementwise: not written yet");
    /// <inheritdoc/>
    public override void SumTo(Storage x, int[] xShape, Storage y, int[] yShape) => throw new NotSupportedException("Elementwise: not written yet");
    /// <inheritdoc/>
    public override void Permute(Storage x, int[] xShape, int[] perm, Storage y) => throw new NotSupportedException("Elementwise: not written yet");
    /// <inheritdoc/>
    public override int[] ArgMaxRows(Storage x, int rows, int cols) => throw new NotSupportedException("Elementwise: not written yet");
    /// <inheritdoc/>
    public override void DropoutMask(Storage mask, float p, ulong seed) => throw new NotSupportedException("Elementwise: not written yet");
}
