using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// Stochastic gradient descent, as <c>torch.optim.SGD</c>: <c>g += weightDecay · p</c>; with momentum
/// <c>b = momentum · b + (1 - dampening) · g</c> (the first step stores <c>g</c>), then <c>g = b</c>, or
/// <c>g + momentum · b</c> with Nesterov; the update is <c>-learningRate · g</c>.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimiser; the defaults are torch.optim.SGD's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is negative or not finite.</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum, or with dampening.</exception>
    public Sgd(Schedule learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(OptimizerKernels.Rule.Sgd, learningRate)
    {
        Momentum = Hyperparameters.NonNegative(momentum, nameof(momentum));
        Dampening = Hyperparameters.NonNegative(dampening, nameof(dampening));
        WeightDecay = Hyperparameters.NonNegative(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Nesterov momentum needs momentum > 0 and no dampening (got momentum {momentum}, dampening {dampening}).", nameof(nesterov));
        Nesterov = nesterov;
    }

    /// <summary>The momentum factor (0: none, and no state but the count).</summary>
    public double Momentum { get; }

    /// <summary>How much of each gradient the momentum buffer leaves out.</summary>
    public double Dampening { get; }

    /// <summary>The L2 penalty, added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>Whether the momentum is Nesterov's.</summary>
    public bool Nesterov { get; }

    private protected override string Name => "Sgd";
    private protected override string[] SlotNames => Momentum != 0 ? ["momentum"] : [];
    private protected override double[] RuleArguments => [Momentum, Dampening, WeightDecay, Nesterov ? 1 : 0];
    private protected override bool ReadsParameters => WeightDecay != 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"Sgd(learningRate: {LearningRate}, momentum: {Momentum}, dampening: {Dampening}, weightDecay: {WeightDecay}, nesterov: {Nesterov})";
}
