// Reverse-mode automatic differentiation.
//
// An op that sees an input requiring grad (while grad mode is on) gives its output a Node: the op's
// name, its inputs, and a backward closure that maps the output's gradient to one gradient per
// input (null where not needed). Backward() sorts the graph topologically from the root, then
// walks it in reverse, summing the gradients that reach each tensor. Leaf tensors with
// RequiresGrad ACCUMULATE into .Grad (+=), across calls, as in PyTorch: clear them with ZeroGrad or
// Grad = null. Non-leaf gradients are not kept. Closures run with grad mode off, so they build no
// graph; after a backward the closures are dropped (the graph is freed) unless retainGraph is set,
// and a second backward through the same nodes is an error.
//
// Buffers (see Storage.cs): a node holds the storages of its inputs and of its output until its
// closure is dropped, so a tensor the user disposes stays readable for the backward that saved it.
// The gradients flowing between nodes are the engine's own: each is disposed as soon as the node it
// was for has consumed it, so its buffer is reused by the next gradient of that size, as PyTorch's
// engine frees a gradient after its last use. Gradients that become a leaf's .Grad are kept.
namespace MiniNet;

/// <summary>A node of the autograd graph: the op that made a tensor and how to send gradients back.</summary>
internal sealed class Node
{
    Storage[]? _held;

    public Node(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward, Storage output)
    {
        Op = op;
        Inputs = inputs;
        Backward = backward;
        _held = new Storage[inputs.Length + 1];
        for (int i = 0; i < inputs.Length; i++) _held[i] = inputs[i].Storage;
        _held[^1] = output;
        foreach (var s in _held) s.Hold();
    }

    public string Op { get; }
    public Tensor[] Inputs { get; }
    public Func<Tensor, Tensor?[]>? Backward { get; private set; }

    // After its backward (without retainGraph): the closure and the storages it saved are let go.
    public void Free()
    {
        Backward = null;
        var held = Interlocked.Exchange(ref _held, null);
        if (held is null) return;
        foreach (var s in held) s.Drop();
    }
}

/// <summary>Grad mode and the backward pass.</summary>
public static class Autograd
{
    [ThreadStatic] static int _noGradDepth;

    /// <summary>Whether ops record a graph on this thread (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsGradEnabled => _noGradDepth == 0;

    /// <summary>A scope in which no graph is recorded (as <c>torch.no_grad()</c>): <c>using (Autograd.NoGrad()) { ... }</c>.</summary>
    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope();
    }

    sealed class NoGradScope : IDisposable
    {
        bool _disposed;
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _noGradDepth--;
        }
    }

    internal static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        long firstSerial = Storage.LastSerial;  // storages made after this are this backward's own
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward: the tensor of shape {Tensor.Format(root.ShapeRef)} does not require grad and has no grad_fn (set RequiresGrad on a leaf it depends on, outside Autograd.NoGrad()).");
        if (gradient is null)
        {
            if (root.Numel != 1)
                throw new InvalidOperationException($"Backward: a gradient can be implied only for a scalar output, but the output has shape {Tensor.Format(root.ShapeRef)}; pass a gradient of that shape.");
            gradient = Tensor.OnesLike(root);
        }
        else
        {
            if (!Tensor.SameShape(gradient.ShapeRef, root.ShapeRef))
                throw new ArgumentException($"Backward: the gradient has shape {Tensor.Format(gradient.ShapeRef)} but the output has shape {Tensor.Format(root.ShapeRef)}.", nameof(gradient));
            Tensor.CheckSameDevice("Backward", root, gradient);
        }

        using var _ = NoGrad();
        if (root.GradFn is null)
        {
            AccumulateLeaf(root, gradient, owned: false);
            return;
        }
        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = gradient };
        var spent = new List<Tensor>();
        var kept = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { gradient };  // the caller's, and leaves' .Grad
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            var node = t.GradFn!;
            if (!grads.Remove(t, out var g)) continue;
            var backward = node.Backward ?? throw new InvalidOperationException(
                $"Backward: trying to backward through the graph a second time (through '{node.Op}'); its saved values were freed after the first Backward. Call Backward(retainGraph: true) the first time to keep them.");
            long before = Storage.LastSerial;
            var inputGrads = backward(g);
            if (!retainGraph) node.Free();
            spent.Add(g);
            for (int j = 0; j < node.Inputs.Length; j++)
            {
                var input = node.Inputs[j];
                var ig = inputGrads[j];
                if (ig is null || !input.RequiresGrad) continue;
                if (!Tensor.SameShape(ig.ShapeRef, input.ShapeRef))
                    throw new InvalidOperationException($"Backward of '{node.Op}': gradient for input {j} has shape {Tensor.Format(ig.ShapeRef)}, expected {Tensor.Format(input.ShapeRef)} (a bug in the op).");
                if (input.GradFn is null)
                {
                    if (AccumulateLeaf(input, ig, owned: OwnedByEngine(ig, inputGrads, before))) kept.Add(ig);
                    else spent.Add(ig);
                }
                else if (grads.TryGetValue(input, out var prev))
                {
                    grads[input] = prev + ig;
                    spent.Add(prev);
                    spent.Add(ig);
                }
                else
                {
                    grads[input] = ig;
                }
            }
            DisposeSpent(spent, grads, kept, firstSerial);
        }
    }

    // Disposes the gradients this step consumed that only the engine can see: made during this
    // backward (their storage is newer than its start), not the caller's gradient, not a leaf's .Grad,
    // and not still waiting in `grads` (a closure may hand one tensor to several inputs). Disposing
    // drops one hold, so a storage shared with a view still in use stays alive.
    static void DisposeSpent(List<Tensor> spent, Dictionary<Tensor, Tensor> grads, HashSet<Tensor> kept, long firstSerial)
    {
        foreach (var s in spent)
        {
            if (s.Storage.Serial <= firstSerial || kept.Contains(s) || grads.ContainsValue(s)) continue;
            s.Dispose();
        }
        spent.Clear();
    }

    // A leaf's first gradient is kept as it is when nothing else can see its storage (as PyTorch steals
    // a gradient it holds the only reference to), else copied: the user's own gradient, a view of the
    // upstream gradient, or one tensor handed to two inputs must not become a leaf's .Grad.
    // Returns whether g itself became the leaf's .Grad.
    static bool AccumulateLeaf(Tensor leaf, Tensor g, bool owned)
    {
        if (leaf.Grad is null)
        {
            leaf.Grad = owned ? g : g.Clone();
            return owned;
        }
        leaf.Device.Backend.AddScaledInPlace(leaf.Grad.Storage, g.Storage, 1f);
        return false;
    }

    // Whether ig's storage was made by the backward call that returned it (serial after `before`) and
    // is returned for one input only: then only the engine holds it.
    static bool OwnedByEngine(Tensor ig, Tensor?[] inputGrads, long before)
    {
        if (ig.Storage.Serial <= before || ig.GradFn is not null) return false;
        int uses = 0;
        foreach (var other in inputGrads)
        {
            if (other is not null && ReferenceEquals(other.Storage, ig.Storage)) uses++;
        }
        return uses == 1;
    }

    // Non-leaf tensors reachable from root through inputs that require grad, each after all its inputs.
    static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn!.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.GradFn is not null && visited.Add(child)) stack.Push((child, 0));
            }
            else
            {
                order.Add(t);
            }
        }
        return order;
    }
}
