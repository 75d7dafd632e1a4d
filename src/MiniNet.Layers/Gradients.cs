// Clearing gradients, shared by Module.ZeroGrad and Optimizer.ZeroGrad.
namespace MiniNet.Layers;

internal static class Gradients
{
    // To null (PyTorch 2.x's default, set_to_none=True), or to zeros in place.
    public static void Clear(IEnumerable<Tensor> parameters, bool setToNone)
    {
        using var _ = Autograd.NoGrad();
        foreach (var p in parameters)
        {
            if (setToNone) p.Grad = null;
            else p.Grad?.ZeroInPlace();
        }
    }
}
