using Equinox.Tensors;

namespace Equinox;

// Non-trainable tensors (PyTorch's buffers). Equinox has no buffer registry: a module's frozen tensor is an ordinary
// leaf that the forward wraps in StopGradient, so no gradient reaches it and FilterGrad gives null in its slot.
public static partial class Eqx
{
    /// <summary>
    /// The same values with the gradient cut: nothing is differentiated through the result (JAX's
    /// <c>lax.stop_gradient</c>). Use it in a forward for a buffer, a tensor that must not train:
    /// <c>return Param * x + Eqx.StopGradient(Buffer);</c> — <see cref="FilterGrad{T}(Func{T, Tensor})"/> then gives
    /// null for <c>Buffer</c>, and an optimiser leaves it alone.
    /// </summary>
    /// <remarks>
    /// The other way to freeze tensors is from outside the model: <see cref="Partition{T}(T, Func{Tensors.Tensor, bool})"/> it into the part to train
    /// and the rest, differentiate a function of the first part, and <see cref="Combine{T}"/> the two inside it. That
    /// suits freezing whole layers chosen by the caller; StopGradient suits tensors that are never trained. The result
    /// shares memory with <paramref name="x"/>.
    /// </remarks>
    public static Tensor StopGradient(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Detach();
    }

    /// <summary>
    /// <paramref name="tree"/> with the gradient cut at every tensor (see <see cref="StopGradient(Tensor)"/>): a frozen
    /// copy of a module, e.g. a target network, that shares memory with the original. Null slots stay null.
    /// </summary>
    public static T StopGradient<T>(T tree) where T : ITreeNode => TreeMap(tree, t => t.Detach());
}
