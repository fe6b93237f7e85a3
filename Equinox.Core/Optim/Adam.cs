using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// Adam, as <c>torch.optim.Adam</c>: <c>g += weightDecay · p</c> (an L2 penalty; <see cref="AdamW"/> decouples it),
/// <c>mu = β1 · mu + (1 - β1) · g</c>, <c>nu = β2 · nu + (1 - β2) · g²</c>, and the update
/// <c>-lr / (1 - β1^t) · mu / (sqrt(nu) / sqrt(1 - β2^t) + eps)</c> at step t (from 1).
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Creates the optimiser; the defaults are torch.optim.Adam's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A beta outside [0, 1), or a negative eps or weight decay.</exception>
    public Adam(Schedule learningRate, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        : this(learningRate, beta1, beta2, eps, weightDecay, decoupled: false)
    {
    }

    private protected Adam(Schedule learningRate, double beta1, double beta2, double eps, double weightDecay, bool decoupled)
        : base(OptimizerKernels.Rule.Adam, learningRate)
    {
        Beta1 = Hyperparameters.Beta(beta1, nameof(beta1));
        Beta2 = Hyperparameters.Beta(beta2, nameof(beta2));
        Eps = Hyperparameters.NonNegative(eps, nameof(eps));
        WeightDecay = Hyperparameters.NonNegative(weightDecay, nameof(weightDecay));
        Decoupled = decoupled;
    }

    /// <summary>The decay of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>The decay of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator, for stability.</summary>
    public double Eps { get; }

    /// <summary>The weight decay: an L2 penalty on the gradient for Adam, a decay of the parameter for AdamW.</summary>
    public double WeightDecay { get; }

    private bool Decoupled { get; }

    private protected override string Name => Decoupled ? "AdamW" : "Adam";
    private protected override string[] SlotNames => ["mu", "nu"];
    private protected override double[] RuleArguments => [Beta1, Beta2, Eps, WeightDecay, Decoupled ? 1 : 0];
    private protected override bool ReadsParameters => WeightDecay != 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Name}(learningRate: {LearningRate}, beta1: {Beta1}, beta2: {Beta2}, eps: {Eps}, weightDecay: {WeightDecay})";
}

/// <summary>
/// AdamW, as <c>torch.optim.AdamW</c>: Adam whose weight decay shrinks the parameter directly
/// (<c>-lr · weightDecay · p</c> is added to the update) instead of entering the moments.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimiser; the defaults are torch.optim.AdamW's (weight decay 0.01).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A beta outside [0, 1), or a negative eps or weight decay.</exception>
    public AdamW(Schedule learningRate, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
        : base(learningRate, beta1, beta2, eps, weightDecay, decoupled: true)
    {
    }
}
