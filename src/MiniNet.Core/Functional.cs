// Fused ops with hand-written backward (as torch.nn.functional): each forward calls its kernel
// through the tensor's backend and records the matching backward kernel right beside it.
namespace MiniNet;

/// <summary>Stateless neural-network ops, as <c>torch.nn.functional</c>.</summary>
public static partial class Functional
{
    /// <summary>y = x·Wᵀ + b over the last dim: x [..., in], weight [out, in], bias [out] or null.</summary>
    // Backward: dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy.
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        var device = bias is null ? Tensor.CheckSameDevice("Linear", x, weight) : Tensor.CheckSameDevice("Linear", x, weight, bias);
        if (weight.Rank != 2) throw new ArgumentException($"Linear: weight must be 2-d [out, in], got {Tensor.Format(weight.ShapeRef)}.", nameof(weight));
        int outF = weight.ShapeRef[0], inF = weight.ShapeRef[1];
        if (x.Rank == 0 || x.ShapeRef[^1] != inF)
            throw new ArgumentException($"Linear: input shape {Tensor.Format(x.ShapeRef)} does not end in {inF} features (weight {Tensor.Format(weight.ShapeRef)}).", nameof(x));
        if (bias is not null && !Tensor.SameShape(bias.ShapeRef, [outF]))
            throw new ArgumentException($"Linear: bias has shape {Tensor.Format(bias.ShapeRef)}, expected [{outF}].", nameof(bias));
        int rows = x.Numel / Math.Max(inF, 1);
        int[] shape = [.. x.ShapeRef[..^1], outF];
        var backend = device.Backend;
        var y = backend.AllocateUninitialized(rows * outF);
        backend.Gemm(false, true, rows, outF, inF, x.Storage, 0, weight.Storage, 0, y, 0, 0f);
        if (bias is not null) backend.Binary(BinaryOp.Add, y, [rows, outF], bias.Storage, [outF], y, [rows, outF]);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Tensor.Make(y, shape, "Linear", inputs, g =>
        {
            Tensor? dx = null, dWeight = null, dBias = null;
            if (x.RequiresGrad)
            {
                dx = Tensor.EmptyLike(x);
                backend.Gemm(false, false, rows, inF, outF, g.Storage, 0, weight.Storage, 0, dx.Storage, 0, 0f);
            }
            if (weight.RequiresGrad)
            {
                dWeight = Tensor.EmptyLike(weight);
                backend.Gemm(true, false, outF, inF, rows, g.Storage, 0, x.Storage, 0, dWeight.Storage, 0, 0f);
            }
            if (bias is not null && bias.RequiresGrad)
            {
                var rowsOfG = g.Reshape(rows, outF);
                dBias = Tensor.DisposeUnless(rowsOfG, rowsOfG.SumToShape([outF]));
            }
            return bias is null ? [dx, dWeight] : [dx, dWeight, dBias];
        });
    }

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Relu();
    }

    /// <summary>2-d convolution (cross-correlation) of x [N, C, H, W] with weight [O, C, k, k], bias [O] or null.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        var device = bias is null ? Tensor.CheckSameDevice("Conv2d", x, weight) : Tensor.CheckSameDevice("Conv2d", x, weight, bias);
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), $"Conv2d: stride must be ≥ 1, got {stride}.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"Conv2d: padding must be ≥ 0, got {padding}.");
        if (weight.Rank != 4 || weight.ShapeRef[2] != weight.ShapeRef[3])
            throw new ArgumentException($"Conv2d: weight must be [out, in, k, k], got {Tensor.Format(weight.ShapeRef)}.", nameof(weight));
        int cOut = weight.ShapeRef[0], cIn = weight.ShapeRef[1], k = weight.ShapeRef[2];
        if (x.Rank != 4 || x.ShapeRef[1] != cIn)
            throw new ArgumentException($"Conv2d: expected input [N, {cIn}, H, W] for weight {Tensor.Format(weight.ShapeRef)}, got {Tensor.Format(x.ShapeRef)}.", nameof(x));
        if (bias is not null && !Tensor.SameShape(bias.ShapeRef, [cOut]))
            throw new ArgumentException($"Conv2d: bias has shape {Tensor.Format(bias.ShapeRef)}, expected [{cOut}].", nameof(bias));
        int n = x.ShapeRef[0], h = x.ShapeRef[2], w = x.ShapeRef[3];
        if (h + 2 * padding < k || w + 2 * padding < k)
            throw new ArgumentException($"Conv2d: input {Tensor.Format(x.ShapeRef)} with padding {padding} is smaller than the kernel {k}×{k}.", nameof(x));
        int outH = (h + 2 * padding - k) / stride + 1, outW = (w + 2 * padding - k) / stride + 1;
        var backend = device.Backend;
        var y = backend.AllocateUninitialized(Tensor.CheckShape("Conv2d", [n, cOut, outH, outW]));
        backend.Conv2dForward(x.Storage, weight.Storage, bias?.Storage, n, cIn, h, w, cOut, k, stride, padding, y);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Tensor.Make(y, [n, cOut, outH, outW], "Conv2d", inputs, g =>
        {
            var dx = x.RequiresGrad ? Tensor.EmptyLike(x) : null;
            var dWeight = weight.RequiresGrad ? Tensor.EmptyLike(weight) : null;
            var dBias = bias is not null && bias.RequiresGrad ? Tensor.EmptyLike(bias) : null;
            backend.Conv2dBackward(g.Storage, x.Storage, weight.Storage, n, cIn, h, w, cOut, k, stride, padding, dx?.Storage, dWeight?.Storage, dBias?.Storage);
            return bias is null ? [dx, dWeight] : [dx, dWeight, dBias];
        });
    }

    /// <summary>2-d max pooling of x [N, C, H, W] (no padding, floor mode); stride defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int? stride = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        int s = stride ?? kernelSize;
        if (kernelSize < 1 || s < 1)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"MaxPool2d: kernel size and stride must be ≥ 1, got {kernelSize} and {s}.");
        if (x.Rank != 4)
            throw new ArgumentException($"MaxPool2d: expected input [N, C, H, W], got {Tensor.Format(x.ShapeRef)}.", nameof(x));
        int n = x.ShapeRef[0], c = x.ShapeRef[1], h = x.ShapeRef[2], w = x.ShapeRef[3];
        if (h < kernelSize || w < kernelSize)
            throw new ArgumentException($"MaxPool2d: input {Tensor.Format(x.ShapeRef)} is smaller than the kernel {kernelSize}×{kernelSize}.", nameof(x));
        int outH = (h - kernelSize) / s + 1, outW = (w - kernelSize) / s + 1;
        var backend = x.Device.Backend;
        int count = n * c * outH * outW;
        var y = backend.AllocateUninitialized(count);
        var indices = backend.AllocateInt(count);
        backend.MaxPool2dForward(x.Storage, n, c, h, w, kernelSize, s, y, indices);
        return Tensor.Make(y, [n, c, outH, outW], "MaxPool2d", [x], g =>
        {
            var dx = Tensor.EmptyLike(x);
            backend.MaxPool2dBackward(g.Storage, indices, n, c, h, w, kernelSize, s, dx.Storage);
            return [dx];
        });
    }

    /// <summary>Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1−p); identity otherwise.</summary>
    public static Tensor Dropout(Tensor x, double p = 0.5, bool training = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (p < 0 || p > 1 || double.IsNaN(p))
            throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: probability must be in [0, 1], got {p}.");
        if (!training || p == 0) return x;
        var backend = x.Device.Backend;
        var mask = backend.AllocateUninitialized(x.Numel);
        backend.DropoutMask(mask, (float)p, (generator ?? Generator.Default).NextUInt64());
        var maskTensor = new Tensor(mask, x.ShapeRef);
        var y = backend.AllocateUninitialized(x.Numel);
        backend.Binary(BinaryOp.Mul, x.Storage, x.ShapeRef, mask, x.ShapeRef, y, x.ShapeRef);
        return Tensor.Make(y, x.ShapeRef, "Dropout", [x], g => [g * maskTensor]);
    }
}
