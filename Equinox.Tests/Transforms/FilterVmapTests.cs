using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;


// A layer written for one example: x is [In], the result [Out].
[Module]
public partial class VmapAffine
{
    public readonly Tensor Weight;
    public readonly Tensor Bias;
    public readonly string Name;

    public VmapAffine(int inFeatures, int outFeatures, int seed, string name = "affine")
    {
        Weight = Tensor.Normal(Key.Create(seed), [outFeatures, inFeatures], DType.Float64);
        Bias = Tensor.Normal(Key.Create(seed + 1000), [outFeatures], DType.Float64);
        Name = name;
    }

    public Tensor Forward(Tensor x) => (Weight.Matmul(x) + Bias).Tanh();
}

// FilterVmap against the definition of vmap: a loop over examples and a stack.
public class FilterVmapTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static Tensor Loop(Tensor xs, Func<Tensor, Tensor> f, int inAxis = 0, int outAxis = 0)
    {
        var results = new Tensor[xs.Shape[inAxis]];
        for (int b = 0; b < results.Length; b++) results[b] = f(xs.Select(inAxis, b));
        return Tensor.Stack(results, outAxis);
    }

    private static void AssertClose(Tensor actual, Tensor expected, string what = "result")
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        OracleAssert.Values(actual.To(DType.Float64).ToArray<double>(), expected.To(DType.Float64).ToArray<double>(),
            1e-10, 1e-12, what);
    }

    [SetUp]
    public void NoLayerIsOpen() => Assert.That(Functorch.Depth, Is.Zero, "a functorch layer leaked from an earlier test");

    [TearDown]
    public void NoLayerIsLeft() => Assert.That(Functorch.Depth, Is.Zero, "a functorch layer leaked");

    [Test]
    public void MatmulAndActivationEqualLoopAndStack()
    {
        using var scope = Torch.Scope();
        var w = Normal(1, 3, 4);
        var b = Normal(2, 3);
        var xs = Normal(3, 5, 4);
        Tensor F(Tensor x) => (w.Matmul(x) + b).Relu() * 2.0;

        var ys = Eqx.FilterVmap((Func<Tensor, Tensor>)F)(xs);

        AssertClose(ys, Loop(xs, F));
    }

    [Test]
    public void ModuleLayerWrittenForOneExampleRunsOverABatch()
    {
        using var scope = Torch.Scope();
        var layer = new VmapAffine(4, 3, seed: 7);
        var xs = Normal(8, 6, 4);

        var ys = Eqx.FilterVmap((Tensor x) => layer.Forward(x))(xs);

        Assert.That(ys.Shape, Is.EqualTo(new long[] { 6, 3 }));
        AssertClose(ys, Loop(xs, layer.Forward));
    }

    [Test]
    public void TheFunctionSeesOneExample()
    {
        using var scope = Torch.Scope();
        TensorShape seen = default;
        var ys = Eqx.FilterVmap((Tensor x) => { seen = x.Shape; return x.Sum(); })(Normal(1, 7, 2, 3));
        Assert.That(seen, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(ys.Shape, Is.EqualTo(new long[] { 7 }));
    }

    [Test]
    public void InAxesOneMapsOverTheSecondDimension()
    {
        using var scope = Torch.Scope();
        var w = Normal(1, 3, 4);
        var xs = Normal(2, 4, 5); // five examples of four features, batched along dimension 1
        Tensor F(Tensor x) => w.Matmul(x).Sin();

        var ys = Eqx.FilterVmap((Func<Tensor, Tensor>)F, inAxes: 1)(xs);

        AssertClose(ys, Loop(xs, F, inAxis: 1));
    }

    [Test]
    public void NegativeInAxesCountFromTheEnd()
    {
        using var scope = Torch.Scope();
        var xs = Normal(2, 4, 5);
        AssertClose(Eqx.FilterVmap((Tensor x) => x.Square(), inAxes: -1)(xs), Loop(xs, x => x.Square(), inAxis: 1));
    }

    [Test]
    public void InAxesNoneBroadcastsAnArgument()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 5, 4);
        var w = Normal(2, 3, 4);

        var ys = Eqx.FilterVmap((Tensor x, Tensor m) => m.Matmul(x), inAxes: (0, VmapAxes.None))(xs, w);

        AssertClose(ys, Loop(xs, x => w.Matmul(x)));
    }

    [Test]
    public void OutAxesOnePutsTheBatchSecond()
    {
        using var scope = Torch.Scope();
        var w = Normal(1, 3, 4);
        var xs = Normal(2, 5, 4);
        Tensor F(Tensor x) => w.Matmul(x).Tanh();

        var ys = Eqx.FilterVmap((Func<Tensor, Tensor>)F, outAxes: 1)(xs);

        Assert.That(ys.Shape, Is.EqualTo(new long[] { 3, 5 }));
        AssertClose(ys, Loop(xs, F, outAxis: 1));
    }

    [Test]
    public void TwoOutputsTakeOneOutAxisEach()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 5, 4);

        var (sums, doubled) = Eqx.FilterVmap((Tensor x) => (x.Sum(), x * 2.0), outAxes: (0, 1))(xs);

        AssertClose(sums, Loop(xs, x => x.Sum()));
        AssertClose(doubled, Loop(xs, x => x * 2.0, outAxis: 1));
    }

    [Test]
    public void AnOutputThatIgnoresTheBatchIsBroadcast()
    {
        using var scope = Torch.Scope();
        var c = Normal(1, 3);
        var ys = Eqx.FilterVmap((Tensor x) => c * 1.0)(Normal(2, 4, 2));
        AssertClose(ys, Tensor.Stack([c, c, c, c]));
    }

    [Test]
    public void OutAxesNoneReturnsAnUnbatchedOutputAsIs()
    {
        using var scope = Torch.Scope();
        var c = Normal(1, 3);
        var (ys, constant) = Eqx.FilterVmap((Tensor x) => (x.Sum(), c + 1.0), outAxes: (0, VmapAxes.None))(Normal(2, 4, 2));
        Assert.That(ys.Shape, Is.EqualTo(new long[] { 4 }));
        AssertClose(constant, c + 1.0);
    }

    [Test]
    public void OutAxesNoneOnABatchedOutputIsAnError()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => x * 2.0, outAxes: VmapAxes.None)(Normal(1, 4, 2)));
        Assert.That(e!.Message, Does.Contain("depends on the batched inputs"));
    }

    [Test]
    public void NestedVmapsGiveEveryPair()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 5, 4);
        var ys = Normal(2, 6, 4);
        Tensor Pair(Tensor x, Tensor y) => (x * y).Sum().Tanh();

        var table = Eqx.FilterVmap((Tensor x, Tensor yAll) => Eqx.FilterVmap((Tensor y) => Pair(x, y))(yAll),
            inAxes: (0, VmapAxes.None))(xs, ys);

        Assert.That(table.Shape, Is.EqualTo(new long[] { 5, 6 }));
        AssertClose(table, Loop(xs, x => Loop(ys, y => Pair(x, y))));
    }

    [Test]
    public void AnEnsembleIsAModuleBatchedOverItsLeaves()
    {
        using var scope = Torch.Scope();
        var members = new[] { new VmapAffine(4, 3, 1), new VmapAffine(4, 3, 2), new VmapAffine(4, 3, 3) };
        var ensemble = Eqx.TreeMap(leaves => Tensor.Stack(leaves!), members[0], members[1], members[2]);
        var x = Normal(9, 4);

        var ys = Eqx.FilterVmap((VmapAffine m, Tensor input) => m.Forward(input), inAxes: (0, VmapAxes.None))(ensemble, x);

        AssertClose(ys, Tensor.Stack([members[0].Forward(x), members[1].Forward(x), members[2].Forward(x)]));
    }

    [Test]
    public void ModulesComeOutBatchedWithTheirStaticPartKept()
    {
        using var scope = Torch.Scope();
        var layer = new VmapAffine(4, 3, 1, name: "scaled");
        var scales = Tensor.FromArray(new double[] { 1, 2, 3 });

        var scaled = Eqx.FilterVmap((Tensor s) => Eqx.TreeMap(layer, t => t * s))(scales);

        Assert.That(scaled.Name, Is.EqualTo("scaled"));
        Assert.That(scaled.Weight.Shape, Is.EqualTo(new long[] { 3, 3, 4 }));
        AssertClose(scaled.Bias, Tensor.Stack([layer.Bias * 1.0, layer.Bias * 2.0, layer.Bias * 3.0]));
    }

    [Test]
    public void SelectBatchesSomeLeavesAndBroadcastsTheRest()
    {
        using var scope = Torch.Scope();
        var shared = new VmapAffine(4, 3, 1);
        var weights = Tensor.Stack([Normal(2, 3, 4), Normal(3, 3, 4)]);
        var batchedModel = Eqx.TreeAt(shared, m => m.Weight, weights);
        var x = Normal(4, 4);
        var onlyWeight = VmapAxes.Select((path, _) => path.ToString() == "Weight" ? 0 : null);

        var ys = Eqx.FilterVmap((VmapAffine m, Tensor input) => m.Forward(input), inAxes: (onlyWeight, VmapAxes.None))(batchedModel, x);

        AssertClose(ys, Loop(weights, w => (w.Matmul(x) + shared.Bias).Tanh()));
    }

    [Test]
    public void WhereBatchesTheLeavesThatMatch()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 5, 4);
        var counts = Tensor.FromArray(new long[] { 1, 2, 3, 4 });
        var axes = VmapAxes.Where(Eqx.IsInexactArray, 0);

        var ys = Eqx.FilterVmap((Tensor x, Tensor n) => x * n.To(DType.Float64), inAxes: VmapAxes.Tuple(axes, axes))(xs, counts);

        AssertClose(ys, Loop(xs, x => x * counts.To(DType.Float64)));
    }

    [Test]
    public void PerExampleGradientsEqualALoopOfAutogradGrad()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(4, 3, 5);
        var xs = Normal(6, 8, 4);
        var ys = Normal(7, 8, 3);
        static Tensor Loss(VmapAffine m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Sum();

        var (losses, grads) = Eqx.PerExampleValueAndGrad(Loss, model, xs, ys);

        Assert.That(grads.Weight.Shape, Is.EqualTo(new long[] { 8, 3, 4 }));
        Assert.That(grads.Name, Is.EqualTo(model.Name));
        var tracked = Eqx.TreeMap(model, t => t.WithRequiresGrad());
        var expectedLosses = new Tensor[8];
        var expectedWeight = new Tensor[8];
        var expectedBias = new Tensor[8];
        for (int b = 0; b < 8; b++)
        {
            expectedLosses[b] = Loss(tracked, xs.Select(0, b), ys.Select(0, b));
            var g = Autograd.Grad(expectedLosses[b], tracked.Weight, tracked.Bias);
            expectedWeight[b] = g[0]!;
            expectedBias[b] = g[1]!;
        }
        AssertClose(losses, Tensor.Stack(expectedLosses).Detach(), "losses");
        AssertClose(grads.Weight, Tensor.Stack(expectedWeight), "weight gradients");
        AssertClose(grads.Bias, Tensor.Stack(expectedBias), "bias gradients");
    }

    [Test]
    public void PerExampleGradientsDifferFromTheBatchGradient()
    {
        // Guards the test above against a gradient that ignores the batch: the mean of per-example gradients is the
        // batch gradient, but the examples differ from one another.
        using var scope = Torch.Scope();
        var model = new VmapAffine(4, 3, 5);
        var grads = Eqx.PerExampleGrads((VmapAffine m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Sum(),
            model, Normal(6, 2, 4), Normal(7, 2, 3));
        var diff = (grads.Bias.Select(0, 0) - grads.Bias.Select(0, 1)).Abs().Sum().Item<double>();
        Assert.That(diff, Is.GreaterThan(1e-6));
    }

    [Test]
    public void EnsembleGradientsBatchOverTheModelLeaves()
    {
        using var scope = Torch.Scope();
        var members = new[] { new VmapAffine(4, 3, 1), new VmapAffine(4, 3, 2) };
        var ensemble = Eqx.TreeMap(leaves => Tensor.Stack(leaves!), members[0], members[1]);
        var x = Normal(3, 4);
        var y = Normal(4, 3);
        static Tensor Loss(VmapAffine m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Mean();

        var grads = Eqx.FilterVmap((VmapAffine m) => FunctorchGrad.ValueAndGrad(mm => Loss(mm, x, y), m).Grads)(ensemble);

        for (int k = 0; k < members.Length; k++)
        {
            var tracked = Eqx.TreeMap(members[k], t => t.WithRequiresGrad());
            var g = Autograd.Grad(Loss(tracked, x, y), tracked.Weight, tracked.Bias);
            AssertClose(grads.Weight.Select(0, k), g[0]!, $"member {k} weight gradient");
            AssertClose(grads.Bias.Select(0, k), g[1]!, $"member {k} bias gradient");
        }
    }

    [Test]
    public void AutogradFlowsThroughAFilterVmap()
    {
        using var scope = Torch.Scope();
        var layer = Eqx.TreeMap(new VmapAffine(4, 3, 1), t => t.WithRequiresGrad());
        var xs = Normal(2, 6, 4);

        var loss = Eqx.FilterVmap((Tensor x) => layer.Forward(x))(xs).Square().Sum();
        var viaVmap = Autograd.Grad(loss, layer.Weight, layer.Bias);
        var batched = (xs.Matmul(layer.Weight.Transpose(0, 1)) + layer.Bias).Tanh().Square().Sum();
        var direct = Autograd.Grad(batched, layer.Weight, layer.Bias);

        AssertClose(viaVmap[0]!, direct[0]!, "weight gradient");
        AssertClose(viaVmap[1]!, direct[1]!, "bias gradient");
    }

    [Test]
    public void FunctorchGradOutsideVmapIsTheOrdinaryGradient()
    {
        using var scope = Torch.Scope();
        var w = Normal(1, 3, 4);
        var x = Normal(2, 4);
        var (value, grad) = FunctorchGrad.ValueAndGrad((Tensor m) => m.Matmul(x).Tanh().Sum(), w);
        var tracked = w.WithRequiresGrad();
        var expected = Autograd.Grad(tracked.Matmul(x).Tanh().Sum(), tracked)[0]!;
        AssertClose(grad, expected);
        Assert.That(value.Item<double>(), Is.EqualTo(w.Matmul(x).Tanh().Sum().Item<double>()).Within(1e-12));
        Assert.That(Torch.IsGradEnabled, Is.True, "the grad layer restores grad mode");
    }

    [Test]
    public void MismatchedBatchSizesNameTheArgumentsAndSizes()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<ArgumentException>(() =>
            Eqx.FilterVmap((Tensor x, Tensor y) => x + y)(Normal(1, 5, 2), Normal(2, 6, 2)));
        Assert.That(e!.Message, Does.Contain("argument 0 f64[5,2] has 5 along axis 0"));
        Assert.That(e.Message, Does.Contain("argument 1 f64[6,2] has 6 along axis 0"));
    }

    [Test]
    public void MismatchedBatchSizesInsideAModuleNameTheLeafPath()
    {
        using var scope = Torch.Scope();
        var layer = new VmapAffine(4, 3, 1); // Weight [3,4] and Bias [3] give a batch of 3, x a batch of 5
        var e = Assert.Throws<ArgumentException>(() =>
            Eqx.FilterVmap((VmapAffine m, Tensor x) => m.Forward(x), inAxes: (0, 0))(layer, Normal(2, 5, 4)));
        Assert.That(e!.Message, Does.Contain("argument 0 at Weight f64[3,4] has 3"));
        Assert.That(e.Message, Does.Contain("argument 1 f64[5,4] has 5"));
    }

    [Test]
    public void AnAxisOutOfRangeIsAnError()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => x, inAxes: 2)(Normal(1, 5, 2)));
        Assert.That(e!.Message, Does.Contain("along axis 2, but it has only 2 dimensions"));
        e = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => x.Sum(), outAxes: 1)(Normal(1, 5, 2)));
        Assert.That(e!.Message, Does.Contain("at axis 1, but the batched result has only 1 dimensions"));
    }

    [Test]
    public void NothingBatchedIsAnError()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => x, inAxes: VmapAxes.None)(Normal(1, 5, 2)));
        Assert.That(e!.Message, Does.Contain("no input tensor is batched"));
    }

    [Test]
    public void TheLayerStackIsBalancedAfterAnException()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 5, 4);
        static Tensor Boom(Tensor y) => throw new InvalidOperationException("boom");
        Assert.Throws<InvalidOperationException>(() =>
            Eqx.FilterVmap((Tensor x) => Eqx.FilterVmap((Func<Tensor, Tensor>)Boom)(x.Reshape(2, 2)))(xs));
        Assert.That(Functorch.Depth, Is.Zero);
        Assert.Throws<TorchException>(() => Eqx.FilterVmap((Tensor x) => x.Matmul(Normal(2, 3, 3)))(xs));
        Assert.That(Functorch.Depth, Is.Zero);

        AssertClose(Eqx.FilterVmap((Tensor x) => x.Sum())(xs), Loop(xs, x => x.Sum()));
    }

    [Test]
    public void KeyedDrawsFollowTheRandomnessRule()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 4, 3);
        Tensor Noisy(Tensor x) => x + Tensor.Normal(Key.Create(42), [3], DType.Float64);

        Assert.Throws<TorchException>(() => Eqx.FilterVmap((Func<Tensor, Tensor>)Noisy)(xs));
        Assert.That(Functorch.Depth, Is.Zero);

        var same = Eqx.FilterVmap((Func<Tensor, Tensor>)Noisy, randomness: VmapRandomness.Same)(xs);
        AssertClose(same, Loop(xs, Noisy));
    }

    [Test]
    public void ReadingValuesOnTheHostInsideIsAnError()
    {
        using var scope = Torch.Scope();
        Assert.Throws<TorchException>(() => Eqx.FilterVmap((Tensor x) => x * x.Sum().Item<double>())(Normal(1, 4, 3)));
        Assert.That(Functorch.Depth, Is.Zero);
    }

    [Test]
    public void IntermediateTensorsAreReleased()
    {
        var layer = new VmapAffine(4, 3, 1);
        var xs = Normal(1, 16, 4);
        long before = Torch.LiveTensors;
        using (var scope = Torch.Scope())
        {
            var ys = Eqx.FilterVmap((Tensor x) => layer.Forward(x) * 2.0)(xs);
            Assert.That(Torch.LiveTensors, Is.EqualTo(before + 1), "only the result is alive after FilterVmap");
        }
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }
}
