// Element-wise ops with broadcasting, and their gradients. A broadcast input's gradient is the
// output gradient summed back to the input's shape (SumToShape).
namespace MiniNet;

public sealed partial class Tensor
{
    // ---- binary ----

    /// <summary>Broadcast shape of two shapes (NumPy rules), or an error naming the op and both shapes.</summary>
    public static int[] BroadcastShapes(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    static Tensor BinaryForward(string name, BinaryOp op, Tensor a, Tensor b, out int[] shape) => Result(BinaryKernel(name, op, a, b, out shape), shape);

    static Storage BinaryKernel(string name, BinaryOp op, Tensor a, Tensor b, out int[] shape)
    {
        var device = CheckSameDevice(name, a, b);
        shape = BroadcastShapes(name, a._shape, b._shape);
        var y = device.Backend.AllocateUninitialized(CheckShape(name, shape));
        device.Backend.Binary(op, a.Storage, a._shape, b.Storage, b._shape, y, shape);
        return y;
    }

    // Runs a binary kernel and records `backward` (given dy, returns the unreduced gradients).
    static Tensor Binary(string name, BinaryOp op, Tensor a, Tensor b, Func<Tensor, (Tensor? Da, Tensor? Db)> backward)
    {
        var y = BinaryKernel(name, op, a, b, out var shape);
        return Make(y, shape, name, [a, b], g =>
        {
            var (da, db) = backward(g);
            return [a.RequiresGrad ? da?.SumToShape(a._shape) : null, b.RequiresGrad ? db?.SumToShape(b._shape) : null];
        });
    }

    /// <summary>a + b (broadcasting).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Binary("Add", BinaryOp.Add, a, b, g => (g, g));

    /// <summary>a − b (broadcasting).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Binary("Sub", BinaryOp.Sub, a, b, g => (g, b.RequiresGrad ? -g : null));

    /// <summary>a · b element-wise (broadcasting).</summary>
    public static Tensor operator *(Tensor a, Tensor b) =>
        Binary("Mul", BinaryOp.Mul, a, b, g => (a.RequiresGrad ? g * b : null, b.RequiresGrad ? g * a : null));

    /// <summary>a / b element-wise (broadcasting).</summary>
    public static Tensor operator /(Tensor a, Tensor b) =>
        Binary("Div", BinaryOp.Div, a, b, g => (a.RequiresGrad ? g / b : null, b.RequiresGrad ? -g * a / (b * b) : null));

    /// <summary>Element-wise maximum; at ties the gradient is split evenly, as in PyTorch.</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Binary("Maximum", BinaryOp.Maximum, a, b, g => SplitGradient(g, a, b));

    /// <summary>Element-wise minimum; at ties the gradient is split evenly, as in PyTorch.</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Binary("Minimum", BinaryOp.Minimum, a, b, g => SplitGradient(g, b, a));

    // d max(a, b): to a where a > b, to b where b > a, half to each at ties.
    static (Tensor, Tensor) SplitGradient(Tensor g, Tensor winner, Tensor loser)
    {
        var toWinner = winner.Gt(loser) + winner.Eq(loser) * 0.5f;
        return (g * toWinner, g * (1f - toWinner));
    }

    /// <summary>1 where this &gt; other, else 0 (no gradient).</summary>
    public Tensor Gt(Tensor other) => BinaryForward("Gt", BinaryOp.Greater, this, other, out _);

    /// <summary>1 where this == other, else 0 (no gradient).</summary>
    public Tensor Eq(Tensor other) => BinaryForward("Eq", BinaryOp.Equal, this, other, out _);

    // ---- with a scalar ----

    /// <summary>x + s.</summary>
    public static Tensor operator +(Tensor x, float s) => x.Unary("AddScalar", UnaryOp.AddScalar, s, (g, _) => g);
    /// <summary>s + x.</summary>
    public static Tensor operator +(float s, Tensor x) => x + s;
    /// <summary>x − s.</summary>
    public static Tensor operator -(Tensor x, float s) => x + (-s);
    /// <summary>s − x.</summary>
    public static Tensor operator -(float s, Tensor x) => -x + s;
    /// <summary>x · s.</summary>
    public static Tensor operator *(Tensor x, float s) => x.Unary("MulScalar", UnaryOp.MulScalar, s, (g, _) => g * s);
    /// <summary>s · x.</summary>
    public static Tensor operator *(float s, Tensor x) => x * s;
    /// <summary>x / s.</summary>
    public static Tensor operator /(Tensor x, float s) => x * (1f / s);
    /// <summary>s / x.</summary>
    public static Tensor operator /(float s, Tensor x) => x.Pow(-1f) * s;
    /// <summary>−x.</summary>
    public static Tensor operator -(Tensor x) => x.Unary("Neg", UnaryOp.Neg, 0f, (g, _) => -g);

    /// <summary>a + b.</summary>
    public Tensor Add(Tensor other) => this + other;
    /// <summary>a − b.</summary>
    public Tensor Sub(Tensor other) => this - other;
    /// <summary>a · b.</summary>
    public Tensor Mul(Tensor other) => this * other;
    /// <summary>a / b.</summary>
    public Tensor Div(Tensor other) => this / other;

    // ---- unary ----

    // Runs a unary kernel; `backward` gets (dy, y) and returns dx.
    Tensor Unary(string name, UnaryOp op, float scalar, Func<Tensor, Tensor, Tensor> backward)
    {
        var y = Device.Backend.AllocateUninitialized(Numel);
        Device.Backend.Unary(op, Storage, scalar, y);
        Tensor? output = null;
        output = Make(y, _shape, name, [this], g =>
        {
            using var saved = output!.Detach();
            return [backward(g, saved)];
        });
        return output;
    }

    /// <summary>eˣ.</summary>
    public Tensor Exp() => Unary("Exp", UnaryOp.Exp, 0f, (g, y) => g * y);
    /// <summary>ln x.</summary>
    public Tensor Log() => Unary("Log", UnaryOp.Log, 0f, (g, _) => g / this);
    /// <summary>√x.</summary>
    public Tensor Sqrt() => Unary("Sqrt", UnaryOp.Sqrt, 0f, (g, y) => g * 0.5f / y);
    /// <summary>|x|; gradient sign(x) (0 at 0, as PyTorch).</summary>
    public Tensor Abs() => Unary("Abs", UnaryOp.Abs, 0f, (g, _) => g * Sign());
    /// <summary>sign(x), no gradient.</summary>
    public Tensor Sign()
    {
        var y = Device.Backend.AllocateUninitialized(Numel);
        Device.Backend.Unary(UnaryOp.Sign, Storage, 0f, y);
        return Result(y, _shape);
    }
    /// <summary>max(x, 0); gradient 1 where x &gt; 0.</summary>
    public Tensor Relu() => Unary("Relu", UnaryOp.Relu, 0f, (g, y) => BinaryForward("ReluBackward", BinaryOp.ReluBackward, g, y, out var _));
    /// <summary>1 / (1 + e⁻ˣ).</summary>
    public Tensor Sigmoid() => Unary("Sigmoid", UnaryOp.Sigmoid, 0f, (g, y) => g * y * (1f - y));
    /// <summary>tanh x.</summary>
    public Tensor Tanh() => Unary("Tanh", UnaryOp.Tanh, 0f, (g, y) => g * (1f - y * y));
    /// <summary>xᵖ.</summary>
    public Tensor Pow(float p) => Unary("Pow", UnaryOp.PowScalar, p, (g, _) => g * p * Pow(p - 1f));
    /// <summary>x².</summary>
    public Tensor Square() => this * this;

    // ---- in place (no graph; refused on leaves that require grad while grad mode is on) ----

    void CheckInPlace(string op)
    {
        if (Autograd.IsGradEnabled && IsLeaf && RequiresGrad)
            throw new InvalidOperationException($"{op}: a leaf tensor that requires grad (shape {Format(_shape)}) cannot be modified in place while grad mode is on; use Autograd.NoGrad().");
        if (Autograd.IsGradEnabled && !IsLeaf)
            throw new InvalidOperationException($"{op}: a tensor produced by '{GradFn!.Op}' cannot be modified in place: its graph would no longer match its values.");
    }

    /// <summary>this += alpha · other (same shape), in place; returns this.</summary>
    public Tensor AddInPlace(Tensor other, float alpha = 1f)
    {
        CheckInPlace("AddInPlace");
        CheckSameDevice("AddInPlace", this, other);
        if (!SameShape(_shape, other._shape))
            throw new ArgumentException($"AddInPlace: shapes {Format(_shape)} and {Format(other._shape)} differ.", nameof(other));
        Device.Backend.AddScaledInPlace(Storage, other.Storage, alpha);
        return this;
    }

    /// <summary>this += s, in place; returns this.</summary>
    public Tensor AddInPlace(float s)
    {
        CheckInPlace("AddInPlace");
        Device.Backend.Unary(UnaryOp.AddScalar, Storage, s, Storage);
        return this;
    }

    /// <summary>this ·= s, in place; returns this.</summary>
    public Tensor MulInPlace(float s)
    {
        CheckInPlace("MulInPlace");
        Device.Backend.Unary(UnaryOp.MulScalar, Storage, s, Storage);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/>; returns this.</summary>
    public Tensor FillInPlace(float value)
    {
        CheckInPlace("FillInPlace");
        Device.Backend.Fill(Storage, value);
        return this;
    }

    /// <summary>Sets every element to 0; returns this.</summary>
    public Tensor ZeroInPlace() => FillInPlace(0f);

    /// <summary>Copies <paramref name="source"/>'s values (same shape) into this tensor; returns this.</summary>
    public Tensor CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckInPlace("CopyFrom");
        if (!SameShape(_shape, source._shape))
            throw new ArgumentException($"CopyFrom: shapes {Format(_shape)} and {Format(source._shape)} differ.", nameof(source));
        if (source.Device == Device) Device.Backend.Copy(source.Storage, Storage);
        else Device.Backend.Copy(Device.Backend.FromHost(source.ToArray()), Storage);
        return this;
    }
}
