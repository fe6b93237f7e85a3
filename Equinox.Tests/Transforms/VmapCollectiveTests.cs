using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// Eqx.Psum/Pmean/Pmax/Pmin over a named FilterVmap axis: values against loops over the examples and PyTorch's batch
// reductions, gradients through them against finite differences and PyTorch, nested axes, and every error.
public class VmapCollectiveTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static void AssertClose(Tensor actual, Tensor expected, string what = "result", double rtol = 1e-10, double atol = 1e-12)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        OracleAssert.Values(actual.To(DType.Float64).ToArray<double>(), expected.To(DType.Float64).ToArray<double>(), rtol, atol, what);
    }

    // The value every example should see, computed by a loop over the examples, then repeated once per example.
    private static Tensor EveryExample(Tensor xs, Func<Tensor, Tensor, Tensor> combine)
    {
        var total = xs.Select(0, 0);
        for (long b = 1; b < xs.Shape[0]; b++) total = combine(total, xs.Select(0, b));
        var repeated = new Tensor[xs.Shape[0]];
        Array.Fill(repeated, total);
        return Tensor.Stack(repeated);
    }

    [SetUp]
    public void NoLayerIsOpen() => Assert.That(Functorch.Depth, Is.Zero, "a functorch layer leaked from an earlier test");

    [TearDown]
    public void NoLayerIsLeft() => Assert.That(Functorch.Depth, Is.Zero, "a functorch layer leaked");

    [Test]
    public void EachCollectiveEqualsALoopOverTheExamples()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 5, 3);

        var sums = Eqx.FilterVmap((Tensor x) => Eqx.Psum(x, "batch"), axisName: "batch")(xs);
        var means = Eqx.FilterVmap((Tensor x) => Eqx.Pmean(x, "batch"), axisName: "batch")(xs);
        var maxima = Eqx.FilterVmap((Tensor x) => Eqx.Pmax(x, "batch"), axisName: "batch")(xs);
        var minima = Eqx.FilterVmap((Tensor x) => Eqx.Pmin(x, "batch"), axisName: "batch")(xs);

        AssertClose(sums, EveryExample(xs, (a, b) => a + b), "Psum");
        AssertClose(means, EveryExample(xs, (a, b) => a + b) / 5.0, "Pmean");
        AssertClose(maxima, EveryExample(xs, (a, b) => a.Maximum(b)), "Pmax");
        AssertClose(minima, EveryExample(xs, (a, b) => a.Minimum(b)), "Pmin");
        Assert.That(maxima.Select(0, 2).ToArray<double>(), Is.Not.EqualTo(minima.Select(0, 2).ToArray<double>()));
    }

    [Test]
    public void CollectivesMixWithPerExampleValues()
    {
        using var scope = Torch.Scope();
        var xs = Normal(2, 6, 4);

        // Each example centred on the batch mean and scaled by the batch's largest magnitude.
        var ys = Eqx.FilterVmap((Tensor x) => (x - Eqx.Pmean(x, "b")) / Eqx.Pmax(x.Abs(), "b"), axisName: "b")(xs);

        var mean = xs.Mean(0);
        var largest = xs.Abs().Max(0);
        var expected = new Tensor[6];
        for (int b = 0; b < 6; b++) expected[b] = (xs.Select(0, b) - mean) / largest;
        AssertClose(ys, Tensor.Stack(expected));
    }

    [Test]
    public void BatchStatisticsWithPmeanMatchPyTorch()
    {
        using var scope = Torch.Scope();
        var xs = Normal(3, 8, 5);

        var ys = Eqx.FilterVmap((Tensor x) =>
        {
            var mean = Eqx.Pmean(x, "batch");
            var variance = Eqx.Pmean((x - mean).Square(), "batch");
            return (x - mean) / (variance + 1e-5).Sqrt();
        }, axisName: "batch")(xs);

        var expected = PyTorchOracle.Run("(x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)", ("x", xs));
        OracleAssert.Close(ys, expected.Out, 1e-10, 1e-12);
    }

    [Test]
    public void CollectivesOnAMaskActAsAnyAndAll()
    {
        using var scope = Torch.Scope();
        var xs = Tensor.FromArray(new double[] { 1, -1, 2, -1, 3, -1 }, 3, 2);

        var (any, all) = Eqx.FilterVmap((Tensor x) => (Eqx.Pmax(x > 0.0, "b"), Eqx.Pmin(x > 0.0, "b")), axisName: "b")(xs);

        Assert.That(any.DType, Is.EqualTo(DType.Bool));
        Assert.That(any.ToArray<bool>(), Is.EqualTo(new[] { true, false, true, false, true, false }));
        Assert.That(all.ToArray<bool>(), Is.EqualTo(new[] { true, false, true, false, true, false }));
        var (any2, all2) = Eqx.FilterVmap((Tensor x) => (Eqx.Pmax(x > 1.5, "b"), Eqx.Pmin(x > 1.5, "b")), axisName: "b")(xs);
        Assert.That(any2.ToArray<bool>(), Is.EqualTo(new[] { true, false, true, false, true, false }));
        Assert.That(all2.ToArray<bool>(), Is.All.False);
    }

    [Test]
    public void IntegerPsumKeepsItsDType()
    {
        using var scope = Torch.Scope();
        var xs = Tensor.FromArray(new int[] { 1, 2, 3, 4, 5, 6 }, 3, 2);

        var sums = Eqx.FilterVmap((Tensor x) => Eqx.Psum(x, "b"), axisName: "b")(xs);
        var counts = Eqx.FilterVmap((Tensor x) => Eqx.Psum((x > 2).To(DType.Int64), "b"), axisName: "b")(xs);

        Assert.That(sums.DType, Is.EqualTo(DType.Int32));
        Assert.That(sums.ToArray<int>(), Is.EqualTo(new[] { 9, 12, 9, 12, 9, 12 }));
        Assert.That(counts.ToArray<long>(), Is.EqualTo(new long[] { 2, 2, 2, 2, 2, 2 }));
    }

    [Test]
    public void ATensorOutsideTheBatchIsTheSameInEveryExample()
    {
        using var scope = Torch.Scope();
        var xs = Normal(4, 4, 3);
        var c = Normal(5, 3);

        var (sum, mean) = Eqx.FilterVmap((Tensor x) => (Eqx.Psum(c, "b") + x * 0.0, Eqx.Pmean(c, "b")), axisName: "b")(xs);
        var max = Eqx.FilterVmap((Tensor x) => Eqx.Pmax(c, "b"), axisName: "b")(xs);

        AssertClose(sum, Tensor.Stack([c * 4.0, c * 4.0, c * 4.0, c * 4.0]), "Psum of an unbatched tensor");
        AssertClose(mean, Tensor.Stack([c, c, c, c]), "Pmean of an unbatched tensor");
        AssertClose(max, Tensor.Stack([c, c, c, c]), "Pmax of an unbatched tensor");
    }

    [Test]
    public void NestedAxesReduceOverTheNamedLevel()
    {
        using var scope = Torch.Scope();
        var xs = Normal(6, 4, 3, 2);

        var ys = Eqx.FilterVmap((Tensor row) =>
            Eqx.FilterVmap((Tensor x) => Eqx.Psum(x, "rows") * 10.0 + Eqx.Pmax(x, "cols") - Eqx.Pmean(x, "cols"),
                axisName: "cols")(row), axisName: "rows")(xs);

        var expected = new Tensor[4];
        for (int i = 0; i < 4; i++)
        {
            var row = new Tensor[3];
            for (int j = 0; j < 3; j++)
            {
                var overRows = xs.Select(1, j).Sum(0);
                var overCols = xs.Select(0, i);
                row[j] = overRows * 10.0 + overCols.Max(0) - overCols.Mean(0);
            }
            expected[i] = Tensor.Stack(row);
        }
        AssertClose(ys, Tensor.Stack(expected));
    }

    [Test]
    public void AnOuterAxisReducesTensorsBatchedOnlyByAnInnerOne()
    {
        using var scope = Torch.Scope();
        var outer = Normal(7, 4);      // 4 examples on the outer axis
        var inner = Normal(8, 3, 2);   // 3 examples on the inner axis, the same for every outer example

        var ys = Eqx.FilterVmap((Tensor o) =>
            Eqx.FilterVmap((Tensor i) => Eqx.Psum(i, "outer") + Eqx.Psum(o, "outer") + Eqx.Pmean(i, "inner"),
                inAxes: 0, axisName: "inner")(inner), axisName: "outer")(outer);

        Assert.That(ys.Shape, Is.EqualTo(new long[] { 4, 3, 2 }));
        var expected = (inner * 4.0 + outer.Sum() + inner.Mean(0)).Unsqueeze(0).Expand(4, 3, 2);
        AssertClose(ys, expected);
    }

    [Test]
    public void AnInnerAxisShadowsAnOuterOneOfTheSameName()
    {
        using var scope = Torch.Scope();
        var xs = Normal(9, 2, 3);

        var ys = Eqx.FilterVmap((Tensor row) =>
            Eqx.FilterVmap((Tensor x) => Eqx.Psum(x, "b"), axisName: "b")(row), axisName: "b")(xs);

        AssertClose(ys, xs.Sum(1, keepdim: true).Expand(2, 3));
    }

    [Test]
    public void GradientsThroughCollectivesMatchFiniteDifferences()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(3, 4, seed: 11);
        var xs = Normal(12, 5, 3);
        Tensor Loss(VmapAffine m) => Eqx.FilterVmap((Tensor x) =>
        {
            var h = m.Forward(x);
            var centred = h - Eqx.Pmean(h, "batch");
            return centred.Square().Sum() + 0.5 * Eqx.Pmax(h, "batch").Sum() - 0.25 * Eqx.Pmin(h, "batch").Sum()
                   + 0.1 * (Eqx.Psum(h, "batch") * h).Sum() + 0.05 * Eqx.AllGather(h, "batch").Matmul(h).Square().Sum();
        }, axisName: "batch")(xs).Sum();

        var (loss, grads) = Eqx.FilterValueAndGrad((Func<VmapAffine, Tensor>)Loss)(model);

        Assert.That(loss.Item<double>(), Is.EqualTo(Loss(model).Item<double>()).Within(1e-12));
        var leaves = Eqx.Flatten(model);
        var gradLeaves = Eqx.Flatten(grads);
        var paths = Eqx.LeafPaths(model);
        for (int slot = 0; slot < leaves.Length; slot++)
        {
            var numeric = GradTests.FiniteDifferences(model, Loss, slot);
            OracleAssert.Values(gradLeaves[slot]!.ToArray<double>(), numeric, 1e-6, 1e-8, $"d loss / d {paths[slot]}");
            Assert.That(numeric, Has.Some.Not.EqualTo(0.0).Within(1e-6), $"{paths[slot]} should have a non-trivial gradient");
        }
    }

    [Test]
    public void GradientThroughAVmappedPmeanMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(3, 2, seed: 13);
        var xs = Normal(14, 6, 3);

        var (loss, grads) = Eqx.FilterValueAndGrad((VmapAffine m) => Eqx.FilterVmap((Tensor x) =>
        {
            var h = m.Forward(x);
            var mean = Eqx.Pmean(h, "batch");
            return (h - mean).Square().Sum() / Eqx.Pmean((h - mean).Square(), "batch").Sum().Sqrt();
        }, axisName: "batch")(xs).Sum())(model);

        var expected = PyTorchOracle.RunWithGrad(
            "h = torch.tanh(x @ w.T + b)\nc = h - h.mean(0)\nout = ((c * c).sum(1) / torch.sqrt((c * c).mean(0).sum())).sum()",
            ("w", model.Weight.WithRequiresGrad()), ("b", model.Bias.WithRequiresGrad()), ("x", xs));
        OracleAssert.Close(loss, expected.Out, 1e-10, 1e-12, "loss");
        OracleAssert.Grads(expected, [grads.Weight, grads.Bias], 1e-9, 1e-11, "w", "b");
    }

    [Test]
    public void PmaxSendsTheGradientToTheLargestExample()
    {
        using var scope = Torch.Scope();
        var xs = Tensor.FromArray(new double[] { 1, 5, 2, 3 }).WithRequiresGrad();

        var total = Eqx.FilterVmap((Tensor x) => Eqx.Pmax(x, "b") * 2.0, axisName: "b")(xs).Sum();
        var grad = Autograd.Grad([total], [xs])[0]!;

        // Every one of the 4 examples sees 2 * max, so the largest example's gradient is 4 * 2.
        Assert.That(grad.ToArray<double>(), Is.EqualTo(new double[] { 0, 8, 0, 0 }));
    }

    [Test]
    public void PmeanOfPerExampleGradientsEqualsTheFullBatchGradient()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(3, 2, seed: 15);
        var xs = Normal(16, 7, 3);
        var targets = Normal(17, 7, 2);
        static Tensor Loss(VmapAffine m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Sum();

        // Data parallelism in one process: each example's gradient, averaged over the batch axis inside the FilterVmap.
        var averaged = Eqx.FilterVmap((Tensor x, Tensor y) =>
            Eqx.Pmean(Eqx.FilterGrad((VmapAffine m) => Loss(m, x, y))(model), "batch"), axisName: "batch")(xs, targets);

        var fullBatch = Eqx.FilterGrad((VmapAffine m) =>
            Eqx.FilterVmap((Tensor x, Tensor y) => Loss(m, x, y))(xs, targets).Mean())(model);
        Assert.That(averaged.Weight.Shape, Is.EqualTo(new long[] { 7, 2, 3 }));
        for (int b = 0; b < 7; b++)
        {
            AssertClose(averaged.Weight.Select(0, b), fullBatch.Weight, $"Weight, example {b}");
            AssertClose(averaged.Bias.Select(0, b), fullBatch.Bias, $"Bias, example {b}");
        }
        Assert.That(averaged.Name, Is.EqualTo(model.Name));
    }

    [Test]
    public void TreeCollectivesReduceEveryLeafAndKeepNullSlots()
    {
        using var scope = Torch.Scope();
        var xs = Normal(18, 4, 2, 3);
        var bs = Normal(19, 4, 2);
        var stacked = Eqx.TreeAt(new VmapAffine(3, 2, seed: 20), m => m.Weight, xs);
        stacked = Eqx.TreeAt(stacked, m => m.Bias, bs);

        var summed = Eqx.FilterVmap((VmapAffine m) => Eqx.Psum(m, "b"), axisName: "b")(stacked);
        var partial = Eqx.FilterVmap((VmapAffine m) => Eqx.Pmax(Eqx.Filter(m, t => t.Rank == 2), "b"), axisName: "b")(stacked);

        AssertClose(summed.Weight, EveryExample(xs, (a, b) => a + b), "Weight");
        AssertClose(summed.Bias, EveryExample(bs, (a, b) => a + b), "Bias");
        AssertClose(partial.Weight, EveryExample(xs, (a, b) => a.Maximum(b)), "filtered Weight");
        Assert.That(partial.Bias, Is.Null);
    }

    [Test]
    public void AllGatherGivesEveryExampleTheWholeBatch()
    {
        using var scope = Torch.Scope();
        var xs = Normal(27, 4, 3);

        var gathered = Eqx.FilterVmap((Tensor x) => Eqx.AllGather(x, "b"), axisName: "b")(xs);
        var scores = Eqx.FilterVmap((Tensor x) => Eqx.AllGather(x, "b").Matmul(x), axisName: "b")(xs);
        var constant = Eqx.FilterVmap((Tensor x) => Eqx.AllGather(xs.Select(0, 1), "b") + x.Sum() * 0.0, axisName: "b")(xs);

        AssertClose(gathered, Tensor.Stack([xs, xs, xs, xs]), "AllGather");
        AssertClose(scores, xs.Matmul(xs.T).T, "each example against the batch");
        AssertClose(constant, xs.Select(0, 1).Unsqueeze(0).Expand(4, 4, 3), "AllGather of an unbatched tensor");
    }

    [Test]
    public void AllGatherOverAnOuterAxisInsideAnInnerOne()
    {
        using var scope = Torch.Scope();
        var xs = Normal(28, 3, 2, 5);   // 3 outer examples of 2 inner examples of [5]

        var ys = Eqx.FilterVmap((Tensor row) => Eqx.FilterVmap((Tensor x) => Eqx.AllGather(x, "rows") - x,
            axisName: "cols")(row), axisName: "rows")(xs);

        Assert.That(ys.Shape, Is.EqualTo(new long[] { 3, 2, 3, 5 }));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
                AssertClose(ys.Select(0, i).Select(0, j), xs.Select(1, j) - xs.Select(0, i).Select(0, j), $"[{i}, {j}]");
    }

    [Test]
    public void AxisIndexNumbersTheExamplesOfEachLevel()
    {
        using var scope = Torch.Scope();
        var xs = Normal(29, 3, 4, 2);

        var index = Eqx.FilterVmap((Tensor row) => Eqx.FilterVmap((Tensor x) =>
            Eqx.AxisIndex("rows") * 10 + Eqx.AxisIndex("cols"), axisName: "cols")(row), axisName: "rows")(xs);
        var scaled = Eqx.FilterVmap((Tensor x) => x * Eqx.AxisIndex("b").To(DType.Float64), axisName: "b")(xs.Select(1, 0));

        Assert.That(index.DType, Is.EqualTo(DType.Int64));
        Assert.That(index.ToArray<long>(), Is.EqualTo(new long[] { 0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23 }));
        AssertClose(scaled, xs.Select(1, 0) * Tensor.Arange(3, DType.Float64).Unsqueeze(1));
        var outside = Assert.Throws<InvalidOperationException>(() => Eqx.AxisIndex("b"));
        Assert.That(outside!.Message, Does.StartWith("Eqx.AxisIndex: there is no axis \"b\""));
    }

    [Test]
    public void APermutationOfTheExamplesFromAllGatherAndAxisIndex()
    {
        using var scope = Torch.Scope();
        var xs = Normal(30, 5, 2);

        // Each example takes its successor's value (JAX's ppermute with a cyclic shift), differentiably.
        var shifted = Eqx.FilterVmap((Tensor x) =>
        {
            var next = ((Eqx.AxisIndex("b") + 1) % 5).Unsqueeze(0);
            return Eqx.AllGather(x, "b").IndexSelect(0, next).Squeeze(0);
        }, axisName: "b")(xs);

        AssertClose(shifted, Tensor.Cat([xs.Slice(0, 1, 5), xs.Slice(0, 0, 1)]));
    }

    // ---- errors -----------------------------------------------------------------------------------------------------

    [Test]
    public void ACollectiveOutsideAnyFilterVmapNamesTheAxis()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<InvalidOperationException>(() => Eqx.Psum(Normal(1, 3), "batch"));
        Assert.That(e!.Message, Is.EqualTo(
            "Eqx.Psum: there is no axis \"batch\": no named FilterVmap is running on this thread. A collective reduces over " +
            "the examples of a FilterVmap: call it inside the function of Eqx.FilterVmap(f, axisName: \"batch\")."));

        var unnamed = Assert.Throws<InvalidOperationException>(() =>
            Eqx.FilterVmap((Tensor x) => Eqx.Pmean(x, "batch"))(Normal(2, 4, 3)));
        Assert.That(unnamed!.Message, Does.StartWith("Eqx.Pmean: there is no axis \"batch\": no named FilterVmap is running"));
    }

    [Test]
    public void AnUnknownAxisListsTheAxesInScope()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<InvalidOperationException>(() => Eqx.FilterVmap((Tensor row) =>
            Eqx.FilterVmap((Tensor x) => Eqx.Pmax(x, "batch"), axisName: "cols")(row), axisName: "rows")(Normal(3, 2, 3)));
        Assert.That(e!.Message, Is.EqualTo(
            "Eqx.Pmax: there is no axis \"batch\" here; the FilterVmap axes in scope are \"cols\", \"rows\" (innermost first). " +
            "Use one of those names, or give the FilterVmap you mean that axisName."));
    }

    [Test]
    public void AnAxisIsOnlyInScopeWhileItsFilterVmapRuns()
    {
        using var scope = Torch.Scope();
        Tensor? escaped = null;
        Eqx.FilterVmap((Tensor x) => escaped = x * 2.0, axisName: "batch")(Normal(4, 3, 2));
        Assert.Throws<InvalidOperationException>(() => Eqx.Psum(Normal(5, 2), "batch"));
        Assert.That(escaped, Is.Not.Null);
    }

    [Test]
    public void PmeanOfIntegersOrBoolsIsAnError()
    {
        using var scope = Torch.Scope();
        var ints = Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 2, 2);

        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => Eqx.Pmean(x, "b"), axisName: "b")(ints));
        Assert.That(e!.Message, Does.StartWith(
            "Eqx.Pmean over axis \"b\": x is i64[2], an integer tensor; the mean of integers is not an integer: convert " +
            "first, e.g. Pmean(x.To(DType.Float32), ...), or use Psum."));

        var bools = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => Eqx.Pmean(x > 2, "b"), axisName: "b")(ints));
        Assert.That(bools!.Message, Does.StartWith(
            "Eqx.Pmean over axis \"b\": x is bool[2], a bool tensor; convert it first, e.g. Pmean(x.To(DType.Float32), ...)."));

        var sum = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => Eqx.Psum(x > 2, "b"), axisName: "b")(ints));
        Assert.That(sum!.Message, Does.StartWith(
            "Eqx.Psum over axis \"b\": x is bool[2], a bool tensor; count with Psum(x.To(DType.Int64), ...) instead, or use Pmax/Pmin for any/all."));
    }

    [Test]
    public void ATreePmeanNamesTheIntegerLeaf()
    {
        using var scope = Torch.Scope();
        var model = Eqx.TreeAt(new VmapAffine(3, 2, seed: 21), m => m.Bias, Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 2, 2));
        var stacked = Eqx.TreeAt(model, m => m.Weight, Normal(22, 2, 2, 3));

        var e = Assert.Throws<ArgumentException>(() =>
            Eqx.FilterVmap((VmapAffine m) => Eqx.Pmean(m, "b"), axisName: "b")(stacked));
        Assert.That(e!.Message, Does.StartWith("Eqx.Pmean over axis \"b\": the leaf at Bias is i64[2], an integer tensor;"));
    }

    [Test]
    public void ACollectiveUnderAGradientInsideTheFilterVmapIsNotSupported()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(3, 2, seed: 23);

        var e = Assert.Throws<NotSupportedException>(() => Eqx.FilterVmap((Tensor x) =>
            Eqx.FilterGrad((VmapAffine m) => Eqx.Pmean(m.Forward(x), "batch").Sum())(model), axisName: "batch")(Normal(24, 4, 3)));
        Assert.That(e!.Message, Does.StartWith(
            "Eqx.Pmean over axis \"batch\": the tensor is differentiated by a gradient transform (FilterGrad, FilterValueAndGrad, " +
            "PerExampleGrads) running inside that axis's FilterVmap, and functorch in LibTorch 1.13 cannot reduce across the " +
            "examples beneath its gradient layer."));
    }

    [Test]
    public void AGradientInsideTheFilterVmapMayUseCollectivesOfAnInnerAxis()
    {
        using var scope = Torch.Scope();
        var model = new VmapAffine(3, 2, seed: 25);
        var xs = Normal(26, 4, 5, 3);   // 4 outer examples, each a batch of 5

        // The gradient runs inside "outer"; the collective is over "inner", a FilterVmap inside the gradient.
        var grads = Eqx.FilterVmap((Tensor batch) => Eqx.FilterGrad((VmapAffine m) =>
            Eqx.FilterVmap((Tensor x) => { var h = m.Forward(x); return (h - Eqx.Pmean(h, "inner")).Square().Sum(); },
                axisName: "inner")(batch).Sum())(model), axisName: "outer")(xs);

        for (int o = 0; o < 4; o++)
        {
            var batch = xs.Select(0, o);
            var expected = Eqx.FilterGrad((VmapAffine m) =>
            {
                var h = (batch.Matmul(m.Weight.T) + m.Bias).Tanh();
                return (h - h.Mean(0, keepdim: true)).Square().Sum();
            })(model);
            AssertClose(grads.Weight.Select(0, o), expected.Weight, $"Weight, outer example {o}", 1e-9, 1e-11);
            AssertClose(grads.Bias.Select(0, o), expected.Bias, $"Bias, outer example {o}", 1e-9, 1e-11);
        }
    }
}
