using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"): the update is
/// <c>-lr · (sign(β1 · mu + (1 - β1) · g) + weightDecay · p)</c>, then <c>mu = β2 · mu + (1 - β2) · g</c>. Its steps
/// all have size lr in every coordinate, so it wants a learning rate 3-10x smaller than AdamW's.
/// </summary>
public sealed class Lion : Optimizer
{
    /// <summary>Creates the optimiser; the defaults are the paper's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A beta outside [0, 1), or a negative weight decay.</exception>
    public Lion(Schedule learningRate, double beta1 = 0.9, double beta2 = 0.99, double weightDecay = 0)
        : base(OptimizerKernels.Rule.Lion, learningRate)
    {
        Beta1 = Hyperparameters.Beta(beta1, nameof(beta1));
        Beta2 = Hyperparameters.Beta(beta2, nameof(beta2));
        WeightDecay = Hyperparameters.NonNegative(weightDecay, nameof(weightDecay));
    }

    /// <summary>The weight of the momentum in the update's direction.</summary>
    public double Beta1 { get; }

    /// <summary>The decay of the momentum.</summary>
    public double Beta2 { get; }

    /// <summary>The decoupled weight decay.</summary>
    public double WeightDecay { get; }

    private protected override string Name => "Lion";
    private protected override string[] SlotNames => ["mu"];
    private protected override double[] RuleArguments => [Beta1, Beta2, WeightDecay];
    private protected override bool ReadsParameters => WeightDecay != 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"Lion(learningRate: {LearningRate}, beta1: {Beta1}, beta2: {Beta2}, weightDecay: {WeightDecay})";
}
