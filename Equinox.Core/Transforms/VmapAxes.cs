using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// Which dimension of each tensor <see cref="Eqx.FilterVmap{TIn, TOut}(Func{TIn, TOut}, VmapAxes?, VmapAxes?, VmapRandomness, string?, long?)"/>
/// maps over, written as a prefix of the arguments (or outputs): one spec applies to everything below it.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>0</c>, <c>1</c>, <c>-1</c> (an <see cref="int"/> converts implicitly): every tensor below is batched along
/// that dimension.</item>
/// <item><see cref="None"/>: nothing below is batched; every example sees the same tensors (broadcast).</item>
/// <item><see cref="Where"/>: the tensors that match a predicate are batched along an axis, the rest are broadcast,
/// e.g. <c>VmapAxes.Where(Eqx.IsInexactTensor, 0)</c>.</item>
/// <item><see cref="Select"/>: any per-leaf rule, from the leaf's path and tensor.</item>
/// <item>A tuple, <c>(0, VmapAxes.None)</c> or <see cref="Tuple"/>: one spec per argument (or per output).</item>
/// </list>
/// Leaving <c>inAxes</c> or <c>outAxes</c> null means <c>0</c>, Equinox's default.
/// </remarks>
public sealed class VmapAxes
{
    private readonly int? axis;
    private readonly Func<Tensor, bool>? predicate;
    private readonly Func<TreePath, Tensor, int?>? select;
    private readonly VmapAxes[]? elements;

    private VmapAxes(int? axis, Func<Tensor, bool>? predicate = null, Func<TreePath, Tensor, int?>? select = null,
        VmapAxes[]? elements = null)
    {
        this.axis = axis;
        this.predicate = predicate;
        this.select = select;
        this.elements = elements;
    }

    /// <summary>Not batched: every example sees these tensors whole (Equinox's <c>None</c>).</summary>
    public static VmapAxes None { get; } = new(null);

    /// <summary>Every tensor below is batched along <paramref name="axis"/> (negative counts from the end).</summary>
    public static VmapAxes Of(int axis) => new(axis);

    /// <summary>Every tensor below is batched along <paramref name="axis"/>.</summary>
    public static implicit operator VmapAxes(int axis) => new(axis);

    /// <summary>Tensors for which <paramref name="predicate"/> holds are batched along <paramref name="axis"/>; the rest are broadcast.</summary>
    public static VmapAxes Where(Func<Tensor, bool> predicate, int axis)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new(axis, predicate: predicate);
    }

    /// <summary>
    /// The axis of each tensor from its path in its argument (<see cref="TreePath.Root"/> for a bare tensor) and
    /// the tensor itself; null means not batched.
    /// </summary>
    public static VmapAxes Select(Func<TreePath, Tensor, int?> axisOf)
    {
        ArgumentNullException.ThrowIfNull(axisOf);
        return new(null, select: axisOf);
    }

    /// <summary>One spec per argument (or output), in order.</summary>
    public static VmapAxes Tuple(params VmapAxes[] elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        foreach (var e in elements) ArgumentNullException.ThrowIfNull(e, nameof(elements));
        return new(null, elements: (VmapAxes[])elements.Clone());
    }

    /// <summary>One spec per argument (or output): <c>inAxes: (0, VmapAxes.None)</c>.</summary>
    public static implicit operator VmapAxes((VmapAxes First, VmapAxes Second) axes) => Tuple(axes.First, axes.Second);

    /// <summary>One spec per argument (or output): <c>inAxes: (0, VmapAxes.None, 1)</c>.</summary>
    public static implicit operator VmapAxes((VmapAxes First, VmapAxes Second, VmapAxes Third) axes) =>
        Tuple(axes.First, axes.Second, axes.Third);

    // Whether this spec maps every tensor the same way, so leaf paths are not needed.
    internal bool NeedsPaths => select is not null;

    /// <summary>The spec of element <paramref name="index"/> of <paramref name="count"/> (arguments or outputs).</summary>
    internal VmapAxes Element(int index, int count, string what)
    {
        if (elements is null) return this;
        if (elements.Length != count)
            throw new ArgumentException(
                $"FilterVmap: {what} has {elements.Length} entries but there are {count} {(what == "inAxes" ? "arguments" : "outputs")}; " +
                $"give one spec per {(what == "inAxes" ? "argument" : "output")}, or a single spec for all of them.");
        return elements[index];
    }

    /// <summary>The axis for one leaf, or null when it is not batched.</summary>
    internal int? AxisFor(Tensor leaf, TreePath? path)
    {
        if (elements is not null)
            throw new ArgumentException("FilterVmap: a tuple of axes was given where a single argument or output is; " +
                                        "tuples describe the argument list (or a tuple of outputs), not one tree.");
        if (select is not null) return select(path ?? TreePath.Root, leaf);
        if (predicate is not null) return predicate(leaf) ? axis : null;
        return axis;
    }

    /// <summary>The spec as it would be written: <c>0</c>, <c>None</c>, <c>Where(...)</c>, <c>(0, None)</c>.</summary>
    public override string ToString() =>
        elements is not null ? $"({string.Join(", ", elements.Select(e => e.ToString()))})"
        : select is not null ? "Select(...)"
        : predicate is not null ? $"Where(..., {axis})"
        : axis?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "None";
}

/// <summary>What random ops see inside <see cref="Eqx.FilterVmap{TIn, TOut}(Func{TIn, TOut}, VmapAxes?, VmapAxes?, VmapRandomness, string?, long?)"/> (functorch's <c>randomness</c>).</summary>
public enum VmapRandomness
{
    /// <summary>A random op on LibTorch's global generator inside the vmap is an error (the default).</summary>
    Error = 0,

    /// <summary>Every example gets the same random values.</summary>
    Same = 1,

    /// <summary>Every example gets different random values.</summary>
    Different = 2,
}
