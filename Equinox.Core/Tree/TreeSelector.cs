using System.Linq.Expressions;
using System.Reflection;

namespace Equinox;

/// <summary>
/// Reads a selector lambda such as <c>m =&gt; m.Layers[0].Bias</c> into a <see cref="TreePath"/>, and follows paths
/// through a tree. Only member and index accesses are read; the expression is never compiled.
/// </summary>
internal static class TreeSelector
{
    /// <summary>The paths a selector names: one, or one per element of a <c>new[] { ... }</c> body.</summary>
    public static TreePath[] Paths(LambdaExpression selector)
    {
        if (selector.Body is NewArrayExpression { NodeType: ExpressionType.NewArrayInit } array)
            return array.Expressions.Select(e => Path(e, selector)).ToArray();
        return [Path(selector.Body, selector)];
    }

    /// <summary>The path of a single selector body.</summary>
    public static TreePath Path(Expression body, LambdaExpression selector) =>
        TryPath(body, selector, out var stop) ?? throw Unsupported(stop!, body, selector);

    /// <summary>
    /// The path of a selector body that is a chain of member and index accesses; null for anything else, with
    /// <paramref name="stop"/> the part that is not.
    /// </summary>
    public static TreePath? TryPath(Expression body, LambdaExpression selector, out Expression? stop)
    {
        stop = null;
        var steps = new List<TreeStep>();
        var node = body;
        while (true)
        {
            switch (node)
            {
                case ParameterExpression parameter when parameter == selector.Parameters[0]:
                    steps.Reverse();
                    return new TreePath(steps.ToArray());
                case UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked or ExpressionType.TypeAs } cast:
                    node = cast.Operand;
                    break;
                case MemberExpression { Expression: not null } member:
                    steps.Add(TreeStep.Member(member.Member.Name));
                    node = member.Expression;
                    break;
                case BinaryExpression { NodeType: ExpressionType.ArrayIndex } index when IsIndex(index.Right):
                    steps.Add(Step(index.Right, body, selector));
                    node = index.Left;
                    break;
                case MethodCallExpression { Method.Name: "get_Item", Object: not null, Arguments.Count: 1 } call when IsIndex(call.Arguments[0]):
                    steps.Add(Step(call.Arguments[0], body, selector));
                    node = call.Object;
                    break;
                case BinaryExpression { NodeType: ExpressionType.ArrayIndex } index:
                    stop = index.Right;
                    return null;
                case MethodCallExpression { Method.Name: "get_Item", Object: not null, Arguments.Count: 1 } call:
                    stop = call.Arguments[0];
                    return null;
                default:
                    stop = node;
                    return null;
            }
        }
    }

    // An index that can be read without compiling: a constant or a captured variable.
    private static bool IsIndex(Expression index) => index switch
    {
        ConstantExpression => true,
        UnaryExpression { NodeType: ExpressionType.Convert } cast => IsIndex(cast.Operand),
        MemberExpression { Member: FieldInfo or PropertyInfo } member => member.Expression is null || IsIndex(member.Expression),
        _ => false,
    };

    private static TreeStep Step(Expression index, Expression body, LambdaExpression selector) => Evaluate(index, body, selector) switch
    {
        int i => TreeStep.At(i),
        string key => TreeStep.Key(key),
        var other => throw new ArgumentException(
            $"The selector {selector} indexes with {other ?? "null"}; only int list indices and string dictionary keys can select a node."),
    };

    // Indices are constants or captured variables (fields of the closure object); nothing is compiled.
    private static object? Evaluate(Expression index, Expression body, LambdaExpression selector) => index switch
    {
        ConstantExpression constant => constant.Value,
        UnaryExpression { NodeType: ExpressionType.Convert } cast => Evaluate(cast.Operand, body, selector),
        MemberExpression { Member: FieldInfo field } member => field.GetValue(member.Expression is null ? null : Evaluate(member.Expression, body, selector)),
        MemberExpression { Member: PropertyInfo property } member => property.GetValue(member.Expression is null ? null : Evaluate(member.Expression, body, selector)),
        _ => throw Unsupported(index, body, selector),
    };

    private static ArgumentException Unsupported(Expression part, Expression body, LambdaExpression selector) => new(
        $"The selector `{selector}` cannot be followed: `{part}` is not a member or index access. " +
        $"A selector is a chain of member and index accesses from its parameter, like `m => m.Layers[0].Bias`; " +
        $"to select several nodes, return an array of such chains: `m => new[] {{ m.Head.Weight, m.Embedding.Weight }}`.",
        nameof(selector));

    /// <summary>The node at <paramref name="path"/> in <paramref name="root"/>.</summary>
    public static object? Get(object? root, TreePath path)
    {
        var steps = path.Steps;
        object? node = root;
        for (int i = 0; i < steps.Count; i++)
        {
            var owner = AsNode(node, path, i);
            var member = steps[i].Name!;
            if (i + 1 < steps.Count && steps[i + 1].Kind != TreeStepKind.Member)
            {
                node = owner.TreeGetItem(member, steps[i + 1]);
                i++;
            }
            else
            {
                node = owner.TreeGetChild(member);
            }
        }
        return node;
    }

    /// <summary>A copy of <paramref name="root"/> with the node at <paramref name="path"/> replaced by <paramref name="replace"/> of it.</summary>
    public static object? Replace(object? root, TreePath path, Func<object?, object?> replace) =>
        Replace(root, path, 0, replace);

    private static object? Replace(object? node, TreePath path, int i, Func<object?, object?> replace)
    {
        var steps = path.Steps;
        if (i == steps.Count) return replace(node);
        var owner = AsNode(node, path, i);
        var member = steps[i].Name!;
        if (i + 1 < steps.Count && steps[i + 1].Kind != TreeStepKind.Member)
        {
            var key = steps[i + 1];
            var item = owner.TreeGetItem(member, key);
            return owner.TreeWithItem(member, key, Replace(item, path, i + 2, replace));
        }
        var child = owner.TreeGetChild(member);
        return owner.TreeWithChild(member, Replace(child, path, i + 1, replace));
    }

    private static ITreeNode AsNode(object? node, TreePath path, int i)
    {
        var step = path.Steps[i];
        if (step.Kind != TreeStepKind.Member)
            throw new NotSupportedException(
                $"The path {path} indexes into a collection that sits directly in another collection; " +
                "nested collections cannot be selected. Wrap the inner collection in a [Module].");
        if (node is ITreeNode owner) return owner;
        var where = i == 0 ? "the root" : new TreePath(path.Steps.Take(i).ToArray()).ToString();
        throw new ArgumentException(node is null
            ? $"Cannot follow {path}: {where} is null, so it has no member {step.Name}."
            : $"Cannot follow {path}: {where} is a {node.GetType().Name}, not a module.");
    }
}
