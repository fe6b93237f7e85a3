using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// The common way to call a layer, as Equinox's <c>__call__(x, *, key=None)</c>: every layer in this library is one,
/// and a user's [Module] can be one too, so <see cref="Sequential"/> holds any of them. A layer is written for one
/// example; most also take leading batch dimensions where LibTorch does, and any can be mapped over a batch with
/// <c>Eqx.FilterVmap</c>.
/// </summary>
public interface ILayer : ITreeNode
{
    /// <summary>
    /// Applies the layer to <paramref name="x"/>. <paramref name="key"/> is for random layers (<see cref="Dropout"/>
    /// outside inference mode); the others ignore it.
    /// </summary>
    Tensor Forward(Tensor x, Key? key = null);
}
