using System.Diagnostics.CodeAnalysis;
using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

// User-written forward-mode rules, Equinox's filter_custom_jvp (JAX's custom_jvp). Inside FilterJvp the rule replaces
// the function's own derivative; under reverse mode its transpose (taken by autograd, the rule being linear in the
// tangents) is the function's backward, so one rule serves both modes as in JAX.
public static partial class Eqx
{
    /// <summary>
    /// A function with a hand-written derivative: <paramref name="jvp"/> gets <c>(primals, tangents)</c> and returns
    /// the output and its tangent, e.g. a numerically stable rule for <c>log(1 + exp(x))</c>:
    /// <c>Eqx.FilterCustomJvp((Tensor x) =&gt; x.Exp().Log1p(), (x, t) =&gt; (x.Exp().Log1p(), t * x.Sigmoid()))</c>.
    /// </summary>
    /// <remarks>
    /// <para>Called plainly, the function runs <paramref name="f"/>. Inside <see cref="FilterJvp{T, TOut}(Func{T, TOut}, T, T)"/>
    /// it runs the rule instead: the primals are the input tree's values and the tangents a tree of the same type with
    /// null where the tangent is zero (integer, bool and null slots, and inputs not being differentiated). When every
    /// tangent is zero the rule is skipped and <paramref name="f"/> runs. The tangent output must have the output's
    /// structure (a tensor, a [Module] or a value tuple of those), each slot its output's shape, dtype and device, or
    /// null for zero.</para>
    /// <para>Under reverse mode (FilterGrad, Autograd.Grad) the gradient is the rule's transpose: the rule must be
    /// linear in the tangents (as every correct JVP is), and autograd differentiates its tangent output with respect
    /// to the tangents to get the vector-Jacobian product. <paramref name="f"/>'s own ops are not differentiated.</para>
    /// <para>Tensors the function captures get no derivative through the rule: pass them in the tree. Not supported,
    /// each with a <see cref="NotSupportedException"/>: use inside <c>FilterVmap</c>, and a second reverse-mode
    /// derivative (a FilterGrad inside a FilterGrad).</para>
    /// </remarks>
    public static Func<T, TOut> FilterCustomJvp<T, [DynamicallyAccessedMembers(Constructors)] TOut>(
        Func<T, TOut> f, Func<T, T, (TOut Output, TOut TangentOutput)> jvp) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(jvp);
        return model => CustomJvpTransform.Apply(model, f, jvp);
    }

    /// <summary>
    /// <see cref="FilterCustomJvp{T, TOut}(Func{T, TOut}, Func{T, T, ValueTuple{TOut, TOut}})"/> for a function of one
    /// tensor: the rule gets the primal and its tangent (never null: with no tangent the rule is not called).
    /// </summary>
    public static Func<Tensor, TOut> FilterCustomJvp<[DynamicallyAccessedMembers(Constructors)] TOut>(
        Func<Tensor, TOut> f, Func<Tensor, Tensor, (TOut Output, TOut TangentOutput)> jvp)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(jvp);
        var tree = FilterCustomJvp<TensorBox, TOut>(box => f(box.Value!), (primals, tangents) => jvp(primals.Value!, tangents.Value!));
        return x => tree(new TensorBox(Tensor.Required(x)));
    }
}

/// <summary>The mechanics of FilterCustomJvp.</summary>
internal static class CustomJvpTransform
{
    private const string Caller = "Eqx.FilterCustomJvp";

    internal static TOut Apply<T, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        T model, Func<T, TOut> f, Func<T, T, (TOut Output, TOut TangentOutput)> jvp) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(model);
        TangentChecks.NotInVmap(Caller);
        if (JvpTransform.Level is { } level) return Forward(model, f, jvp, level);
        return CustomVjpTransform.Apply<T, TOut>(model, m =>
        {
            var output = f(m);
            var saved = Eqx.Flatten(m);
            var skeleton = Eqx.Unflatten(m, new Tensor?[saved.Length]);
            return (output, saved, (primals, cotangent) => Transpose(Eqx.Unflatten(skeleton, primals), cotangent, jvp));
        }, Caller);
    }

    // Inside FilterJvp: the rule on the primals and tangents of the (dual) inputs; its tangent output becomes the
    // output's tangent at the FilterJvp's level.
    private static TOut Forward<T, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        T model, Func<T, TOut> f, Func<T, T, (TOut Output, TOut TangentOutput)> jvp, DualLevel level) where T : ITreeNode
    {
        var slots = Eqx.Flatten(model);
        var primals = (Tensor?[])slots.Clone();
        var tangents = new Tensor?[slots.Length];
        bool any = false;
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] is not { } slot || !slot.DType.IsInexact()) continue;
            (primals[i], tangents[i]) = ForwardAD.UnpackDual(slot, level);
            any |= tangents[i] is not null;
        }
        if (!any) return f(model);

        var (output, tangentOutput) = jvp(Eqx.Unflatten(model, primals), Eqx.Unflatten(model, tangents));
        var outputs = new List<Tensor?>();
        TreeLike.Flatten(output, outputs, $"{Caller}: the rule's output");
        var outputTangents = new List<Tensor?>();
        TreeLike.Flatten(tangentOutput, outputTangents, $"{Caller}: the rule's tangent output");
        List<string>? paths = null;
        if (outputTangents.Count != outputs.Count || tangentOutput is not null && output?.GetType() != tangentOutput.GetType())
            throw new ArgumentException(
                $"{Caller}: the rule's tangent output ({TreeLike.Describe(tangentOutput)}, {outputTangents.Count} tensor " +
                $"slots) does not have the structure of its output ({TreeLike.Describe(output)}, {outputs.Count} slots).");
        var duals = new Tensor?[outputs.Count];
        for (int j = 0; j < duals.Length; j++)
        {
            duals[j] = outputs[j];
            if (outputTangents[j] is not { } t) continue;
            if (TangentChecks.Mismatch(outputs[j], t, (paths ??= TangentChecks.SlotPaths(output, "tangent output"))[j], "tangent", "output") is { } why)
                throw new ArgumentException($"{Caller}: {why}");
            duals[j] = ForwardAD.MakeDual(outputs[j]!, t, level);
        }
        return TreeLike.Rebuild(output, duals, $"{Caller}: the rule's output");
    }

    // Under reverse mode: the cotangent of the inputs is the gradient, with respect to the tangents, of
    // <tangent output, output cotangent> (the rule is linear in the tangents, so this is its transpose).
    private static T Transpose<T, TOut>(T primals, TOut cotangent, Func<T, T, (TOut Output, TOut TangentOutput)> jvp)
        where T : ITreeNode
    {
        var slots = Eqx.Flatten(primals);
        var tangents = new Tensor?[slots.Length];
        var seeds = new List<Tensor>();
        var positions = new List<int>();
        using var grad = Torch.EnableGrad();
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] is not { } p || !p.DType.IsInexact()) continue;
            tangents[i] = p.ZerosLike().WithRequiresGrad();
            seeds.Add(tangents[i]!);
            positions.Add(i);
        }
        var (_, tangentOutput) = jvp(primals, Eqx.Unflatten(primals, tangents));
        var outputTangents = new List<Tensor?>();
        TreeLike.Flatten(tangentOutput, outputTangents, $"{Caller}: the rule's tangent output");
        var cotangents = new List<Tensor?>();
        TreeLike.Flatten(cotangent, cotangents, $"{Caller}: the output cotangent");
        if (outputTangents.Count != cotangents.Count)
            throw new ArgumentException(
                $"{Caller}: the rule's tangent output has {outputTangents.Count} tensor slots but the function's output " +
                $"has {cotangents.Count}; they must have the same structure.");
        Tensor? total = null;
        for (int j = 0; j < cotangents.Count; j++)
        {
            if (outputTangents[j] is not { RequiresGrad: true } t || cotangents[j] is not { } c) continue;
            if (t.Shape != c.Shape)
                throw new ArgumentException(
                    $"{Caller}: the rule's tangent output at slot {j} is {t.Describe()} but the output there is {c.Describe()}.");
            var term = (t * c).Sum();
            total = total is null ? term : total + term;
        }
        var grads = new Tensor?[slots.Length];
        if (total is not null && seeds.Count > 0)
        {
            var computed = Autograd.Grad([total], seeds);
            for (int k = 0; k < computed.Length; k++) grads[positions[k]] = computed[k];
        }
        return Eqx.Unflatten(primals, grads);
    }
}
