using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// Adagrad, as <c>torch.optim.Adagrad</c>: <c>g += weightDecay · p</c>, <c>sum += g²</c>, and the update
/// <c>-lr / (1 + (t - 1) · lrDecay) · g / (sqrt(sum) + eps)</c> at step t (from 1).
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates the optimiser; the defaults are torch.optim.Adagrad's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative or non-finite hyperparameter.</exception>
    public Adagrad(Schedule learningRate, double learningRateDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0,
        double eps = 1e-10)
        : base(OptimizerKernels.Rule.Adagrad, learningRate)
    {
        LearningRateDecay = Hyperparameters.NonNegative(learningRateDecay, nameof(learningRateDecay));
        WeightDecay = Hyperparameters.NonNegative(weightDecay, nameof(weightDecay));
        InitialAccumulatorValue = Hyperparameters.NonNegative(initialAccumulatorValue, nameof(initialAccumulatorValue));
        Eps = Hyperparameters.NonNegative(eps, nameof(eps));
    }

    /// <summary>How fast the learning rate falls with the step: <c>lr / (1 + (t - 1) · decay)</c>.</summary>
    public double LearningRateDecay { get; }

    /// <summary>The L2 penalty, added to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>The value the sum of squared gradients starts at.</summary>
    public double InitialAccumulatorValue { get; }

    /// <summary>Added to the denominator, for stability.</summary>
    public double Eps { get; }

    private protected override string Name => "Adagrad";
    private protected override string[] SlotNames => ["sum"];
    private protected override double[] RuleArguments => [LearningRateDecay, WeightDecay, Eps];
    private protected override bool ReadsParameters => WeightDecay != 0;
    private protected override double InitialSlotValue => InitialAccumulatorValue;

    /// <inheritdoc/>
    public override string ToString() =>
        $"Adagrad(learningRate: {LearningRate}, learningRateDecay: {LearningRateDecay}, weightDecay: {WeightDecay}, initialAccumulatorValue: {InitialAccumulatorValue}, eps: {Eps})";
}
