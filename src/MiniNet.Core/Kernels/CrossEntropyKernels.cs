// Softmax cross-entropy and log-softmax kernels over rows: logits/x are [n, k], softmax over the last dim.
// PyTorch semantics: F.cross_entropy(logits, targets) with reduction "mean", no weights, no ignore_index,
// no label smoothing. Every row subtracts its max before exponentiating (log-sum-exp), so logits of
// ±1000 stay finite. The loss is summed over rows in float64.
// Forward saves the softmax probabilities; backward needs only them and the targets.
// Traps: targets outside [0, k) throw; n = 0 gives a NaN mean loss, as in PyTorch.
using System.Numerics.Tensors;

namespace MiniNet.Kernels;

/// <summary>Softmax cross-entropy and log-softmax kernels over [n, k] rows.</summary>
public static class CrossEntropyKernels
{
    /// <summary>
    /// Mean softmax cross-entropy of logits [n, k] against class indices targets [n] in [0, k).
    /// Writes the softmax probabilities [n, k] for the backward and returns the mean loss.
    /// </summary>
    public static float Forward(ReadOnlySpan<float> logits, int n, int k, ReadOnlySpan<int> targets, Span<float> probabilities)
    {
        CheckRows(nameof(Forward), logits.Length, n, k, nameof(logits));
        CheckRows(nameof(Forward), probabilities.Length, n, k, nameof(probabilities));
        CheckTargets(nameof(Forward), targets, n, k);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * k, k);                // [k]
            var p = probabilities.Slice(i * k, k);           // [k]
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, p);
            TensorPrimitives.Exp(p, p);
            float sum = TensorPrimitives.Sum(p);
            TensorPrimitives.Divide(p, sum, p);
            // loss_i = logsumexp(row) − row[t] = log(sum) − (row[t] − max)
            total += Math.Log(sum) - (row[targets[i]] - max);
        }
        return (float)(total / n);
    }

    // Backward of the mean loss: d loss_i / d logits[i, j] = softmax[i, j] − [j == t_i], and the mean
    // divides by n, which the caller folds into scale = dLoss / n.

    /// <summary>dLogits [n, k] = scale·(probabilities − onehot(targets)); pass scale = dLoss / n for the mean.</summary>
    public static void Backward(ReadOnlySpan<float> probabilities, int n, int k, ReadOnlySpan<int> targets, float scale, Span<float> dLogits)
    {
        CheckRows(nameof(Backward), probabilities.Length, n, k, nameof(probabilities));
        CheckRows(nameof(Backward), dLogits.Length, n, k, nameof(dLogits));
        CheckTargets(nameof(Backward), targets, n, k);
        TensorPrimitives.Multiply(probabilities, scale, dLogits);
        for (int i = 0; i < n; i++)
        {
            int at = i * k + targets[i];
            dLogits[at] = scale * (probabilities[at] - 1);
        }
    }

    /// <summary>y [n, k] = x − max − log Σ exp(x − max) over each row of x [n, k].</summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, int n, int k, Span<float> y)
    {
        CheckRows(nameof(LogSoftmax), x.Length, n, k, nameof(x));
        CheckRows(nameof(LogSoftmax), y.Length, n, k, nameof(y));
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * k, k);                     // [k]
            var yRow = y.Slice(i * k, k);                    // [k]
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, yRow);
            TensorPrimitives.Exp(yRow, yRow);
            float logSum = MathF.Log(TensorPrimitives.Sum(yRow));
            TensorPrimitives.Subtract(row, max, yRow);
            TensorPrimitives.Subtract(yRow, logSum, yRow);
        }
    }

    // LogSoftmax backward: y_j = x_j − lse(x), d lse / d x_j = softmax_j = exp(y_j), so
    //   dx_j = dy_j − exp(y_j)·Σ_i dy_i.

    /// <summary>dx [n, k] = dy − exp(y)·Σ dy per row, where y [n, k] is LogSoftmax's output.</summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, int n, int k, Span<float> dx)
    {
        CheckRows(nameof(LogSoftmaxBackward), dy.Length, n, k, nameof(dy));
        CheckRows(nameof(LogSoftmaxBackward), y.Length, n, k, nameof(y));
        CheckRows(nameof(LogSoftmaxBackward), dx.Length, n, k, nameof(dx));
        for (int i = 0; i < n; i++)
        {
            var dyRow = dy.Slice(i * k, k);                  // [k]
            var dxRow = dx.Slice(i * k, k);                  // [k]
            float sum = TensorPrimitives.Sum(dyRow);
            TensorPrimitives.Exp(y.Slice(i * k, k), dxRow);
            TensorPrimitives.MultiplyAdd(dxRow, -sum, dyRow, dxRow);
        }
    }

    private static void CheckRows(string op, int length, int n, int k, string name)
    {
        if (n < 0 || k < 1 || length != (long)n * k)
        {
            throw new ArgumentException($"CrossEntropy {op}: {name} has {length} values, expected n·k = {n}·{k} with k >= 1.", name);
        }
    }

    private static void CheckTargets(string op, ReadOnlySpan<int> targets, int n, int k)
    {
        if (targets.Length != n)
        {
            throw new ArgumentException($"CrossEntropy {op}: targets has {targets.Length} values, expected n = {n}.", nameof(targets));
        }
        for (int i = 0; i < n; i++)
        {
            if ((uint)targets[i] >= (uint)k)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i], $"CrossEntropy {op}: target {targets[i]} at row {i} is out of range [0, {k}).");
            }
        }
    }
}
