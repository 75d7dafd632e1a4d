// PLACEHOLDER (Losses): replaced by the real kernels; nothing here is done.
namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, int n, int k, Storage targets, Storage probabilities, Storage loss) => throw new NotSupportedException("Losses: not written yet");
    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probabilities, int n, int k, Storage targets, Storage gradOutput, float scale, Storage dLogits) => throw new NotSupportedException("Losses: not written yet");
    /// <inheritdoc/>
    public override void LogSoftmax(Storage x, int n, int k, Storage y) => throw new NotSupportedException("Losses: not written yet");
    /// <inheritdoc/>
    public override void LogSoftmaxBackward(Storage dy, Storage y, int n, int k, Storage dx) => throw new NotSupportedException("Losses: not written yet");
}
