using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>The layer that returns its input (as a new handle, so callers may dispose results uniformly).</summary>
[Module]
public sealed partial class Identity : ILayer
{
    /// <summary>Creates the layer; it has no parameters.</summary>
    public Identity()
    {
    }

    /// <inheritdoc/>
    public Tensor Forward(Tensor x, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Alias();
    }
}
