using Equinox.Tensors;

namespace Equinox;

/// <summary>One tensor as a tree, so the tensor forms of the transformations can reuse their tree forms.</summary>
[Module]
internal sealed partial class TensorBox
{
    /// <summary>The tensor (null: an empty slot, e.g. a zero cotangent).</summary>
    public readonly Tensor? Value;

    public TensorBox(Tensor? value) => Value = value;
}
