namespace Equinox;

/// <summary>
/// A module that behaves differently in training and in inference (Dropout, BatchNorm): <see cref="Eqx.InferenceMode{T}"/>
/// switches every such module of a tree in one call. The flag is part of the static structure, so FilterJit compiles
/// each mode once.
/// </summary>
public interface IInferenceMode : ITreeNode
{
    /// <summary>Whether the module is in inference mode.</summary>
    bool Inference { get; }

    /// <summary>A copy of this module with <see cref="Inference"/> set to <paramref name="inference"/>, children unchanged.</summary>
    IInferenceMode WithInference(bool inference);
}

public static partial class Eqx
{
    /// <summary>
    /// <paramref name="tree"/> with every <see cref="IInferenceMode"/> module (at any depth) switched to inference
    /// (<paramref name="value"/> true: Dropout off, BatchNorm reading its running statistics) or back to training,
    /// as Equinox's <c>nn.inference_mode</c>. The tensors are shared, not copied.
    /// </summary>
    public static T InferenceMode<T>(T tree, bool value = true) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        var paths = new List<TreePath>();
        TreeWalk.Walk(tree, TreePath.Root, (place, node) =>
        {
            if (node is IInferenceMode module && module.Inference != value) paths.Add(place.Path);
        });
        object result = tree;
        // Deepest first, so an outer module is rebuilt around inner ones already switched.
        foreach (var path in paths.OrderByDescending(p => p.Steps.Count))
            result = TreeSelector.Replace(result, path, node => ((IInferenceMode)node!).WithInference(value))!;
        return (T)result;
    }
}
