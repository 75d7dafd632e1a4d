// Dispose scopes, as TorchSharp's torch.NewDisposeScope(): the results of ops made on this thread
// while a scope is open belong to it, and disposing the scope disposes them (see Storage.cs for what
// that frees), so a training step can hand all its activations back to the pool at once, as Python
// frees them when the step's last reference goes:
//
//     using (Tensor.NewDisposeScope()) { opt.ZeroGrad(); var loss = ...; loss.Backward(); opt.Step(); }
//
// What a scope owns: op results only (arithmetic, layers, losses, views such as Reshape). Tensors
// made by factories (Zeros, Randn, FromArray, ...), such as parameters and optimizer state, are never
// owned; a tensor that becomes a leaf's .Grad leaves its scope. To keep a result past the scope, call
// MoveToOuterDisposeScope() (the enclosing scope, if any, takes it) or DetachFromDisposeScope().
// Scopes nest and must be disposed innermost first, on the thread that opened them.
namespace MiniNet;

/// <summary>Owns the op results made on its thread while it is open; disposing it disposes them.</summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] static DisposeScope? t_current;

    readonly DisposeScope? _outer;
    readonly Thread _thread = Thread.CurrentThread;
    List<Tensor>? _owned = [];

    internal DisposeScope()
    {
        _outer = t_current;
        t_current = this;
    }

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current => t_current;

    /// <summary>Number of tensors this scope owns now.</summary>
    public int Count
    {
        get
        {
            int count = 0;
            if (_owned is null) return 0;
            foreach (var t in _owned)
            {
                if (ReferenceEquals(t.Scope, this)) count++;
            }
            return count;
        }
    }

    internal void Add(Tensor t)
    {
        if (_owned is null) throw new ObjectDisposedException(nameof(DisposeScope), "DisposeScope: this scope was disposed; it cannot take tensors.");
        t.Scope = this;
        _owned.Add(t);
    }

    internal static void Register(Tensor t) => t_current?.Add(t);

    internal DisposeScope? Outer => _outer;

    /// <summary>Disposes every tensor the scope still owns and closes it.</summary>
    public void Dispose()
    {
        if (_owned is null) return;
        if (!ReferenceEquals(t_current, this))
            throw new InvalidOperationException(Thread.CurrentThread == _thread
                ? "DisposeScope: scopes must be disposed innermost first; an inner scope opened after this one is still open."
                : "DisposeScope: a scope must be disposed on the thread that opened it.");
        t_current = _outer;
        var owned = _owned;
        _owned = null;
        foreach (var t in owned)
        {
            if (!ReferenceEquals(t.Scope, this)) continue;   // moved out or detached
            t.Scope = null;
            t.Dispose();
        }
    }
}

public sealed partial class Tensor
{
    internal DisposeScope? Scope { get; set; }

    /// <summary>Opens a dispose scope on this thread (as TorchSharp's <c>torch.NewDisposeScope()</c>): op results made until it is disposed belong to it.</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Takes this tensor out of its dispose scope and hands it to the enclosing one (none: no scope owns it). Returns this tensor.</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var scope = Scope;
        if (scope is null) return this;
        Scope = null;
        scope.Outer?.Add(this);
        return this;
    }

    /// <summary>Takes this tensor out of any dispose scope: it lives until disposed or collected. Returns this tensor.</summary>
    public Tensor DetachFromDisposeScope()
    {
        Scope = null;
        return this;
    }
}
