using Equinox.Optim;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Optim;

// The optimiser state is a tree: a FilterJit step takes it, donates it, and returns the next one, updated in place.
[NonParallelizable]
public class OptimizerJitTests
{
    private static readonly Func<OptNet, Tensor, Tensor, (Tensor Value, OptNet Grads)> LossAndGrads =
        Eqx.FilterValueAndGrad((OptNet m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Mean());

    private static (Tensor X, Tensor Y) Data()
    {
        var x = Tensor.Normal(Key.Create(8), [16, 2]);
        return (x, x.Sum(1, keepdim: true).Tanh());
    }

    [Test]
    public void ADonatedStateIsUpdatedInPlaceAndEqualsTheEagerSteps()
    {
        var (x, y) = Data();
        var adam = new Adam(0.01, weightDecay: 0.01);
        (OptNet, OptimizerState<OptNet>) Step(OptNet m, OptimizerState<OptNet> s, Tensor xs, Tensor ys)
        {
            var (_, grads) = LossAndGrads(m, xs, ys);
            return adam.Step(m, grads, s);
        }

        var eagerModel = OptNet.Create(9);
        var eagerState = adam.Init(eagerModel);
        for (int k = 0; k < 5; k++) (eagerModel, eagerState) = Step(eagerModel, eagerState, x, y);

        var step = Eqx.FilterJit<OptNet, OptimizerState<OptNet>, Tensor, Tensor, (OptNet, OptimizerState<OptNet>)>(
            Step, donate: Donate.Arg1 | Donate.Arg2);
        var model = OptNet.Create(9);
        var state = adam.Init(model);
        for (int k = 0; k < 5; k++)
        {
            var probes = Eqx.Leaves(state).Select(t => t.Alias()).ToArray();
            var old = state;
            (model, state) = step.Invoke(model, state, x, y);
            var leaves = Eqx.Leaves(state);
            for (int i = 0; i < leaves.Length; i++)
                Assert.That(leaves[i].SharesStorageWith(probes[i]), Is.True, $"step {k}: state leaf {i} was updated in place");
            Assert.That(Eqx.Leaves(old).All(t => t.IsDisposed), "the donated state's handles are gone");
        }

        Assert.That(state.Count.Item<long>(), Is.EqualTo(5));
        var expected = Eqx.Leaves(eagerState).Concat(Eqx.Leaves(eagerModel)).Select(t => t.To(DType.Float64).ToArray<double>()).ToArray();
        var actual = Eqx.Leaves(state).Concat(Eqx.Leaves(model)).Select(t => t.To(DType.Float64).ToArray<double>()).ToArray();
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void AnUndonatedStateIsLeftAsItWas()
    {
        var (x, y) = Data();
        var adam = new Adam(0.01);
        var model = OptNet.Create(10);
        var state = adam.Init(model);
        var (_, grads) = LossAndGrads(model, x, y);
        var (_, next) = adam.Update(grads, state, model);
        Assert.That(state.Count.Item<long>(), Is.Zero);
        Assert.That(state.Slot("mu").W1.ToArray<float>(), Is.All.EqualTo(0f), "the old state's moments are untouched");
        Assert.That(next.Slot("mu").W1.ToArray<float>(), Is.Not.All.EqualTo(0f));
        Assert.That(next.Slot("mu").W1.SharesStorageWith(state.Slot("mu").W1), Is.False);
    }

    [Test]
    public void AChainsStateHoldsEachPartsStateUnderItsPath()
    {
        var model = OptNet.Create(11);
        var chain = new Chain(new ClipByGlobalNorm(1), new Adam(0.01));
        var state = chain.Init(model);
        var paths = Eqx.LeafPaths(state).Select(p => p.ToString()).ToArray();
        Assert.That(paths, Does.Contain("Parts[1].Slots[\"mu\"].W1"));
        Assert.That(paths, Does.Contain("Parts[1].Count"));
        Assert.That(state.Parts[1].Owner, Is.EqualTo("Adam"));
    }
}
