using Equinox.Tensors;

namespace Equinox;

public static partial class Eqx
{
    /// <summary>
    /// The children of <paramref name="node"/> one level down, as Equinox's <c>tree_flatten_one_level</c>: each child
    /// member in declaration order (base class first) with its value — a tensor, a module, a collection (the array,
    /// <c>ImmutableArray</c>, list or dictionary itself) or null. Static fields are not children.
    /// <see cref="TreeUnflattenOneLevel{T}"/> puts changed children back.
    /// </summary>
    public static IReadOnlyList<(string Member, object? Value)> TreeFlattenOneLevel(ITreeNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var members = new MemberNames();
        node.TreeVisit(members);
        var children = new (string, object?)[members.Names.Count];
        for (int i = 0; i < children.Length; i++) children[i] = (members.Names[i], node.TreeGetChild(members.Names[i]));
        return children;
    }

    /// <summary>
    /// A copy of <paramref name="like"/> whose children are <paramref name="children"/>, in the order
    /// <see cref="TreeFlattenOneLevel"/> gives them; the static part is kept. Each child must have its member's type
    /// (a tensor for a tensor slot, a module of the member's type, a collection of the member's type, or null).
    /// </summary>
    /// <exception cref="ArgumentException">The count differs from the node's number of children, or a child has the
    /// wrong type for its member (the message names the member and both types).</exception>
    public static T TreeUnflattenOneLevel<T>(T like, IReadOnlyList<object?> children) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(like);
        ArgumentNullException.ThrowIfNull(children);
        var members = new MemberNames();
        like.TreeVisit(members);
        if (members.Names.Count != children.Count)
            throw new ArgumentException(
                $"TreeUnflattenOneLevel got {children.Count} children but {TypeNames.CSharp(like.GetType())} has " +
                $"{members.Names.Count} ({string.Join(", ", members.Names)}).", nameof(children));
        ITreeNode result = like;
        for (int i = 0; i < children.Count; i++)
        {
            if (ReferenceEquals(children[i], result.TreeGetChild(members.Names[i]))) continue;
            result = result.TreeWithChild(members.Names[i], children[i]);
        }
        return (T)result;
    }

    /// <summary>
    /// Whether <paramref name="x"/> is array-like, as Equinox's <c>is_array_like</c>: a tensor, or a number (bool,
    /// an integer type, <see cref="Half"/>, <see cref="BFloat16"/>, float, double, <see cref="System.Numerics.Complex"/>).
    /// FilterJit treats only tensors as dynamic: a number argument is static, so a changed value compiles again (as a
    /// Python number is static under <c>eqx.filter_jit</c>); pass numbers that change every call as tensors.
    /// </summary>
    public static bool IsArrayLike(object? x) => x is Tensor || IsNumber(x);

    /// <summary>
    /// Whether <paramref name="x"/> is an inexact array-like, as Equinox's <c>is_inexact_array_like</c>: a
    /// floating-point or complex tensor, or a floating-point or complex number.
    /// </summary>
    public static bool IsInexactArrayLike(object? x) =>
        IsInexactTensor(x) || x is float or double or Half or BFloat16 or System.Numerics.Complex;

    private static bool IsNumber(object? x) => x is bool or byte or sbyte or short or ushort or int or uint or long or ulong
        or Half or BFloat16 or float or double or System.Numerics.Complex;

    // The child member names of a module, in declaration order.
    private sealed class MemberNames : ITreeVisitor
    {
        public readonly List<string> Names = new();

        public void Tensor(string member, Tensor? value) => Names.Add(member);

        public void Child(string member, object? value) => Names.Add(member);

        public void Static(string member, object? value)
        {
        }
    }
}
