namespace Equinox;

/// <summary>
/// Thrown when a module is run with a hole (null) in a slot it needs, such as a layer's weight after
/// <c>Eqx.Partition</c>: a filtered tree is a mask for tree functions, not a model to call. The message names the slot
/// and the fix. Layers throw it themselves; throw it from your own modules the same way:
/// <c>if (Weight is null) throw new TreeHoleException("Dense.Weight");</c>
/// </summary>
public sealed class TreeHoleException : InvalidOperationException
{
    /// <summary>The error for the hole at <paramref name="path"/>, such as <c>Linear.Bias</c> or <c>Mlp.Layers[0].Bias</c>.</summary>
    public TreeHoleException(string path)
        : base($"{path} is null, but the module needs it to run. A tree from Eqx.Filter or Eqx.Partition is a mask for " +
               "tree functions, not a model to call: combine it with the other part first (Eqx.Combine(matching, others)), " +
               "or put a tensor in the slot with Eqx.TreeAt.")
    {
        Path = path;
    }

    /// <summary>The slot that holds nothing, as the message names it.</summary>
    public string Path { get; }
}
