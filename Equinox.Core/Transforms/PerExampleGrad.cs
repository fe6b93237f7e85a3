using Equinox.Tensors;

namespace Equinox;

public static partial class Eqx
{
    /// <summary>
    /// Per-example losses and gradients in one batched pass: <c>loss(model, x, y)</c> is written for one example,
    /// and example <c>b</c>'s gradient is that of <c>loss(model, xs[b], ys[b])</c> with respect to the model's
    /// floating-point leaves. Runs as a vmap of functorch's gradient transform (the model is broadcast), so no loop
    /// over examples; each gradient leaf has the batch as its first dimension (null for non-float leaves).
    /// </summary>
    /// <param name="loss">The per-example loss; must return a scalar.</param>
    /// <param name="model">The model, shared by every example.</param>
    /// <param name="xs">Inputs, batched along dimension 0.</param>
    /// <param name="ys">Targets, batched along dimension 0.</param>
    public static (Tensor Losses, TModel Grads) PerExampleValueAndGrad<TModel>(Func<TModel, Tensor, Tensor, Tensor> loss,
        TModel model, Tensor xs, Tensor ys) where TModel : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(model);
        var perExample = FilterVmap((Tensor x, Tensor y) => FunctorchGrad.ValueAndGrad(m => loss(m, x, y), model));
        return perExample(xs, ys);
    }

    /// <summary>
    /// The per-example gradients of <see cref="PerExampleValueAndGrad{TModel}"/> without the losses.
    /// </summary>
    /// <param name="loss">The per-example loss; must return a scalar.</param>
    /// <param name="model">The model, shared by every example.</param>
    /// <param name="xs">Inputs, batched along dimension 0.</param>
    /// <param name="ys">Targets, batched along dimension 0.</param>
    public static TModel PerExampleGrads<TModel>(Func<TModel, Tensor, Tensor, Tensor> loss, TModel model, Tensor xs, Tensor ys)
        where TModel : ITreeNode
    {
        var (losses, grads) = PerExampleValueAndGrad(loss, model, xs, ys);
        losses.Dispose();
        return grads;
    }
}

/// <summary>
/// Reverse-mode gradients through functorch's Grad layer (functorch's <c>grad_and_value</c>): unlike plain autograd,
/// this composes with <see cref="Eqx.FilterVmap{TIn, TOut}(Func{TIn, TOut}, VmapAxes?, VmapAxes?, VmapRandomness, string?, long?)"/>,
/// so inside a vmap each example gets its own gradient. Outside any vmap it gives the ordinary gradient.
/// </summary>
internal static class FunctorchGrad
{
    /// <summary>
    /// The value of scalar <paramref name="f"/> at <paramref name="tree"/> (a tensor or a module) and its gradient
    /// with respect to every floating-point leaf; other leaves get null in the gradient tree.
    /// </summary>
    internal static (Tensor Value, T Grads) ValueAndGrad<T>(Func<T, Tensor> f, T tree, string caller = "PerExampleValueAndGrad")
    {
        var leaves = VmapTrees.Flatten(tree, "the differentiated argument");
        var grads = new Tensor?[leaves.Length];
        Tensor value;
        using (var layer = new Functorch.GradLayer())
        using (var scope = CallScope.Open())
        {
            var wrapped = (Tensor?[])leaves.Clone();
            var inputs = new List<Tensor>();
            var slots = new List<int>();
            for (int i = 0; i < leaves.Length; i++)
            {
                if (leaves[i] is not { } leaf || !leaf.DType.IsInexact()) continue;
                wrapped[i] = layer.Wrap(leaf, requiresGrad: true);
                inputs.Add(wrapped[i]!);
                slots.Add(i);
            }
            var checks = Transforms.ErrorChecks.Recording;
            int checksBefore = checks?.Count ?? 0;
            var output = f((T)VmapTrees.Rebuild(tree, wrapped)!);
            scope.CheckFunctionClosedItsScopes(caller);
            // ErrorIf's codes made inside this layer are wrapped at its level, which is dead once it closes: unwrap
            // them, as the value and the gradients are, so the enclosing FilterVmap can read them.
            for (int c = checksBefore; c < (checks?.Count ?? 0); c++)
                checks![c] = checks[c] with { Code = scope.MoveOut(layer.Unwrap(checks[c].Code)) };
            if (output.Rank != 0)
                throw new ArgumentException(
                    $"The differentiated function must return a scalar (per example, inside a vmap), but it returned " +
                    $"{output.Describe()}; reduce it (e.g. .Mean()) before taking gradients.");
            var g = layer.Grad(output, [.. inputs]);
            for (int k = 0; k < g.Length; k++) grads[slots[k]] = scope.MoveOut(layer.Unwrap(g[k]));
            value = scope.MoveOut(layer.Unwrap(output));
        }
        return (value, (T)VmapTrees.Rebuild(tree, grads)!);
    }
}
