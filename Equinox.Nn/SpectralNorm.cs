using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Spectral normalisation, as Equinox's <c>nn.SpectralNorm</c>: runs <see cref="Layer"/> with one of its weights
/// divided by (an estimate of) its largest singular value σ. The weight is read as a matrix <c>[out, rest]</c>, and σ
/// is estimated as <c>uᵀ W v</c> by power iteration (<c>u ← W v / ‖W v‖</c>, then <c>v ← Wᵀ u / ‖Wᵀ u‖</c>), whose
/// vectors live in a <see cref="State"/> and move <see cref="NumPowerIterations"/> steps on every call outside
/// inference mode. This is also what <c>torch.nn.utils.parametrizations.spectral_norm</c> computes (the older
/// <c>torch.nn.utils.spectral_norm</c> steps v before u). The gradient flows through the weight in σ, not through
/// the power iteration.
/// </summary>
/// <typeparam name="TLayer">The wrapped layer: a <see cref="Linear"/>, a convolution, or any layer with a weight of rank 2 or more.</typeparam>
[Module]
public sealed partial class SpectralNorm<TLayer> : IStatefulLayer, IInferenceMode where TLayer : class, ILayer
{
    /// <summary>The wrapped layer, holding the weight before normalisation (the one that is trained).</summary>
    public readonly TLayer Layer;

    /// <summary>Where the power-iteration vectors <c>(u [out], v [rest])</c> live in the <see cref="State"/>.</summary>
    public readonly StateIndex Vectors;

    /// <summary>The path of the normalised weight inside <see cref="Layer"/>, as <see cref="TreePath.ToString"/> writes it (<c>Weight</c>).</summary>
    [Static] public readonly string WeightName;

    /// <summary>The power-iteration steps taken on each call outside inference mode.</summary>
    [Static] public readonly int NumPowerIterations;

    /// <summary>The smallest norm a vector is divided by, for stability.</summary>
    [Static] public readonly double Eps;

    /// <summary>Whether the layer leaves the power-iteration vectors alone (and uses them as they are).</summary>
    [Static] public readonly bool Inference;

    /// <summary>
    /// Wraps <paramref name="layer"/>. The vectors start as normal draws from <paramref name="key"/> refined by 15
    /// power-iteration steps, as Equinox's (and PyTorch's parametrization) do, in the weight's dtype and device.
    /// </summary>
    /// <param name="layer">The layer whose weight is normalised.</param>
    /// <param name="key">The key for the initial vectors.</param>
    /// <param name="weightName">The weight's path in <paramref name="layer"/> (<c>Weight</c>, or e.g. <c>Layers[0].Weight</c>).</param>
    /// <param name="numPowerIterations">The power-iteration steps per call in training.</param>
    /// <param name="eps">The smallest norm a vector is divided by.</param>
    /// <param name="inference">Whether to start in inference mode.</param>
    /// <exception cref="ArgumentException">The layer has no tensor at <paramref name="weightName"/>, or it has rank below 2.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative number of iterations or eps.</exception>
    public SpectralNorm(TLayer layer, Key key, string weightName = "Weight", int numPowerIterations = 1, double eps = 1e-12, bool inference = false)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(weightName);
        ArgumentOutOfRangeException.ThrowIfNegative(numPowerIterations);
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be >= 0, got {eps}.");
        var slots = Eqx.LeavesWithPaths(layer);
        int slot = FindSlot(slots, weightName);
        if (slot < 0 || slots[slot].Leaf is null)
            throw new ArgumentException(
                $"SpectralNorm: {typeof(TLayer).Name} has no weight at '{weightName}'; its tensors are " +
                $"{string.Join(", ", slots.Where(s => s.Leaf is not null).Select(s => $"{s.Path} {s.Leaf!.Describe()}"))}.", nameof(weightName));
        var weight = slots[slot].Leaf!;
        if (weight.Rank < 2)
            throw new ArgumentException(
                $"SpectralNorm normalises a matrix (or a higher-rank weight read as [out, rest]); {typeof(TLayer).Name}.{weightName} is {weight.Describe()}.",
                nameof(weightName));
        Layer = layer;
        WeightName = weightName;
        NumPowerIterations = numPowerIterations;
        Eps = eps;
        Inference = inference;

        var (uKey, vKey) = key.Split();
        using (Torch.NoGrad())
        {
            var matrix = weight.Detach().Reshape(weight.Size(0), -1);
            var u = Tensor.Normal(uKey, [matrix.Size(0)], weight.DType, weight.Device);
            var v = Tensor.Normal(vKey, [matrix.Size(1)], weight.DType, weight.Device);
            for (int i = 0; i < 15; i++) (u, v) = PowerIteration(matrix, v, eps);
            Vectors = new StateIndex(u, v);
        }
    }

    private SpectralNorm(SpectralNorm<TLayer> source, bool inference)
    {
        (Layer, Vectors) = (source.Layer, source.Vectors);
        (WeightName, NumPowerIterations, Eps) = (source.WeightName, source.NumPowerIterations, source.Eps);
        Inference = inference;
    }

    bool IInferenceMode.Inference => Inference;

    /// <inheritdoc/>
    public IInferenceMode WithInference(bool inference) => new SpectralNorm<TLayer>(this, inference);

    /// <summary>
    /// Runs <see cref="Layer"/> on <paramref name="x"/> with its weight divided by σ; outside inference mode the
    /// power-iteration vectors first take <see cref="NumPowerIterations"/> steps, and the returned State holds them.
    /// </summary>
    /// <param name="x">The input, as <see cref="Layer"/> takes it.</param>
    /// <param name="state">The model's state (from <see cref="Eqx.MakeWithState{T}"/>).</param>
    /// <param name="key">Passed on to <see cref="Layer"/>.</param>
    /// <exception cref="TreeHoleException">The layer or its weight is a hole (a filtered tree).</exception>
    public (Tensor Output, State State) Forward(Tensor x, State state, Key? key = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(state);
        if (Layer is null) throw new TreeHoleException($"SpectralNorm.{nameof(Layer)}");
        var leaves = Eqx.Flatten(Layer);
        int slot = FindSlot(Eqx.LeavesWithPaths(Layer), WeightName);
        if (slot < 0 || leaves[slot] is null) throw new TreeHoleException($"SpectralNorm.{nameof(Layer)}.{WeightName}");
        var weight = leaves[slot]!;
        var matrix = weight.Reshape(weight.Size(0), -1);

        var vectors = state.Get(Vectors);
        var (u, v) = (vectors[0], vectors[1]);
        if (!Inference)
        {
            using (Torch.NoGrad())
            {
                var fixedMatrix = matrix.Detach();
                for (int i = 0; i < NumPowerIterations; i++) (u, v) = PowerIteration(fixedMatrix, v, Eps);
            }
            state = state.Set(Vectors, u, v);
        }
        var sigma = u.Matmul(matrix.Matmul(v));
        leaves[slot] = (matrix / sigma).Reshape(weight.Shape);
        return (Eqx.Unflatten(Layer, leaves).Forward(x, key), state);
    }

    // One step from v: u = W v / ‖W v‖, then v = Wᵀ u / ‖Wᵀ u‖ (each norm at least eps).
    private static (Tensor U, Tensor V) PowerIteration(Tensor matrix, Tensor v, double eps)
    {
        var u = Normalise(matrix.Matmul(v), eps);
        return (u, Normalise(matrix.T.Matmul(u), eps));
    }

    private static Tensor Normalise(Tensor vector, double eps) => vector / vector.Square().Sum().Sqrt().Clamp(min: eps);

    private static int FindSlot(IReadOnlyList<(TreePath Path, Tensor? Leaf)> slots, string name)
    {
        for (int i = 0; i < slots.Count; i++)
            if (slots[i].Path.ToString() == name) return i;
        return -1;
    }
}
