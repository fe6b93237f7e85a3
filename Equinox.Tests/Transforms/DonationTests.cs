using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// Donation with in-place updates: a FilterJit step that donates its model writes Eqx.ApplyUpdates' sums into the
// donated parameters, so it never holds two copies of them.
[NonParallelizable] // the memory test reads process-wide figures
public class DonationTests
{
    private static readonly Func<Tensor, Tensor> Relu = t => t.Relu();

    private static JitMlp Model(int width = 8, int depth = 2, int seed = 3) => new(2, width, 1, depth, Relu, Key.Create(seed));

    private static JitMlp Copy(JitMlp model) => Eqx.TreeMap(model, t => t.Clone());

    private static Tensor Input(int rows) => Tensor.Normal(Key.Create(11), [rows, 2]);

    // One step of gradient descent on the squared error, its update applied with Eqx.ApplyUpdates.
    private static JitMlp SgdStep(JitMlp model, Tensor x, Tensor y)
    {
        var (_, grads) = Eqx.FilterValueAndGrad((JitMlp m, Tensor xs, Tensor ys) => (m.Forward(xs) - ys).Square().Mean())(model, x, y);
        return Eqx.ApplyUpdates(model, Eqx.TreeMap(grads, g => g * -0.1));
    }

    private static float[][] Values(JitMlp model) => Eqx.Leaves(model).Select(t => t.ToArray<float>()).ToArray();

    [Test]
    public void ADonatedModelTakesItsUpdateInPlaceWithTheValuesOfAnOrdinaryStep()
    {
        var x = Input(16);
        var y = x.Sum(1, keepdim: true);
        var model = Model();
        var twin = Copy(model);
        var expected = Eqx.FilterJit<JitMlp, Tensor, Tensor, JitMlp>(SgdStep).Invoke(twin, x, y);
        Assert.That(twin.Layers[0].Weight.IsDisposed, Is.False, "without donation the old model is left alone");
        Assert.That(twin.Layers[0].Weight.SharesStorageWith(expected.Layers[0].Weight), Is.False);

        var probes = Eqx.Leaves(model).Select(t => t.Alias()).ToArray(); // keep the old memory in sight
        var step = Eqx.FilterJit<JitMlp, Tensor, Tensor, JitMlp>(SgdStep, donate: Donate.Arg1);
        var next = step.Invoke(model, x, y);

        Assert.That(Values(next), Is.EqualTo(Values(expected)));
        var leaves = Eqx.Leaves(next);
        for (int i = 0; i < leaves.Length; i++)
            Assert.That(leaves[i].SharesStorageWith(probes[i]), Is.True, $"leaf {i} was written in place");
        Assert.That(Eqx.Leaves(model).All(t => t.IsDisposed), "the old handles are gone");
        var e = Assert.Throws<ObjectDisposedException>(() => model.Forward(x));
        Assert.That(e!.Message, Does.Contain("or by a FilterJit call it was donated to (`donate:`)"));
    }

    [Test]
    public void ADonatedStepsPeakHoldsNoSecondCopyOfTheParameters()
    {
        long Peak(Donate donate)
        {
            var x = Input(4);
            var y = x.Sum(1, keepdim: true);
            var model = Model(width: 512, depth: 3); // two 512x512 layers: 2 MiB of f32 parameters
            var step = Eqx.FilterJit<JitMlp, Tensor, Tensor, JitMlp>(SgdStep, donate: donate);
            model = step.Invoke(model, x, y); // the first call compiles; measure a cached one
            Finalizers.RunPending();
            long before = Torch.MemoryAllocated(Device.Cpu);
            Torch.ResetPeakMemoryStats(Device.Cpu);
            var next = step.Invoke(model, x, y);
            long peak = Torch.MaxMemoryAllocated(Device.Cpu) - before;
            foreach (var t in Eqx.Leaves(next).Concat(Eqx.Leaves(model))) t.Dispose();
            return peak;
        }

        long parameters = Eqx.Leaves(Model(width: 512, depth: 3)).Sum(t => t.NumberOfElements * 4);
        long donated = Peak(Donate.Arg1), ordinary = Peak(Donate.None);
        TestContext.Out.WriteLine($"parameters {parameters} B; step peak above the live model: donated {donated} B, not donated {ordinary} B");
        // The gradients and the updates are one copy each; the ordinary step also holds the new parameters.
        Assert.That(ordinary - donated, Is.GreaterThanOrEqualTo(0.99 * parameters), "donation saves a whole copy of the parameters");
        Assert.That(donated, Is.LessThan(2.25 * parameters), "gradients + updates + activations, and no new parameters");
    }

    [Test]
    public void RepeatedDonatedStepsLeaveTheLiveTensorsAndTheAllocatedBytesWhereTheyStarted()
    {
        using var x = Input(16);
        using var y = x.Sum(1, keepdim: true);
        var step = Eqx.FilterJit<JitMlp, Tensor, Tensor, JitMlp>(SgdStep, donate: Donate.Arg1);
        var model = step.Invoke(Model(width: 64, depth: 3), x, y); // the first call compiles
        Finalizers.RunPending();
        long live = Torch.LiveTensors, bytes = Torch.MemoryAllocated(Device.Cpu);
        var first = Eqx.Leaves(model)[0];
        for (int i = 0; i < 5; i++)
        {
            model = step.Invoke(model, x, y);
            Assert.That(Torch.LiveTensors, Is.EqualTo(live), $"live tensors after step {i + 1}");
            Assert.That(Torch.MemoryAllocated(Device.Cpu), Is.EqualTo(bytes), $"allocated bytes after step {i + 1}");
        }
        Assert.That(first.IsDisposed, Is.True, "the donated handle is given up");
        foreach (var t in Eqx.Leaves(model)) t.Dispose();
    }

    [Test]
    public void ATensorAnUndonatedArgumentAlsoHoldsIsNotWrittenInPlace()
    {
        var weight = Tensor.Ones(2, 2);
        var model = new JitLinear(weight, Tensor.Zeros(2));
        var step = Eqx.FilterJit((JitLinear m, Tensor shared) => Eqx.ApplyUpdates(m, Eqx.TreeMap(m, t => t.OnesLike())), donate: Donate.Arg1);
        var next = step.Invoke(model, weight);
        Assert.That(weight.IsDisposed, Is.False, "the caller still owns it through the undonated argument");
        Assert.That(weight.ToArray<float>(), Is.All.EqualTo(1f));
        Assert.That(next.Weight.ToArray<float>(), Is.All.EqualTo(2f));
        Assert.That(next.Bias.ToArray<float>(), Is.All.EqualTo(1f));
        Assert.That(model.Bias.IsDisposed, Is.True, "the donated bias was consumed");
    }

    [Test]
    public void UpdatesThatChangeTheDtypeOrNeedAGradientAreAddedOutOfPlace()
    {
        var model = new JitLinear(Tensor.Ones(2, 2), Tensor.Zeros(2));
        var probe = model.Weight.Alias();
        var step = Eqx.FilterJit((JitLinear m) => Eqx.ApplyUpdates(m, Eqx.TreeMap(m, t => t.OnesLike().To(DType.Float64))), donate: Donate.Arg1);
        var next = step.Invoke(model);
        Assert.That(next.Weight.DType, Is.EqualTo(DType.Float64), "f32 + f64 is f64, as without donation");
        Assert.That(probe.ToArray<float>(), Is.All.EqualTo(1f), "the old memory was not written");

        var tracked = new JitLinear(Tensor.Ones(2, 2).WithRequiresGrad(), Tensor.Zeros(2));
        var trackedProbe = tracked.Weight.Alias();
        var stepWithGrad = Eqx.FilterJit((JitLinear m) => Eqx.ApplyUpdates(m, Eqx.TreeMap(m, t => t.OnesLike())), donate: Donate.Arg1);
        var trackedNext = stepWithGrad.Invoke(tracked);
        Assert.That(trackedNext.Weight.RequiresGrad, Is.True, "the sum keeps its gradient history");
        Assert.That(trackedProbe.Detach().ToArray<float>(), Is.All.EqualTo(1f));
    }

    [Test]
    public void AnInnerStepWithoutDonationNeverWritesIntoItsCallersTensors()
    {
        var inner = Eqx.FilterJit((JitLinear m) => Eqx.ApplyUpdates(m, Eqx.TreeMap(m, t => t.OnesLike())));
        bool outerStillValid = false;
        var outer = Eqx.FilterJit((JitLinear m) =>
        {
            var updated = inner.Invoke(m);
            outerStillValid = !m.Weight.IsDisposed && m.Weight.ToArray<float>().All(v => v == 1f);
            return Eqx.ApplyUpdates(updated, Eqx.TreeMap(updated, t => t.OnesLike()));
        }, donate: Donate.Arg1);
        var next = outer.Invoke(new JitLinear(Tensor.Ones(2, 2), Tensor.Zeros(2)));
        Assert.That(outerStillValid, Is.True, "the inner call made new tensors and left the donated ones alone");
        Assert.That(next.Weight.ToArray<float>(), Is.All.EqualTo(3f));
    }
}
