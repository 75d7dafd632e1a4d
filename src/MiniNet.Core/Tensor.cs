// Tensor: a contiguous, row-major float32 array with a shape, a device, and autograd state.
// This file holds the data and grad state, factories, and the helpers every op uses
// (shape formatting and checks, and Make, which attaches a graph node when one is needed).
// The ops themselves live in Tensor.*.cs and Functional*.cs, each forward beside its backward.
using System.Globalization;
using System.Text;

namespace MiniNet;

/// <summary>An n-dimensional float32 array with reverse-mode autograd, as <c>torch.Tensor</c>.</summary>
public sealed partial class Tensor : IDisposable
{
    readonly int[] _shape;
    bool _requiresGrad;
    Tensor? _grad;
    int _disposed;

    internal Tensor(Storage storage, int[] shape)
    {
        Storage = storage;
        _shape = shape;
        storage.Hold();
    }

    /// <summary>
    /// Lets go of this tensor's storage now, as TorchSharp's <c>Dispose</c> (or Python dropping its last
    /// reference): when no other tensor over the same storage (a view, a Detach) and no graph node that
    /// saved it for backward still holds it, its buffer returns to the pool at once, warm, instead of
    /// after a garbage collection. Optional: tensors never disposed are reclaimed by the GC. The tensor
    /// may not be used afterwards. Its <see cref="Grad"/> is not disposed.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Storage.Drop();
    }

    /// <summary>Whether <see cref="Dispose"/> was called.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    void ThrowIfDisposed(string op)
    {
        if (IsDisposed)
            throw new ObjectDisposedException(nameof(Tensor), $"{op}: the tensor of shape {Format(_shape)} was disposed.");
    }

    /// <summary>The buffer behind this tensor (shared by reshapes and Detach).</summary>
    public Storage Storage { get; private set; }

    /// <summary>The device this tensor lives on.</summary>
    public Device Device => Storage.Device;

    /// <summary>The dimensions (a copy; a 0-d tensor has shape []).</summary>
    public int[] Shape => (int[])_shape.Clone();

    internal int[] ShapeRef => _shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Numel => Storage.Length;

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Size(int dim) => _shape[NormalizeDim("Size", dim, Rank)];

    internal Node? GradFn { get; set; }

    /// <summary>True for tensors not produced by a recorded op (parameters, inputs).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>The name of the op that produced this tensor, if recorded (as <c>grad_fn</c>).</summary>
    public string? GradFnName => GradFn?.Op;

    /// <summary>Whether gradients flow to this tensor. Settable on leaves only.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad || GradFn is not null;
        set
        {
            if (GradFn is not null && !value)
                throw new InvalidOperationException($"RequiresGrad: can only be changed on leaf tensors; this one was produced by '{GradFn.Op}'. Use Detach() instead.");
            _requiresGrad = value;
        }
    }

    /// <summary>The accumulated gradient (same shape), or null; set to null to clear it.</summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            if (value is not null)
            {
                if (!SameShape(value._shape, _shape))
                    throw new ArgumentException($"Grad: assigned gradient has shape {Format(value._shape)}, but the tensor has shape {Format(_shape)}.", nameof(value));
                CheckSameDevice("Grad", this, value);
                value.DetachFromDisposeScope();   // a gradient belongs to its leaf, not to a step's scope
            }
            _grad = value;
        }
    }

    // ---- factories ----

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (no shape: 1-d of data's length).</summary>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 0 && data.Length != 1) shape = [data.Length];
        int n = CheckShape("FromArray", shape);
        if (n != data.Length)
            throw new ArgumentException($"FromArray: shape {Format(shape)} holds {n} elements but the array has {data.Length}.", nameof(data));
        return new Tensor(Device.Cpu.Backend.FromHost(data), (int[])shape.Clone());
    }

    /// <summary>A 0-d tensor.</summary>
    public static Tensor Scalar(float value) => new(Device.Cpu.Backend.FromHost([value]), []);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape) => Full(value, Device.Cpu, shape);

    /// <summary>A tensor filled with <paramref name="value"/> on <paramref name="device"/>.</summary>
    public static Tensor Full(float value, Device device, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(device);
        int n = CheckShape("Full", shape);
        var storage = device.Backend.Allocate(n);
        if (value != 0f) device.Backend.Fill(storage, value);
        return new Tensor(storage, (int[])shape.Clone());
    }

    /// <summary>Zeros of the given shape.</summary>
    public static Tensor Zeros(params int[] shape) => Full(0f, Device.Cpu, shape);

    /// <summary>Ones of the given shape.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, Device.Cpu, shape);

    /// <summary>Zeros shaped and placed like <paramref name="other"/>.</summary>
    public static Tensor ZerosLike(Tensor other) => Full(0f, other.Device, other._shape);

    /// <summary>Ones shaped and placed like <paramref name="other"/>.</summary>
    public static Tensor OnesLike(Tensor other) => Full(1f, other.Device, other._shape);

    /// <summary>Standard normal samples from <see cref="Generator.Default"/>.</summary>
    public static Tensor Randn(params int[] shape) => Randn(null, shape);

    /// <summary>Standard normal samples from <paramref name="generator"/> (default generator when null).</summary>
    public static Tensor Randn(Generator? generator, params int[] shape)
    {
        var g = generator ?? Generator.Default;
        var data = new float[CheckShape("Randn", shape)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)g.NextNormal();
        return FromArray(data, shape);
    }

    /// <summary>Uniform samples in [0, 1) from <see cref="Generator.Default"/>.</summary>
    public static Tensor Rand(params int[] shape) => Rand(null, shape);

    /// <summary>Uniform samples in [0, 1) from <paramref name="generator"/> (default generator when null).</summary>
    public static Tensor Rand(Generator? generator, params int[] shape)
    {
        var g = generator ?? Generator.Default;
        var data = new float[CheckShape("Rand", shape)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)g.NextDouble();
        return FromArray(data, shape);
    }

    // ---- reading values ----

    /// <summary>A host copy of the elements in row-major order.</summary>
    public float[] ToArray()
    {
        ThrowIfDisposed("ToArray");
        var result = new float[Numel];
        Device.Backend.ToHost(Storage, result);
        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Item: only a one-element tensor converts to a scalar, but this one has shape {Format(_shape)}.");
        return ToArray()[0];
    }

    // ---- autograd ----

    /// <summary>Computes gradients of this tensor with respect to the leaves it depends on, accumulating into their <see cref="Grad"/>.</summary>
    /// <param name="gradient">dL/dthis; may be omitted only for a one-element tensor (then 1).</param>
    /// <param name="retainGraph">Keep the graph so that Backward can run through it again.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Autograd.Backward(this, gradient, retainGraph);

    // A buffer shaped and placed like `other` with arbitrary contents: for outputs (gradients
    // included) that a kernel overwrites entirely; the seam's kernels write their outputs.
    internal static Tensor EmptyLike(Tensor other) => new(other.Device.Backend.AllocateUninitialized(other.Numel), other._shape);

    /// <summary>A tensor sharing this one's storage, cut from the graph.</summary>
    public Tensor Detach() => new(Storage, _shape);

    /// <summary>A copy with its own storage; gradients flow through it.</summary>
    public Tensor Clone()
    {
        var y = Device.Backend.AllocateUninitialized(Numel);
        Device.Backend.Copy(Storage, y);
        return Make(y, _shape, "Clone", [this], g => [g]);
    }

    /// <summary>This tensor on <paramref name="device"/> (itself when already there); gradients flow back across.</summary>
    public Tensor To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == Device) return this;
        var source = Device;
        var moved = device.Backend.FromHost(ToArray());
        return Make(moved, _shape, "To", [this], g => [g.To(source)]);
    }

    // Module.To and the optimizers: moves this leaf's values (and its gradient) to device IN PLACE, so
    // that every holder of this Tensor object (a layer, an optimizer) follows, as PyTorch's
    // `param.data = param.data.to(device)`. Views made earlier (Detach, Reshape) keep the old storage.
    internal void MoveStorageTo(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == Device) return;
        if (GradFn is not null)
            throw new InvalidOperationException($"To: only leaf tensors move in place; this one was produced by '{GradFn.Op}'.");
        var old = Storage;
        Storage = device.Backend.FromHost(ToArray());
        Storage.Hold();
        old.Drop();
        _grad?.MoveStorageTo(device);
    }

    // ---- helpers for ops ----

    // Wraps a freshly computed output; records a node when grad mode is on and an input requires grad.
    internal static Tensor Make(Storage storage, int[] shape, string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        var t = Result(storage, shape);
        if (!Autograd.IsGradEnabled) return t;
        foreach (var input in inputs)
        {
            if (!input.RequiresGrad) continue;
            t.GradFn = new Node(op, inputs, backward, storage);
            break;
        }
        return t;
    }

    // An op's result with no graph node: owned by the open dispose scope, if any.
    internal static Tensor Result(Storage storage, int[] shape)
    {
        var t = new Tensor(storage, shape);
        DisposeScope.Register(t);
        return t;
    }

    // Disposes a temporary view made inside a backward, unless the op returned it unchanged as `result`
    // (Expand and SumToShape return their input when the shape already matches).
    internal static Tensor DisposeUnless(Tensor temporary, Tensor result)
    {
        if (!ReferenceEquals(temporary, result)) temporary.Dispose();
        return result;
    }

    internal static Device CheckSameDevice(string op, params Tensor[] tensors)
    {
        var device = tensors[0].Device;
        foreach (var t in tensors)
        {
            if (t.Device != device)
                throw new InvalidOperationException($"{op}: expected all tensors on one device, but found {device} and {t.Device}.");
        }
        return device;
    }

    internal static string Format(int[] shape) => "[" + string.Join(", ", shape) + "]";

    internal static bool SameShape(int[] a, int[] b) => a.AsSpan().SequenceEqual(b);

    internal static int CheckShape(string op, int[] shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"{op}: shape {Format(shape)} has a negative dimension.");
            n *= d;
            if (n > int.MaxValue) throw new ArgumentException($"{op}: shape {Format(shape)} has more than {int.MaxValue} elements.");
        }
        return (int)n;
    }

    internal static int NormalizeDim(string op, int dim, int rank)
    {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank)
            throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension {dim} is out of range for a tensor of rank {rank} (expected {-rank} to {rank - 1}).");
        return d;
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var data = ToArray();
        var sb = new StringBuilder("tensor(");
        sb.Append('[');
        int shown = Math.Min(data.Length, 10);
        for (int i = 0; i < shown; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(data[i].ToString("G6", CultureInfo.InvariantCulture));
        }
        if (data.Length > shown) sb.Append(", ...");
        sb.Append("], shape=").Append(Format(_shape));
        if (Device != Device.Cpu) sb.Append(", device=").Append(Device.Name);
        if (GradFn is not null) sb.Append(", grad_fn=").Append(GradFn.Op);
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }
}
