// PLACEHOLDER (BatchNorm): replaced by the real kernels; nothing here is done.
namespace MiniNet.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public override void BatchNormForwardTraining(Storage x, int n, int c, int s, Storage? weight, Storage? bias, float eps, Storage y, Storage saveMean, Storage saveInvStd, Storage batchVar) => throw new NotSupportedException("BatchNorm: not written yet");
    /// <inheritdoc/>
    public override void BatchNormForwardInference(Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, Storage? bias, float eps, Storage y) => throw new NotSupportedException("BatchNorm: not written yet");
    /// <inheritdoc/>
    public override void BatchNormBackwardTraining(Storage dy, Storage x, int n, int c, int s, Storage saveMean, Storage saveInvStd, Storage? weight, Storage? dx, Storage? dWeight, Storage? dBias) => throw new NotSupportedException("BatchNorm: not written yet");
    /// <inheritdoc/>
    public override void BatchNormBackwardInference(Storage dy, Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, float eps, Storage? dx, Storage? dWeight, Storage? dBias) => throw new NotSupportedException("BatchNorm: not written yet");
    /// <inheritdoc/>
    public override void BatchNormUpdateRunningStats(Storage batchMean, Storage batchVar, int m, float factor, Storage? cumulativeCount, Storage runningMean, Storage runningVar) => throw new NotSupportedException("BatchNorm: not written yet");
}
