using Equinox.Optim;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Optim;

// Each schedule against its published rule (Optax's schedules), written out here, at the steps where it changes.
public class ScheduleTests
{
    private static readonly long[] Steps = [0, 1, 2, 5, 9, 10, 11, 15, 19, 20, 21, 100];

    private static void AssertFollows(Schedule schedule, Func<long, double> rule)
    {
        foreach (var k in Steps)
        {
            Assert.That(schedule.ValueAt(k), Is.EqualTo(rule(k)).Within(1e-12), $"{schedule} at step {k}");
            using var step = Tensor.Scalar(k);
            using var value = schedule.ValueAt(step);
            Assert.That(value.DType, Is.EqualTo(DType.Float64));
            Assert.That(value.Item<double>(), Is.EqualTo(rule(k)).Within(1e-12), $"{schedule} on a tensor step {k}");
        }
    }

    [Test]
    public void Constant() => AssertFollows(0.3, _ => 0.3);

    [Test]
    public void ExponentialDecay()
    {
        AssertFollows(Schedule.ExponentialDecay(0.1, 10, 0.5), k => 0.1 * Math.Pow(0.5, k / 10.0));
        AssertFollows(Schedule.ExponentialDecay(0.1, 10, 0.5, staircase: true), k => 0.1 * Math.Pow(0.5, Math.Floor(k / 10.0)));
    }

    [Test]
    public void CosineDecay() =>
        AssertFollows(Schedule.CosineDecay(0.1, 20, alpha: 0.1),
            k => 0.1 * (0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(k, 20) / 20)) + 0.1));

    [Test]
    public void WarmupCosineDecay() =>
        AssertFollows(Schedule.WarmupCosineDecay(0.0, 1.0, warmupSteps: 10, decaySteps: 20, end: 0.1),
            k => k < 10 ? k / 10.0 : 1.0 * (0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(k - 10, 10) / 10)) + 0.1));

    [Test]
    public void PiecewiseConstant() =>
        AssertFollows(Schedule.PiecewiseConstant(1.0, new Dictionary<long, double> { [10] = 0.1, [20] = 0.5 }),
            k => k < 10 ? 1.0 : k < 20 ? 0.1 : 0.05);

    [Test]
    public void BadSchedulesFailAtConstruction()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.CosineDecay(0.1, 0))!.Message,
            Does.StartWith("decaySteps must be positive, got 0."));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.WarmupCosineDecay(0, 1, 10, 5))!.Message,
            Does.StartWith("decaySteps (5) counts the warm-up too, so it must exceed warmupSteps (10)."));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.Constant(double.NaN))!.Message,
            Does.StartWith("a learning rate (or scale) must be a finite number >= 0, got NaN."));
    }
}
