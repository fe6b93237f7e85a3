using System.Diagnostics.CodeAnalysis;
using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

// Forward-mode derivatives, Equinox's filter_jvp, on LibTorch's forward-mode AD (dual tensors).
public static partial class Eqx
{
    /// <summary>
    /// The output of <paramref name="f"/> at <paramref name="primals"/> and its directional derivative along
    /// <paramref name="tangents"/> (a Jacobian-vector product), in one forward pass:
    /// <c>var (y, dy) = Eqx.FilterJvp((Mlp m) =&gt; m.Forward(x), model, direction);</c>.
    /// </summary>
    /// <remarks>
    /// <para><paramref name="tangents"/> is a tree of the model's type, like a gradient tree: each slot is the
    /// tangent of the model's tensor there, with its shape, dtype and device, or null for a zero tangent (integer,
    /// bool and null slots must be null). <c>Eqx.TreeMap(model, t =&gt; t.ZerosLike())</c> builds one to fill in.</para>
    /// <para>The result has the structure of <paramref name="f"/>'s result (a tensor, a module, or a value tuple of
    /// those): the output, and the output's tangent, which is zeros for a floating-point output that does not depend
    /// on the tangents and null for an integer or bool one. Tensors <paramref name="f"/> captures get a zero tangent.</para>
    /// <para>Runs on LibTorch's forward-mode AD: every op <paramref name="f"/> uses needs a forward formula, which
    /// almost all have (an op without one throws, naming it). Not supported, each with a
    /// <see cref="NotSupportedException"/>: a FilterJvp inside another (LibTorch 1.13 has one forward-AD level at a
    /// time), inside <c>FilterVmap</c>, and a <see cref="FilterCustomVjp{T, TOut}(Func{T, TOut}, Func{T, TOut, TOut, T})"/>
    /// function inside it (a custom VJP has no forward rule; write a <see cref="FilterCustomJvp{T, TOut}"/>).</para>
    /// </remarks>
    public static (TOut Output, TOut TangentOutput) FilterJvp<T, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        Func<T, TOut> f, T primals, T tangents) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(primals);
        ArgumentNullException.ThrowIfNull(tangents);
        if (StructureDifference(primals, tangents) is { } difference)
            throw new ArgumentException(
                $"Eqx.FilterJvp: the tangents do not have the structure of the primals: {difference}. Build them from " +
                "the primals, e.g. `Eqx.TreeMap(primals, t => t.ZerosLike())`, and set the slots to differentiate.",
                nameof(tangents));
        var primalSlots = Flatten(primals);
        TreePath[]? paths = null;
        return JvpTransform.Run(primalSlots, Flatten(tangents),
            duals => f(Unflatten(primals, duals)),
            i => TangentChecks.Join("tangents", (paths ??= LeafPaths(primals))[i].ToString()));
    }

    /// <summary>
    /// <see cref="FilterJvp{T, TOut}(Func{T, TOut}, T, T)"/> of a function of one tensor:
    /// <c>var (y, dy) = Eqx.FilterJvp((Tensor x) =&gt; x.Sin(), x, v);</c> gives <c>sin(x)</c> and <c>cos(x) * v</c>.
    /// </summary>
    public static (TOut Output, TOut TangentOutput) FilterJvp<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        Func<Tensor, TOut> f, Tensor primal, Tensor tangent)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(primal);
        ArgumentNullException.ThrowIfNull(tangent);
        return JvpTransform.Run([primal], [tangent], duals => f(duals[0]!), _ => "tangent");
    }
}

/// <summary>The mechanics of FilterJvp.</summary>
internal static class JvpTransform
{
    private const string Caller = "Eqx.FilterJvp";

    /// <summary>The dual level of the FilterJvp running on this thread, if any.</summary>
    internal static DualLevel? Level => TransformContext.Current.JvpLevel;

    internal static (TOut Output, TOut TangentOutput) Run<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(Tensor?[] primals, Tensor?[] tangents, Func<Tensor?[], TOut> call,
        Func<int, string> path)
    {
        TangentChecks.NotInVmap(Caller);
        if (Level is not null)
            throw new NotSupportedException(
                "Eqx.FilterJvp inside another Eqx.FilterJvp is not supported: LibTorch 1.13's forward-mode AD has one " +
                "level at a time (\"Nested forward mode AD is not supported\"). Compute the inner derivative first, or " +
                "take a Hessian-vector product as the FilterJvp of a FilterGrad.");
        for (int i = 0; i < primals.Length; i++)
            if (tangents[i] is { } t && TangentChecks.Mismatch(primals[i], t, path(i), "tangent", "primal") is { } why)
                throw new ArgumentException($"{Caller}: {why}", "tangents");

        using var scope = CallScope.Open();
        TOut output;
        var outPrimals = new List<Tensor?>();
        var outTangents = new List<Tensor?>();
        using (var level = ForwardAD.Enter())
        {
            var duals = new Tensor?[primals.Length];
            for (int i = 0; i < duals.Length; i++)
                duals[i] = tangents[i] is { } t ? ForwardAD.MakeDual(primals[i]!, t, level) : primals[i];
            using (TransformContext.Install(TransformContext.Current with { JvpLevel = level }))
                output = call(duals);
            scope.CheckFunctionClosedItsScopes(Caller);

            var slots = new List<Tensor?>();
            TreeLike.Flatten(output, slots, $"{Caller}: the function's result");
            foreach (var slot in slots)
            {
                if (slot is null)
                {
                    outPrimals.Add(null);
                    outTangents.Add(null);
                    continue;
                }
                var (primal, tangent) = ForwardAD.UnpackDual(slot, level);
                outPrimals.Add(primal);
                outTangents.Add(primal.DType.IsInexact() ? tangent ?? primal.ZerosLike() : null);
            }
        }
        foreach (var t in outPrimals) scope.Tensors.MoveOut(t);
        foreach (var t in outTangents) scope.Tensors.MoveOut(t);
        var what = $"{Caller}: the function's result";
        return (TreeLike.Rebuild(output, [.. outPrimals], what), TreeLike.Rebuild(output, [.. outTangents], what));
    }
}
