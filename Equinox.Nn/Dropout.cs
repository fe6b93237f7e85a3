using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Zeroes each element with probability <see cref="P"/> and scales the rest by <c>1 / (1 - p)</c>, as
/// <c>torch.nn.Dropout</c>; in inference mode (<see cref="Eqx.InferenceMode{T}"/>) it returns its input. Outside
/// inference mode it needs a key: the same key drops the same elements.
/// </summary>
[Module]
public sealed partial class Dropout : ILayer, IInferenceMode
{
    /// <summary>The probability of zeroing an element.</summary>
    [Static] public readonly double P;

    /// <summary>Whether the layer is in inference mode (then it is the identity).</summary>
    [Static] public readonly bool Inference;

    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1].</exception>
    public Dropout(double p = 0.5, bool inference = false)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), $"Dropout's p is the probability of zeroing an element, so it must be in [0, 1]; got {p}.");
        P = p;
        Inference = inference;
    }

    bool IInferenceMode.Inference => Inference;

    /// <inheritdoc/>
    public IInferenceMode WithInference(bool inference) => new Dropout(P, inference);

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">No key outside inference mode.</exception>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Inference || P == 0) return x.Alias();
        if (key is not { } k)
            throw new ArgumentException(
                $"Dropout(p={P}) needs a key outside inference mode: pass key: (split one per step), or switch the model with Eqx.InferenceMode(model) to evaluate it.",
                nameof(key));
        return Functional.Dropout(x, P, k);
    }
}
