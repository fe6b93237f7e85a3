using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// RMSProp, as <c>torch.optim.RMSprop</c>: <c>g += weightDecay · p</c>, <c>v = α · v + (1 - α) · g²</c>; centered,
/// also <c>m = α · m + (1 - α) · g</c> and <c>v - m²</c> in place of <c>v</c>; the step is <c>g / (sqrt(v) + eps)</c>,
/// through a momentum buffer when <see cref="Momentum"/> &gt; 0, times <c>-learningRate</c>.
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimiser; the defaults are torch.optim.RMSprop's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">alpha outside [0, 1), or a negative eps, weight decay or momentum.</exception>
    public RmsProp(Schedule learningRate, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0,
        bool centered = false)
        : base(OptimizerKernels.Rule.RmsProp, learningRate)
    {
        Alpha = Hyperparameters.Beta(alpha, nameof(alpha));
        Eps = Hyperparameters.NonNegative(eps, nameof(eps));
        WeightDecay = Hyperparameters.NonNegative(weightDecay, nameof(weightDecay));
        Momentum = Hyperparameters.NonNegative(momentum, nameof(momentum));
        Centered = centered;
    }

    /// <summary>The decay of the squared-gradient average.</summary>
    public double Alpha { get; }

    /// <summary>Added to the denominator, for stability.</summary>
    public double Eps { get; }

    /// <summary>The L2 penalty, added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>The momentum factor (0: none).</summary>
    public double Momentum { get; }

    /// <summary>Whether the squared average is centred by the gradient's average (an estimate of its variance).</summary>
    public bool Centered { get; }

    private protected override string Name => "RmsProp";
    private protected override string[] SlotNames =>
        [.. (string[])["square_avg"], .. Centered ? ["grad_avg"] : (string[])[], .. Momentum > 0 ? ["momentum"] : (string[])[]];
    private protected override double[] RuleArguments => [Alpha, Eps, WeightDecay, Momentum, Centered ? 1 : 0];
    private protected override bool ReadsParameters => WeightDecay != 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"RmsProp(learningRate: {LearningRate}, alpha: {Alpha}, eps: {Eps}, weightDecay: {WeightDecay}, momentum: {Momentum}, centered: {Centered})";
}
