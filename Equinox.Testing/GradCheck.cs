using Equinox.Tensors;

namespace Equinox.Testing;

/// <summary>
/// Checks a function's gradients, as <see cref="Eqx.FilterGrad{T}(Func{T, Tensor})"/> computes them, against central
/// finite differences in float64.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Converts every floating-point leaf of <paramref name="tree"/> to float64, takes
    /// <c>Eqx.FilterGrad(f)</c> of the converted tree, and compares each gradient element with the central difference
    /// <c>(f(x + eps·e_i) - f(x - eps·e_i)) / 2eps</c>; it passes when <c>|analytic - numeric| &lt;= atol +
    /// rtol·|numeric|</c> everywhere. <paramref name="f"/> receives float64 leaves, so whatever it combines them with
    /// must be float64 too (<c>x.To(DType.Float64)</c>). Each checked element costs two calls of
    /// <paramref name="f"/>: <paramref name="maxElementsPerLeaf"/> checks that many evenly spaced elements of larger
    /// leaves.
    /// </summary>
    /// <exception cref="TreeAssertionException">A gradient element disagrees; the message names the leaf path, the
    /// index, both values and the difference.</exception>
    /// <exception cref="ArgumentException"><paramref name="f"/> does not return a real scalar.</exception>
    public static void Check<T>(Func<T, Tensor> f, T tree, double eps = 1e-6, double rtol = 1e-4, double atol = 1e-6,
        int maxElementsPerLeaf = int.MaxValue) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(tree);
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be > 0.");
        if (maxElementsPerLeaf < 1) throw new ArgumentOutOfRangeException(nameof(maxElementsPerLeaf), maxElementsPerLeaf, "Check at least one element per leaf.");

        var x = Eqx.TreeMap(tree, t => t.DType.IsInexact() ? t.Detach().To(DType.Float64) : t);
        var analytic = Eqx.FilterGrad(f)(x);
        var leaves = Eqx.LeavesWithPaths(x);
        var grads = Eqx.Flatten(analytic);
        var current = Eqx.Flatten(x);
        for (int leaf = 0; leaf < leaves.Count; leaf++)
        {
            if (leaves[leaf].Leaf is not { } value || !value.DType.IsInexact()) continue;
            string path = TreeAssert.Name(leaves[leaf].Path);
            if (value.DType is DType.Complex64 or DType.Complex128)
                throw new NotSupportedException($"GradCheck does not check complex leaves yet ({path}: {TreeAssert.Describe(value)}).");
            double[] point = TreeAssert.Values(value);
            double[] gradient = grads[leaf] is { } g ? TreeAssert.Values(g) : new double[point.Length];
            long stride = Math.Max(1, (point.Length + maxElementsPerLeaf - 1) / maxElementsPerLeaf);
            for (long i = 0; i < point.Length; i += stride)
            {
                double numeric = (Evaluate(f, x, current, leaf, point, i, +eps) - Evaluate(f, x, current, leaf, point, i, -eps)) / (2 * eps);
                double difference = Math.Abs(gradient[i] - numeric);
                if (!(difference <= atol + rtol * Math.Abs(numeric)))
                    throw new TreeAssertionException(
                        $"The gradient of {path} ({TreeAssert.Describe(value)}) at {TreeAssert.Index(i, value.Shape)} is " +
                        $"{TreeAssert.Number(gradient[i])} by FilterGrad but {TreeAssert.Number(numeric)} by central differences " +
                        $"(eps={TreeAssert.Number(eps)}); the difference {TreeAssert.Number(difference)} exceeds atol + rtol·|numeric| " +
                        $"(rtol={TreeAssert.Number(rtol)}, atol={TreeAssert.Number(atol)}).");
            }
        }
    }

    private static double Evaluate<T>(Func<T, Tensor> f, T like, Tensor?[] leaves, int leaf, double[] point, long index, double step)
        where T : ITreeNode
    {
        using var scope = Torch.Scope();
        using var noGrad = Torch.NoGrad();
        var moved = (double[])point.Clone();
        moved[index] += step;
        var swapped = (Tensor?[])leaves.Clone();
        swapped[leaf] = Tensor.FromArray(moved, leaves[leaf]!.Shape.ToArray()).To(leaves[leaf]!.Device);
        var value = f(Eqx.Unflatten(like, swapped));
        if (value.Shape.Rank != 0 || !value.DType.IsInexact())
            throw new ArgumentException($"GradCheck needs f to return a real scalar; it returned {TreeAssert.Describe(value)}.", nameof(f));
        return value.To(DType.Float64).Item<double>();
    }
}
