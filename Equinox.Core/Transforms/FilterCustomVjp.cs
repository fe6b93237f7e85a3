using System.Diagnostics.CodeAnalysis;
using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

// User-written reverse-mode rules, Equinox's filter_custom_vjp (JAX's custom_vjp), as a LibTorch autograd node whose
// backward calls C# (Native/src/custom_function.cpp, Torch/CustomBackward.cs).
public static partial class Eqx
{
    private const DynamicallyAccessedMemberTypes Constructors = DynamicallyAccessedMemberTypes.PublicConstructors;

    /// <summary>
    /// A function with a hand-written gradient: <paramref name="forward"/> computes the output and the residuals the
    /// rule needs, and <paramref name="backward"/> turns the residuals and the output's cotangent into the cotangent
    /// of the input tree: <c>var f = Eqx.FilterCustomVjp((Params p) =&gt; (Op(p), p.X), (Tensor x, Tensor ct) =&gt; new Params(ct * Rule(x)));</c>.
    /// </summary>
    /// <remarks>
    /// <para>Gradients (<c>FilterGrad</c>, <c>Autograd.Grad</c>) flow to the inexact tensors of the input tree through
    /// <paramref name="backward"/> only: <paramref name="forward"/> runs without recording, so what it does inside is
    /// never differentiated, and tensors it captures from outside get no gradient (pass them in the tree).</para>
    /// <para>The output and the residuals may be a tensor, a [Module] or a value tuple of those. The rule receives the
    /// output's cotangent in the output's structure (zeros for an output nobody used, null for an integer one) and
    /// returns a tree of the input's type, like a gradient tree: null slots are zero, and every other slot must have its
    /// input's shape, dtype and device (a mismatch throws naming the slot's path).</para>
    /// <para>An exception in <paramref name="backward"/> comes out of the gradient call that ran it, as it was thrown;
    /// the process and the thread's scopes are unharmed. The rule is kept with the output's autograd graph and released
    /// with it: nothing stays behind per call.</para>
    /// <para>Not supported, each with a <see cref="NotSupportedException"/>: differentiating the rule again
    /// (a gradient built with create_graph, e.g. a FilterGrad inside a FilterGrad), using the function inside
    /// <see cref="FilterJvp{T, TOut}(Func{T, TOut}, T, T)"/> (write a <see cref="FilterCustomJvp{T, TOut}"/>) or inside
    /// <c>FilterVmap</c>. Inside <c>FilterJit</c> it runs like any other op.</para>
    /// </remarks>
    public static Func<T, TOut> FilterCustomVjp<T, [DynamicallyAccessedMembers(Constructors)] TOut, [DynamicallyAccessedMembers(Constructors)] TResiduals>(
        Func<T, (TOut Output, TResiduals Residuals)> forward, Func<TResiduals, TOut, T> backward) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(backward);
        const string caller = "Eqx.FilterCustomVjp";
        return model => CustomVjpTransform.Apply<T, TOut>(model, m =>
        {
            var (output, residuals) = forward(m);
            var saved = new List<Tensor?>();
            TreeLike.Flatten(residuals, saved, $"{caller}: the residuals");
            return (output, [.. saved], (tensors, cotangent) =>
                backward(TreeLike.Rebuild(residuals, tensors, $"{caller}: the residuals"), cotangent));
        }, caller);
    }

    /// <summary>
    /// A function with a hand-written gradient whose rule reads the inputs and the output directly:
    /// <paramref name="backward"/> gets <c>(inputs, output, outputCotangent)</c> and returns the input tree's cotangent,
    /// e.g. <c>Eqx.FilterCustomVjp((Tensor x) =&gt; x.Exp(), (x, y, ct) =&gt; ct * y)</c> for a tensor input. See
    /// <see cref="FilterCustomVjp{T, TOut, TResiduals}"/> for the rules.
    /// </summary>
    public static Func<T, TOut> FilterCustomVjp<T, [DynamicallyAccessedMembers(Constructors)] TOut>(
        Func<T, TOut> f, Func<T, TOut, TOut, T> backward) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(backward);
        return model => CustomVjpTransform.Apply(model, CustomVjpTransform.SavingInputsAndOutput(f, backward), "Eqx.FilterCustomVjp");
    }

    /// <summary>
    /// <see cref="FilterCustomVjp{T, TOut}(Func{T, TOut}, Func{T, TOut, TOut, T})"/> for a function of one tensor:
    /// <c>var exp = Eqx.FilterCustomVjp((Tensor x) =&gt; x.Exp(), (x, y, ct) =&gt; ct * y);</c>. The rule returns the
    /// input's cotangent (null for zero).
    /// </summary>
    public static Func<Tensor, TOut> FilterCustomVjp<[DynamicallyAccessedMembers(Constructors)] TOut>(
        Func<Tensor, TOut> f, Func<Tensor, TOut, TOut, Tensor?> backward)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(backward);
        var tree = FilterCustomVjp<TensorBox, TOut>(box => f(box.Value!),
            (box, output, cotangent) => new TensorBox(backward(box.Value!, output, cotangent)));
        return x => tree(new TensorBox(Tensor.Required(x)));
    }
}

/// <summary>The mechanics of FilterCustomVjp (and of FilterCustomJvp outside a FilterJvp).</summary>
internal static class CustomVjpTransform
{
    /// <summary>
    /// What a forward gives the transformation: the output, the tensors the node keeps for the rule, and the rule for
    /// this call, which gets the node's copies of those tensors and the output's cotangent.
    /// </summary>
    internal delegate (TOut Output, Tensor?[] Saved, Func<Tensor?[], TOut, T> Backward) SavingForward<T, TOut>(T model);

    /// <summary>The forward of the two-function form: the rule reads the inputs and the output.</summary>
    internal static SavingForward<T, TOut> SavingInputsAndOutput<T, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        Func<T, TOut> f, Func<T, TOut, TOut, T> backward) where T : ITreeNode => model =>
    {
        var output = f(model);
        var saved = new List<Tensor?>(Eqx.Flatten(model));
        int inputCount = saved.Count;
        TreeLike.Flatten(output, saved, "Eqx.FilterCustomVjp: the function's output");
        var skeleton = Eqx.Unflatten(model, new Tensor?[inputCount]);
        return (output, [.. saved], (tensors, cotangent) => backward(
            Eqx.Unflatten(skeleton, tensors.AsSpan(0, inputCount)),
            TreeLike.Rebuild(output, tensors.AsSpan(inputCount), "Eqx.FilterCustomVjp: the function's output"),
            cotangent));
    };

    private sealed record SlotInfo(DType DType, TensorShape Shape, Device Device)
    {
        public string Describe() => $"{DType.ShortName()}[{Shape.Join(",")}]{(Device.Type == DeviceType.Cpu ? "" : "@" + Device)}";
    }

    internal static TOut Apply<T, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        T model, SavingForward<T, TOut> forward, string caller) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(model);
        TangentChecks.NotInVmap(caller);
        if (JvpTransform.Level is not null)
            throw new NotSupportedException(
                $"{caller} inside Eqx.FilterJvp is not supported: a custom VJP rule gives reverse-mode derivatives only, " +
                "and forward mode cannot be derived from it. Write the function with Eqx.FilterCustomJvp instead (its rule " +
                "serves both modes), or differentiate it with Eqx.FilterGrad.");
        var slots = Eqx.Flatten(model);
        var inputs = new Tensor?[slots.Length];
        var metadata = new SlotInfo?[slots.Length];
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] is not { } slot || !slot.DType.IsInexact()) continue;
            inputs[i] = slot;
            metadata[i] = new SlotInfo(slot.DType, slot.Shape, slot.Device);
        }

        using var scope = CallScope.Open();
        TOut output;
        Tensor?[] saved;
        Func<Tensor?[], TOut, T> backward;
        using (Torch.NoGrad())
            (output, saved, backward) = forward(model);
        scope.CheckFunctionClosedItsScopes(caller);
        var outputSlots = new List<Tensor?>();
        TreeLike.Flatten(output, outputSlots, $"{caller}: the function's output");

        // The rule keeps no tensor of this call (they are freed when its scope ends; the node holds its own
        // references to the saved ones), only their structure.
        var skeleton = Eqx.Unflatten(model, new Tensor?[slots.Length]);
        TreePath[]? paths = null;
        var outputTemplate = output;
        Tensor?[] Rule(Tensor?[] cotangents, Tensor?[] savedTensors)
        {
            if (Torch.IsGradEnabled)
                throw new NotSupportedException(
                    $"{caller}: differentiating a custom rule again (a gradient built with create_graph, such as a " +
                    "FilterGrad inside a FilterGrad) is not supported: the rule's forward ran without recording, so a " +
                    "second derivative through it would be wrong. Take the outer derivative of a function without a " +
                    "custom rule, or write the second-order rule by hand.");
            var cotangent = TreeLike.Rebuild(outputTemplate, cotangents, $"{caller}: the output cotangent");
            var grads = backward(savedTensors, cotangent);
            return CheckCotangents(skeleton, grads, metadata, () => paths ??= Eqx.LeafPaths(skeleton), caller);
        }

        var wrapped = CustomBackward.Attach(inputs, [.. outputSlots], saved, Rule, caller);
        scope.Tensors.MoveOut(wrapped);
        return TreeLike.Rebuild(output, wrapped, $"{caller}: the function's output");
    }

    private static Tensor?[] CheckCotangents<T>(T skeleton, T? grads, SlotInfo?[] inputs, Func<TreePath[]> paths, string caller)
        where T : ITreeNode
    {
        if (grads is null)
            throw new ArgumentException(
                $"{caller}: the backward rule returned null. Return a tree of the input's type whose slots are the " +
                "cotangents, with null slots where the cotangent is zero.");
        if (Eqx.StructureDifference(skeleton, grads) is { } difference)
            throw new ArgumentException(
                $"{caller}: the backward rule returned a tree whose structure differs from the input's: {difference}. " +
                "Build the cotangent tree from the inputs (e.g. Eqx.TreeMap(inputs, ...)).");
        var slots = Eqx.Flatten(grads);
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] is not { } g) continue;
            string Path() => TangentChecks.Join("cotangent", paths()[i].ToString());
            if (inputs[i] is not { } info)
                throw new ArgumentException(
                    $"{caller}: the backward rule returned {g.Describe()} as the cotangent at {Path()}, but the input " +
                    "there is null or not floating-point, so it has no cotangent; return null there.");
            if (g.DType != info.DType || g.Shape != info.Shape || g.Device != info.Device)
                throw new ArgumentException(
                    $"{caller}: the backward rule returned {g.Describe()} as the cotangent at {Path()}, but the input " +
                    $"there is {info.Describe()}; a cotangent must have its input's shape, dtype and device (null for zero).");
        }
        return slots;
    }
}
