using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// A function as a layer, to put an activation (or any parameter-free step) in a <see cref="Sequential"/>:
/// <c>new Lambda(Activations.Relu)</c>. The function is part of the static structure: pass shared delegate instances
/// (<see cref="Activations"/>) so equal models compare equal and FilterJit's cache hits.
/// </summary>
[Module]
public sealed partial class Lambda : ILayer
{
    /// <summary>The function applied.</summary>
    [Static] public readonly Func<Tensor, Tensor> Function;

    /// <summary>Wraps <paramref name="function"/>.</summary>
    public Lambda(Func<Tensor, Tensor> function) => Function = function ?? throw new ArgumentNullException(nameof(function));

    /// <inheritdoc/>
    public Tensor Forward(Tensor x, Key? key = null) => Function(x);
}
