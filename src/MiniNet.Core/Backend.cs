// The kernel seam: every op in MiniNet computes its shapes and autograd in Tensor/Functional, then
// calls exactly one of these methods to touch memory. A backend (the CPU one here, ILGPU's in
// MiniNet.Gpu) implements them over its own Storage. All buffers are contiguous and row-major;
// shapes are passed where the kernel needs them. Methods write their outputs (never accumulate)
// unless the parameter says so. Ops check that all operands share one device before calling.
namespace MiniNet;

/// <summary>Element-wise binary operations (broadcasting, NumPy rules).</summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a − b</summary>
    Sub,
    /// <summary>a · b</summary>
    Mul,
    /// <summary>a / b</summary>
    Div,
    /// <summary>max(a, b)</summary>
    Maximum,
    /// <summary>min(a, b)</summary>
    Minimum,
    /// <summary>1 where a &gt; b, else 0</summary>
    Greater,
    /// <summary>1 where a == b, else 0</summary>
    Equal,
    /// <summary>ReLU's backward: a where b &gt; 0, else 0 (a = dy, b = x)</summary>
    ReluBackward,
}

/// <summary>Element-wise unary operations; some take a scalar argument.</summary>
public enum UnaryOp
{
    /// <summary>−x</summary>
    Neg,
    /// <summary>eˣ</summary>
    Exp,
    /// <summary>ln x</summary>
    Log,
    /// <summary>√x</summary>
    Sqrt,
    /// <summary>|x|</summary>
    Abs,
    /// <summary>sign(x) (0 at 0)</summary>
    Sign,
    /// <summary>max(x, 0)</summary>
    Relu,
    /// <summary>1 / (1 + e⁻ˣ)</summary>
    Sigmoid,
    /// <summary>tanh x</summary>
    Tanh,
    /// <summary>x + scalar</summary>
    AddScalar,
    /// <summary>x · scalar</summary>
    MulScalar,
    /// <summary>xˢᶜᵃˡᵃʳ</summary>
    PowScalar,
}

/// <summary>The contract between ops and a device: memory, and the kernels every op needs.</summary>
public abstract class Backend
{
    // ---- memory ----

    /// <summary>A zero-filled float buffer.</summary>
    public abstract Storage Allocate(int length);
    /// <summary>A float buffer with arbitrary contents, for outputs a kernel overwrites entirely (default: <see cref="Allocate"/>).</summary>
    public virtual Storage AllocateUninitialized(int length) => Allocate(length);
    /// <summary>A zero-filled int buffer (indices, class targets).</summary>
    public abstract Storage AllocateInt(int length);
    /// <summary>Copies host data into a new buffer.</summary>
    public abstract Storage FromHost(ReadOnlySpan<float> data);
    /// <summary>Copies host int data into a new int buffer.</summary>
    public abstract Storage FromHost(ReadOnlySpan<int> data);
    /// <summary>Copies a float buffer to the host.</summary>
    public abstract void ToHost(Storage source, Span<float> destination);
    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (same length).</summary>
    public abstract void Copy(Storage source, Storage destination);
    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public abstract void Fill(Storage buffer, float value);

    // ---- element-wise ----

    /// <summary>y = a op b, with a and b broadcast to <paramref name="yShape"/>; y may alias a when shapes agree.</summary>
    public abstract void Binary(BinaryOp op, Storage a, int[] aShape, Storage b, int[] bShape, Storage y, int[] yShape);
    /// <summary>y = op(x [, scalar]); y may alias x.</summary>
    public abstract void Unary(UnaryOp op, Storage x, float scalar, Storage y);
    /// <summary>y += alpha · x (same length): gradient accumulation and in-place updates.</summary>
    public abstract void AddScaledInPlace(Storage y, Storage x, float alpha);
    /// <summary>Sums x over the dims where <paramref name="yShape"/> is 1 (same rank): reductions and broadcast backward.</summary>
    public abstract void SumTo(Storage x, int[] xShape, Storage y, int[] yShape);
    /// <summary>y = x permuted: y's dim i is x's dim perm[i].</summary>
    public abstract void Permute(Storage x, int[] xShape, int[] perm, Storage y);
    /// <summary>Index of the largest value in each row of x [rows, cols] (first maximum), copied to the host.</summary>
    public abstract int[] ArgMaxRows(Storage x, int rows, int cols);
    /// <summary>Inverted-dropout mask: each element 1/(1−p) with probability 1−p, else 0, from a counter-based generator seeded by <paramref name="seed"/>.</summary>
    public abstract void DropoutMask(Storage mask, float p, ulong seed);

    // ---- matrix products ----

    /// <summary>C[m,n] = op(A)·op(B) + beta·C over sub-buffers starting at the given offsets (see Kernels.Gemm).</summary>
    public abstract void Gemm(bool transA, bool transB, int m, int n, int k, Storage a, int aOffset, Storage b, int bOffset, Storage c, int cOffset, float beta);

    // ---- convolution and pooling (see Kernels.Conv2dKernels, Kernels.MaxPool2dKernels) ----

    /// <summary>2-D convolution forward; <paramref name="bias"/> may be null.</summary>
    public abstract void Conv2dForward(Storage x, Storage weight, Storage? bias, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage y);
    /// <summary>2-D convolution backward; null outputs are not computed.</summary>
    public abstract void Conv2dBackward(Storage dy, Storage x, Storage weight, int n, int cIn, int h, int w, int cOut, int kernelSize, int stride, int padding, Storage? dx, Storage? dWeight, Storage? dBias);
    /// <summary>Max pooling forward, writing the argmax of each window into the int buffer <paramref name="indices"/>.</summary>
    public abstract void MaxPool2dForward(Storage x, int n, int c, int h, int w, int kernelSize, int stride, Storage y, Storage indices);
    /// <summary>
    /// Max pooling backward: dx = 0, then dy sent to the argmax positions. <paramref name="indices"/> are
    /// those MaxPool2dForward wrote for the same sizes, window and stride (a backend may gather: each input
    /// element sums the dy of the windows that cover it and chose it).
    /// </summary>
    public abstract void MaxPool2dBackward(Storage dy, Storage indices, int n, int c, int h, int w, int kernelSize, int stride, Storage dx);

    // ---- batch normalisation over x viewed as [n, c, s] (see Kernels.BatchNormKernels) ----

    /// <summary>Training forward: batch statistics, normalise, scale and shift; weight/bias null when not affine.</summary>
    public abstract void BatchNormForwardTraining(Storage x, int n, int c, int s, Storage? weight, Storage? bias, float eps, Storage y, Storage saveMean, Storage saveInvStd, Storage batchVar);
    /// <summary>Eval forward with running statistics, one fused scale-and-shift.</summary>
    public abstract void BatchNormForwardInference(Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, Storage? bias, float eps, Storage y);
    /// <summary>Closed-form training backward; null outputs are not computed.</summary>
    public abstract void BatchNormBackwardTraining(Storage dy, Storage x, int n, int c, int s, Storage saveMean, Storage saveInvStd, Storage? weight, Storage? dx, Storage? dWeight, Storage? dBias);
    /// <summary>Backward of the eval forward (statistics are constants); null outputs are not computed.</summary>
    public abstract void BatchNormBackwardInference(Storage dy, Storage x, int n, int c, int s, Storage runningMean, Storage runningVar, Storage? weight, float eps, Storage? dx, Storage? dWeight, Storage? dBias);
    /// <summary>
    /// running = (1 − f)·running + f·batch, with the unbiased variance batchVar·m/(m − 1). f is
    /// <paramref name="factor"/>, or, when <paramref name="cumulativeCount"/> (a one-element buffer holding
    /// the number of batches seen, this one included) is given, 1/count read where the buffer lives: the
    /// cumulative average of momentum = null, with no copy to the host.
    /// </summary>
    public abstract void BatchNormUpdateRunningStats(Storage batchMean, Storage batchVar, int m, float factor, Storage? cumulativeCount, Storage runningMean, Storage runningVar);

    // ---- losses ----

    /// <summary>Mean softmax cross-entropy of logits [n, k] against int targets [n], written to the one-element <paramref name="loss"/>; writes the softmax for backward.</summary>
    public abstract void CrossEntropyForward(Storage logits, int n, int k, Storage targets, Storage probabilities, Storage loss);
    /// <summary>dLogits = gradOutput[0]·scale·(softmax − onehot(targets)); the upstream gradient stays where it lives.</summary>
    public abstract void CrossEntropyBackward(Storage probabilities, int n, int k, Storage targets, Storage gradOutput, float scale, Storage dLogits);
    /// <summary>Log-softmax over the last dim of x [n, k].</summary>
    public abstract void LogSoftmax(Storage x, int n, int k, Storage y);
    /// <summary>Backward of log-softmax: dx = dy − softmax·Σdy.</summary>
    public abstract void LogSoftmaxBackward(Storage dy, Storage y, int n, int k, Storage dx);

    // ---- optimizers (PyTorch's update formulas; see Kernels.OptimizerKernels) ----

    /// <summary>One SGD step on one parameter; <paramref name="momentumBuffer"/> null when momentum is 0.</summary>
    public abstract void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep);
    /// <summary>One Adam (or, decoupled, AdamW) step on one parameter; <paramref name="step"/> is 1-based.</summary>
    public abstract void AdamStep(Storage param, Storage grad, Storage expAvg, Storage expAvgSq, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step);
}
