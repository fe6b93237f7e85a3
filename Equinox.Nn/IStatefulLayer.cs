using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// A layer that reads and updates a <see cref="State"/> as it runs (BatchNorm, SpectralNorm), as Equinox's
/// <c>StatefulLayer</c>: it takes the current state and returns the next one with its output. Build the model's
/// first state with <see cref="Eqx.MakeWithState{T}"/>.
/// </summary>
public interface IStatefulLayer : ITreeNode
{
    /// <summary>Applies the layer to <paramref name="x"/> and returns the output and the next state.</summary>
    (Tensor Output, State State) Forward(Tensor x, State state, Key? key = null);
}
