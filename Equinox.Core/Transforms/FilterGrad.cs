using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

// Gradients with respect to the floating-point leaves of a model, Equinox's filter_grad / filter_value_and_grad.
// The forward runs inside a TensorScope; only the value, the gradients and the aux leave it.
public static partial class Eqx
{
    /// <summary>
    /// Wraps a loss function so that it returns the loss and its gradient with respect to every inexact (floating-point
    /// or complex) tensor of the model: <c>var (loss, grads) = Eqx.FilterValueAndGrad((Mlp m) =&gt; Loss(m, x, y))(model);</c>.
    /// </summary>
    /// <remarks>
    /// <para><c>grads</c> is a tree of the model's type whose slots are the gradients, or null where there is nothing to
    /// differentiate: integer and bool tensors, null slots, and tensors the loss does not use (or uses only through
    /// <see cref="StopGradient(Tensor)"/>). Feed it to an optimiser or to <see cref="ApplyUpdates{T}"/>.</para>
    /// <para>The loss must be a floating-point scalar (a 0-dimensional tensor): reduce a batch with <c>.Mean()</c> or
    /// <c>.Sum()</c> first. Tensors that <paramref name="f"/> creates and does not return are disposed when the call ends.</para>
    /// <para>Gradients nest: called inside another <c>FilterGrad</c>, the result is itself differentiable, so
    /// <c>FilterGrad(m =&gt; FilterGrad(f)(m).W.Sum())</c> is a second derivative. To differentiate only part of a
    /// model, <see cref="Partition{T}(T, Func{Tensors.Tensor, bool})"/> it and differentiate a function of the trainable part.</para>
    /// <para>Inside a <c>FilterVmap</c> the gradient is each example's (as <see cref="PerExampleGrads{TModel}"/>
    /// computes it), and a floating-point leaf the loss does not use gets zeros there rather than null.</para>
    /// </remarks>
    public static Func<T, (Tensor Value, T Grads)> FilterValueAndGrad<T>(Func<T, Tensor> f) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        return model =>
        {
            var (value, _, grads) = GradTransform.Run(model, m => (f(m), (object?)null), nameof(FilterValueAndGrad));
            return (value, grads);
        };
    }

    /// <summary>
    /// The gradient alone of <see cref="FilterValueAndGrad{T}(Func{T, Tensor})"/>: a tree of the model's type holding
    /// the gradient of each inexact tensor (null where nothing is differentiated).
    /// </summary>
    public static Func<T, T> FilterGrad<T>(Func<T, Tensor> f) where T : ITreeNode
    {
        var valueAndGrad = FilterValueAndGrad(f);
        return model => valueAndGrad(model).Grads;
    }

    /// <summary>
    /// JAX's <c>has_aux=True</c>: <paramref name="f"/> returns the loss together with any auxiliary value (metrics,
    /// predictions, a new state), which comes back unchanged next to the loss and the gradients:
    /// <c>var (loss, accuracy, grads) = Eqx.FilterValueAndGradWithAux((Mlp m) =&gt; (Loss(m), Accuracy(m)))(model);</c>.
    /// </summary>
    /// <remarks>
    /// Only the loss is differentiated. Tensors reachable from the aux (directly, in modules, tuples or collections)
    /// are kept alive past the call; everything else <paramref name="f"/> created is disposed. See
    /// <see cref="FilterValueAndGrad{T}(Func{T, Tensor})"/> for the rules on the loss and the gradients.
    /// </remarks>
    public static Func<T, (Tensor Value, TAux Aux, T Grads)> FilterValueAndGradWithAux<T, TAux>(Func<T, (Tensor Value, TAux Aux)> f)
        where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        return model => GradTransform.Run(model, f, nameof(FilterValueAndGradWithAux));
    }

    /// <summary>
    /// The gradients and the aux of a function returning <c>(loss, aux)</c>, like JAX's <c>grad(f, has_aux=True)</c>:
    /// <c>var (grads, aux) = Eqx.FilterGradWithAux((Mlp m) =&gt; (Loss(m), Predictions(m)))(model);</c>.
    /// </summary>
    public static Func<T, (T Grads, TAux Aux)> FilterGradWithAux<T, TAux>(Func<T, (Tensor Value, TAux Aux)> f) where T : ITreeNode
    {
        var valueAndGrad = FilterValueAndGradWithAux(f);
        return model =>
        {
            var (_, aux, grads) = valueAndGrad(model);
            return (grads, aux);
        };
    }

    // The forms of the model and more arguments are generated: Equinox.Generators/FilterGradArityTemplate.cs.
}

/// <summary>The mechanics shared by every FilterGrad form.</summary>
internal static class GradTransform
{
    /// <summary>Whether a FilterGrad forward is running on this thread (its results must stay differentiable).</summary>
    internal static bool IsRecording => TransformContext.Current.GradDepth > 0;

    internal static (Tensor Value, TAux Aux, T Grads) Run<T, TAux>(T model, Func<T, (Tensor Value, TAux Aux)> f, string caller)
        where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Vmap.IsRunning) return PerExample(model, f, caller);
        var slots = Eqx.Flatten(model);

        // Inside an enclosing gradient (ours, or the caller's own autograd on tensors that already require grad) the
        // gradient is built with create_graph, so the enclosing one can differentiate it again.
        bool createGraph = IsRecording;
        foreach (var slot in slots)
            if (slot is not null && slot.DType.IsInexact() && slot.RequiresGrad) createGraph = true;

        using var scope = CallScope.Open();
        using var gradMode = Torch.EnableGrad();

        // Each inexact slot gets an alias that autograd tracks, so gradients come out per slot even when the same
        // tensor sits in two slots or is also captured by f. A tensor that already requires grad gets a view rather
        // than a new leaf, which keeps it connected to the enclosing gradient (a new leaf would cut it off).
        var traced = (Tensor?[])slots.Clone();
        var inputs = new List<Tensor>();
        var positions = new List<int>();
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] is not { } slot || !slot.DType.IsInexact()) continue;
            var alias = slot.RequiresGrad ? slot.View(slot.Shape)
                : JvpTransform.Level is { } level ? TrackedDual(slot, level) : slot.WithRequiresGrad();
            traced[i] = alias;
            inputs.Add(alias);
            positions.Add(i);
        }

        Tensor value;
        TAux aux;
        using (TransformContext.Install(TransformContext.Current with { GradDepth = TransformContext.Current.GradDepth + 1 }))
            (value, aux) = f(Eqx.Unflatten(model, traced));
        scope.CheckFunctionClosedItsScopes(caller);
        CheckLoss(value, caller);

        var grads = new Tensor?[slots.Length];
        if (inputs.Count > 0 && value.RequiresGrad)
        {
            var computed = Autograd.Grad([value], inputs, retainGraph: createGraph, createGraph: createGraph);
            for (int k = 0; k < computed.Length; k++) grads[positions[k]] = computed[k];
        }

        // At the top level the value is a plain number; nested, it stays differentiable for the enclosing gradient.
        var result = createGraph ? value : value.Detach();
        scope.MoveOut(result);
        scope.MoveOut(grads);
        JitResults.MoveOut(scope.Tensors, aux, what: null); // the aux may be anything: only the tensors found are kept
        return (result, aux, Eqx.Unflatten(model, grads));
    }

    // Inside a FilterJvp a slot may be a dual tensor: a new leaf of its primal, made dual again with its tangent, keeps
    // the tangent flowing through the forward and the backward (forward-over-reverse: Hessian-vector products).
    private static Tensor TrackedDual(Tensor slot, DualLevel level)
    {
        var (primal, tangent) = ForwardAD.UnpackDual(slot, level);
        var leaf = primal.WithRequiresGrad();
        return tangent is null ? leaf : ForwardAD.MakeDual(leaf, tangent, level);
    }

    // Inside a FilterVmap the loss is batched, one value per example, and plain autograd cannot see through functorch's
    // batching (it would find nothing to differentiate and give null gradients). Each example's gradient goes through
    // functorch's Grad layer instead, as Eqx.PerExampleValueAndGrad does, and the enclosing FilterVmap stacks them.
    private static (Tensor Value, TAux Aux, T Grads) PerExample<T, TAux>(T model, Func<T, (Tensor Value, TAux Aux)> f, string caller)
        where T : ITreeNode
    {
        TAux aux = default!;
        var (value, grads) = FunctorchGrad.ValueAndGrad(m =>
        {
            (var loss, aux) = f(m);
            CheckLoss(loss, caller);
            // The aux's tensors would stay wrapped at the Grad layer's level, which is dead once it closes.
            JitResults.ForEachTensor(aux, _ => throw new NotSupportedException(
                $"{caller} inside a FilterVmap cannot return tensors in its aux: per-example gradients run through " +
                "functorch's Grad layer, and Equinox does not yet take an aux's tensors out of it. Compute those tensors " +
                "outside the gradient (in the FilterVmap's function) and return them from there, or use " +
                "Eqx.PerExampleValueAndGrad."));
            return loss;
        }, model, caller);
        return (value, aux, grads);
    }

    private static void CheckLoss(Tensor? value, string caller)
    {
        if (value is null)
            throw new ArgumentException($"{caller}: the function returned null instead of a scalar loss tensor.");
        if (value.Rank != 0)
            throw new ArgumentException(
                $"{caller} differentiates a scalar, but the function returned a tensor of shape {value.Shape} " +
                $"({value.Describe()}). Reduce it to a 0-dimensional loss first, e.g. `loss.Mean()` or `loss.Sum()`.");
        if (!value.DType.IsFloatingPoint())
            throw new ArgumentException(
                $"{caller} differentiates a real floating-point scalar, but the function returned {value.Describe()}. " +
                (value.DType.IsComplex()
                    ? "Take a real part or an absolute value of the complex loss first."
                    : "Compute the loss in floating point, e.g. `loss.To(DType.Float32)`."));
    }
}
