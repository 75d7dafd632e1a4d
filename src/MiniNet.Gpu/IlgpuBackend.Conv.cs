// PLACEHOLDER (Conv): replaced by the real kernels; nothing here is done.
namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage weight, Storage? bias, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage y) => throw new NotSupportedException("Conv: not written yet");
    /// <inheritdoc/>
    public override void Conv2dBackward(Storage dy, Storage x, Storage weight, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage? dx, Storage? dWeight, Storage? dBias) => throw new NotSupportedException("Conv: not written yet");
    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, int n, int c, int h, int w, int kernelSize, int stride, Storage y, Storage indices) => throw new NotSupportedException("Conv: not written yet");
    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage indices, int n, int c, int h, int w, int outH, int outW, Storage dx) => throw new NotSupportedException("Conv: not written yet");
}
