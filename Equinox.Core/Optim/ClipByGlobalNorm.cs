using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// Scales the gradients so that their global L2 norm (over every leaf together) is at most <see cref="MaxNorm"/>, as
/// <c>torch.nn.utils.clip_grad_norm_</c>: every gradient is multiplied by <c>min(1, maxNorm / (norm + 1e-6))</c>,
/// computed on the device. Put it first in a <see cref="Chain"/>: <c>new Chain(new ClipByGlobalNorm(1), new Adam(1e-3))</c>.
/// </summary>
public sealed class ClipByGlobalNorm : IGradientTransformation
{
    /// <summary>Creates the transformation.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not a positive finite number.</exception>
    public ClipByGlobalNorm(double maxNorm)
    {
        if (!(double.IsFinite(maxNorm) && maxNorm > 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), $"maxNorm must be a positive finite number, got {maxNorm}.");
        MaxNorm = maxNorm;
    }

    /// <summary>The largest global norm let through.</summary>
    public double MaxNorm { get; }

    /// <inheritdoc/>
    public OptimizerState<T> Init<T>(T parameters) where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var leaves = Eqx.Flatten(parameters);
        Optimizer.Trained(nameof(ClipByGlobalNorm), parameters, leaves);
        return new OptimizerState<T>(nameof(ClipByGlobalNorm), Optimizer.NewCount(leaves), ImmutableDictionary<string, T>.Empty, []);
    }

    /// <inheritdoc/>
    public (T Updates, OptimizerState<T> State) Update<T>(T gradients, OptimizerState<T> state, T? parameters = null)
        where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(gradients);
        Optimizer.CheckOwner(nameof(ClipByGlobalNorm), state, []);
        var (clipped, norm) = OptimizerKernels.ClipByGlobalNorm(Eqx.Flatten(gradients), MaxNorm);
        norm.Dispose();
        return (Eqx.Unflatten(gradients, clipped),
            new OptimizerState<T>(state.Owner, state.Count + 1L, state.Slots, state.Parts));
    }

    /// <summary>The global L2 norm of <paramref name="gradients"/> (every leaf together), as a 0-dim float64 tensor.</summary>
    public static Tensor GlobalNorm<T>(T gradients) where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(gradients);
        var (clipped, norm) = OptimizerKernels.ClipByGlobalNorm(Eqx.Flatten(gradients), double.PositiveInfinity);
        foreach (var c in clipped) c?.Dispose();
        return norm;
    }

    /// <inheritdoc/>
    public override string ToString() => $"ClipByGlobalNorm({MaxNorm})";
}
