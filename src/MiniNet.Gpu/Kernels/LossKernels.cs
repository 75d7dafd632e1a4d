// Softmax cross-entropy and log-softmax ILGPU kernels over rows of [n, k]. Reference semantics:
// MiniNet.Kernels.CrossEntropyKernels (the CPU backend), operation for operation where it matters:
// each row subtracts its max before exponentiating, the softmax divides by the row's sum, and
// log-softmax is (x − max) − log Σ exp(x − max).
// One group per row: the threads stride over the row's k values (coalesced), then combine through a
// fixed tree in shared memory (GroupTree), so results repeat to the bit. The mean loss is a fixed-order
// reduction of per-row losses on the device (SumKernels.SumRows), so it never visits the host.
// Traps: the CPU kernel throws on a target outside [0, k); here a kernel cannot throw, so such a row's
// loss is NaN and its gradient lacks the one-hot term (Functional.CrossEntropy checks targets on the host).
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace MiniNet.Gpu.Kernels;

/// <summary>Fused softmax cross-entropy over rows of logits [n, k] against int targets [n].</summary>
internal static class CrossEntropyKernels
{
    // loss_i = logsumexp(row) − row[t] = log(sum) − (row[t] − max), with sum = Σ_j exp(row[j] − max).

    /// <summary>probabilities [n, k] = softmax of each row of logits [n, k]; rowLoss [n] = each row's loss (one group per row).</summary>
    public static void Forward(ArrayView<float> logits, int n, int k, ArrayView<int> targets, ArrayView<float> probabilities, ArrayView<float> rowLoss)
    {
        var shared = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        int row = Grid.IdxX;
        if (row >= n) return;                                     // the whole group returns
        int t = Group.IdxX, groupSize = Group.DimX;
        long start = (long)row * k;
        float max = float.NegativeInfinity;
        for (int j = t; j < k; j += groupSize) max = GroupTree.MaxOrNaN(max, logits[start + j]);
        max = GroupTree.Max(shared, max);
        float sum = 0f;
        for (int j = t; j < k; j += groupSize)
        {
            float e = XMath.Exp(logits[start + j] - max);
            probabilities[start + j] = e;
            sum += e;
        }
        sum = GroupTree.Sum(shared, sum);
        for (int j = t; j < k; j += groupSize) probabilities[start + j] /= sum;   // this thread's own writes
        if (t != 0) return;
        int target = targets[row];
        rowLoss[row] = (uint)target < (uint)k ? XMath.Log(sum) - (logits[start + target] - max) : float.NaN;
    }

    // Backward of the mean loss: d loss_i / d logits[i, j] = softmax[i, j] − [j == t_i], times
    // s = gradOutput[0]·scale (scale = dLoss/n for the mean), read on the device. Two launches keep every
    // index division out: all elements first, then one thread per row fixes its target's element.

    /// <summary>dLogits[i] = gradOutput[0]·scale·probabilities[i] over all n·k elements.</summary>
    public static void BackwardScale(Index1D i, ArrayView<float> probabilities, ArrayView<float> gradOutput, float scale, ArrayView<float> dLogits)
    {
        if (i >= dLogits.Length) return;
        float s = gradOutput[0] * scale;
        dLogits[i] = probabilities[i] * s;
    }

    /// <summary>dLogits[row, t] = gradOutput[0]·scale·(probabilities[row, t] − 1) for each row's target t (one thread per row).</summary>
    public static void BackwardTargets(Index1D row, ArrayView<float> probabilities, int n, int k, ArrayView<int> targets, ArrayView<float> gradOutput, float scale, ArrayView<float> dLogits)
    {
        if (row >= n) return;
        int target = targets[row];
        if ((uint)target >= (uint)k) return;
        float s = gradOutput[0] * scale;
        long at = (long)(int)row * k + target;
        dLogits[at] = s * (probabilities[at] - 1f);
    }
}

/// <summary>Log-softmax over rows of [n, k] and its backward.</summary>
internal static class LogSoftmaxKernels
{
    /// <summary>y [n, k] = x − max − log Σ exp(x − max) over each row of x [n, k] (one group per row).</summary>
    public static void Forward(ArrayView<float> x, int n, int k, ArrayView<float> y)
    {
        var shared = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        int row = Grid.IdxX;
        if (row >= n) return;                                     // the whole group returns
        int t = Group.IdxX, groupSize = Group.DimX;
        long start = (long)row * k;
        float max = float.NegativeInfinity;
        for (int j = t; j < k; j += groupSize) max = GroupTree.MaxOrNaN(max, x[start + j]);
        max = GroupTree.Max(shared, max);
        float sum = 0f;
        for (int j = t; j < k; j += groupSize) sum += XMath.Exp(x[start + j] - max);
        float logSum = XMath.Log(GroupTree.Sum(shared, sum));
        for (int j = t; j < k; j += groupSize) y[start + j] = x[start + j] - max - logSum;
    }

    // y_j = x_j − lse(x) and d lse / d x_j = softmax_j = exp(y_j), so dx_j = dy_j − exp(y_j)·Σ_i dy_i.

    /// <summary>dx [n, k] = dy − exp(y)·Σ dy per row, y [n, k] being the forward's output (one group per row).</summary>
    public static void Backward(ArrayView<float> dy, ArrayView<float> y, int n, int k, ArrayView<float> dx)
    {
        var shared = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroupSize);
        int row = Grid.IdxX;
        if (row >= n) return;                                     // the whole group returns
        int t = Group.IdxX, groupSize = Group.DimX;
        long start = (long)row * k;
        float sum = 0f;
        for (int j = t; j < k; j += groupSize) sum += dy[start + j];
        sum = GroupTree.Sum(shared, sum);
        for (int j = t; j < k; j += groupSize) dx[start + j] = XMath.Exp(y[start + j]) * -sum + dy[start + j];
    }
}
