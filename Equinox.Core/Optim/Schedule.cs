using System.Globalization;
using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// A learning rate as a function of the step count (the number of updates made before this one, from 0), as Optax's
/// schedules. An optimiser evaluates it on the count tensor, on the count's device, so a captured step needs no host
/// value; a number converts to a <see cref="Constant"/> schedule (<c>new Adam(1e-3)</c>).
/// </summary>
public abstract class Schedule
{
    /// <summary>The value at <paramref name="step"/>, a 0-dim int64 tensor, as a 0-dim float64 tensor on its device.</summary>
    public abstract Tensor ValueAt(Tensor step);

    /// <summary>The value at <paramref name="step"/>, computed on the host (for logging and tests).</summary>
    public double ValueAt(long step)
    {
        using var scope = Torch.Scope();
        return ValueAt(Tensor.Scalar(step)).Item<double>();
    }

    /// <summary>A constant learning rate.</summary>
    public static implicit operator Schedule(double value) => Constant(value);

    /// <summary><paramref name="value"/> at every step.</summary>
    public static Schedule Constant(double value) => new ConstantSchedule(Check(value, nameof(value)));

    /// <summary>
    /// <c>initial · decayRate^(step / transitionSteps)</c>; with <paramref name="staircase"/> the exponent is rounded
    /// down, so the rate drops by <paramref name="decayRate"/> every <paramref name="transitionSteps"/> steps.
    /// </summary>
    public static Schedule ExponentialDecay(double initial, long transitionSteps, double decayRate, bool staircase = false)
    {
        Check(initial, nameof(initial));
        Positive(transitionSteps, nameof(transitionSteps));
        if (!(decayRate > 0)) throw new ArgumentOutOfRangeException(nameof(decayRate), $"the decay rate must be positive, got {decayRate}.");
        return new Formula($"ExponentialDecay({initial}, {transitionSteps}, {decayRate}{(staircase ? ", staircase" : "")})", step =>
        {
            var exponent = step / (double)transitionSteps;
            if (staircase) exponent = exponent.Floor();
            return (exponent * Math.Log(decayRate)).Exp() * initial;
        });
    }

    /// <summary>
    /// Cosine decay from <paramref name="initial"/> to <c>alpha · initial</c> over <paramref name="decaySteps"/> steps,
    /// then constant: <c>initial · ((1 - alpha) · ½(1 + cos(π · min(step, decaySteps) / decaySteps)) + alpha)</c>.
    /// </summary>
    public static Schedule CosineDecay(double initial, long decaySteps, double alpha = 0)
    {
        Check(initial, nameof(initial));
        Positive(decaySteps, nameof(decaySteps));
        return new Formula($"CosineDecay({initial}, {decaySteps}, alpha: {alpha})", step => Cosine(step, initial, decaySteps, alpha));
    }

    /// <summary>
    /// A linear warm-up from <paramref name="initial"/> to <paramref name="peak"/> over <paramref name="warmupSteps"/>
    /// steps, then a cosine decay from <paramref name="peak"/> to <paramref name="end"/> until step
    /// <paramref name="decaySteps"/> (counted from 0, warm-up included), then <paramref name="end"/>.
    /// </summary>
    public static Schedule WarmupCosineDecay(double initial, double peak, long warmupSteps, long decaySteps, double end = 0)
    {
        Check(initial, nameof(initial));
        Check(peak, nameof(peak));
        Check(end, nameof(end));
        Positive(warmupSteps, nameof(warmupSteps));
        if (decaySteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(decaySteps), $"decaySteps ({decaySteps}) counts the warm-up too, so it must exceed warmupSteps ({warmupSteps}).");
        return new Formula($"WarmupCosineDecay({initial}, {peak}, {warmupSteps}, {decaySteps}, end: {end})", step =>
        {
            var warm = step.Clamp(max: (double)warmupSteps) * ((peak - initial) / warmupSteps) + initial;
            var decayed = Cosine(step - (double)warmupSteps, peak, decaySteps - warmupSteps, peak == 0 ? 0 : end / peak);
            return Tensor.Where(step < warmupSteps, warm, decayed);
        });
    }

    /// <summary>
    /// <paramref name="initial"/>, multiplied by each scale once the step reaches its boundary (Optax's
    /// <c>piecewise_constant_schedule</c>): <c>{ [1000] = 0.1, [2000] = 0.1 }</c> divides the rate by 10 at step 1000
    /// and again at 2000.
    /// </summary>
    public static Schedule PiecewiseConstant(double initial, IReadOnlyDictionary<long, double> boundariesAndScales)
    {
        Check(initial, nameof(initial));
        ArgumentNullException.ThrowIfNull(boundariesAndScales);
        var pieces = boundariesAndScales.OrderBy(p => p.Key).ToArray();
        foreach (var (boundary, scale) in pieces)
        {
            if (boundary < 0) throw new ArgumentOutOfRangeException(nameof(boundariesAndScales), $"boundary {boundary} is negative; steps count from 0.");
            Check(scale, nameof(boundariesAndScales));
        }
        var text = string.Join(", ", pieces.Select(p => $"{p.Key}: {p.Value.ToString(CultureInfo.InvariantCulture)}"));
        return new Formula($"PiecewiseConstant({initial}, {{{text}}})", step =>
        {
            var value = step.ZerosLike() + initial;
            foreach (var (boundary, scale) in pieces)
                value = Tensor.Where(step >= boundary, value * scale, value);
            return value;
        });
    }

    // Optax's cosine_decay_schedule on a float64 step.
    private static Tensor Cosine(Tensor step, double initial, long decaySteps, double alpha)
    {
        var fraction = step.Clamp(min: 0.0, max: decaySteps) / (double)decaySteps;
        var cosine = ((fraction * Math.PI).Cos() + 1) * 0.5;
        return (cosine * (1 - alpha) + alpha) * initial;
    }

    private static double Check(double value, string name) =>
        double.IsFinite(value) && value >= 0 ? value
            : throw new ArgumentOutOfRangeException(name, $"a learning rate (or scale) must be a finite number >= 0, got {value}.");

    private static void Positive(long steps, string name)
    {
        if (steps <= 0) throw new ArgumentOutOfRangeException(name, $"{name} must be positive, got {steps}.");
    }

    // A schedule given as a formula over the step, as float64.
    private sealed class Formula(string text, Func<Tensor, Tensor> value) : Schedule
    {
        public override Tensor ValueAt(Tensor step)
        {
            ArgumentNullException.ThrowIfNull(step);
            using var scope = Torch.Scope();
            var result = value(step.To(DType.Float64));
            scope.MoveOut(result);
            return result;
        }

        public override string ToString() => text;
    }
}

/// <summary>A learning rate that does not change; optimisers pass it to the update as a number, with no tensor.</summary>
public sealed class ConstantSchedule : Schedule
{
    internal ConstantSchedule(double value) => Value = value;

    /// <summary>The learning rate.</summary>
    public double Value { get; }

    /// <inheritdoc/>
    public override Tensor ValueAt(Tensor step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return Tensor.Scalar(Value, DType.Float64, step.Device);
    }

    /// <inheritdoc/>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}
