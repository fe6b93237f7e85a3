namespace Equinox.Optim;

/// <summary>
/// A gradient transformation, as in Optax: <see cref="Init{T}"/> builds its state for a parameter tree and
/// <see cref="Update{T}"/> turns gradients into updates, which <see cref="Eqx.ApplyUpdates{T}"/> adds to the parameters.
/// Optimisers (<see cref="Sgd"/>, <see cref="Adam"/>, ...), <see cref="ClipByGlobalNorm"/> and <see cref="Chain"/>
/// all are one.
/// </summary>
/// <example>
/// <code>
/// var optimizer = new Adam(learningRate: 1e-3);
/// var state = optimizer.Init(model);
/// var (loss, grads) = lossAndGrads(model, x, y);
/// (model, state) = optimizer.Step(model, grads, state);   // Update, then Eqx.ApplyUpdates
/// </code>
/// </example>
public interface IGradientTransformation
{
    /// <summary>
    /// The state for training <paramref name="parameters"/>. Every floating-point leaf is optimised; integer and bool
    /// leaves, and holes, are left out (they get no slots and a null update), so a whole model can be passed as it is.
    /// </summary>
    /// <exception cref="NotSupportedException">A leaf is complex: no optimiser here updates complex parameters yet.</exception>
    OptimizerState<T> Init<T>(T parameters) where T : class, ITreeNode;

    /// <summary>
    /// The updates for <paramref name="gradients"/> and the next state. <paramref name="gradients"/> has the
    /// structure of the tree the state was built for; a null gradient leaves its leaf alone (null update, slots
    /// unchanged). <paramref name="parameters"/> (the current ones) is needed by transformations that read them, such
    /// as weight decay; others ignore it. Inside a FilterJit step that donates the state, its slots are updated in
    /// place.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The gradients or parameters do not fit the state: the message names the leaf, what the state holds and what
    /// was given.
    /// </exception>
    (T Updates, OptimizerState<T> State) Update<T>(T gradients, OptimizerState<T> state, T? parameters = null)
        where T : class, ITreeNode;
}

/// <summary>Shortcuts over <see cref="IGradientTransformation"/>.</summary>
public static class GradientTransformationExtensions
{
    /// <summary>
    /// One training step's parameter change: <see cref="IGradientTransformation.Update{T}"/>, then
    /// <see cref="Eqx.ApplyUpdates{T}"/>. Returns the new model and state.
    /// </summary>
    public static (T Model, OptimizerState<T> State) Step<T>(this IGradientTransformation transformation, T model, T gradients,
        OptimizerState<T> state) where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(transformation);
        var (updates, next) = transformation.Update(gradients, state, model);
        return (Eqx.ApplyUpdates(model, updates), next);
    }
}
