// PLACEHOLDER (Optimizers): replaced by the real kernels; nothing here is done.
namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep) => throw new NotSupportedException("Optimizers: not written yet");
    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage expAvg, Storage expAvgSq, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step) => throw new NotSupportedException("Optimizers: not written yet");
}
