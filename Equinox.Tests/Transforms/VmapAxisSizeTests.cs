using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// FilterVmap's axisSize: a batch without a batched input, checked against batched inputs; and outputs that do not
// depend on the batch, broadcast to the batch size wherever outAxes puts it.
public class VmapAxisSizeTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static void AssertClose(Tensor actual, Tensor expected, string what = "result")
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        OracleAssert.Values(actual.To(DType.Float64).ToArray<double>(), expected.To(DType.Float64).ToArray<double>(), 1e-12, 1e-14, what);
    }

    // The definition: call f once per example and stack.
    private static Tensor Repeat(int n, Func<Tensor> f, int outAxis = 0)
    {
        var results = new Tensor[n];
        for (int b = 0; b < n; b++) results[b] = f();
        return Tensor.Stack(results, outAxis);
    }

    [SetUp]
    public void NoLayerIsOpen() => Assert.That(Functorch.Depth, Is.Zero, "a functorch layer leaked from an earlier test");

    [TearDown]
    public void NoLayerIsLeft() => Assert.That(Functorch.Depth, Is.Zero, "a functorch layer leaked");

    [Test]
    public void WithoutInputsTheFunctionIsMappedAxisSizeTimes()
    {
        using var scope = Torch.Scope();
        var c = Normal(1, 3);

        var ys = Eqx.FilterVmap(() => (c * 2.0).Exp(), axisSize: 4)();
        var (first, last) = Eqx.FilterVmap(() => (c.Sum(), c.Unsqueeze(0)), axisSize: 2, outAxes: (0, -1))();

        AssertClose(ys, Repeat(4, () => (c * 2.0).Exp()));
        AssertClose(first, Repeat(2, () => c.Sum()), "first");
        AssertClose(last, Repeat(2, () => c.Unsqueeze(0), outAxis: 2), "last");
    }

    [Test]
    public void UnbatchedInputsWithAxisSizeGainABatch()
    {
        using var scope = Torch.Scope();
        var w = Normal(2, 2, 3);
        var layer = new VmapAffine(3, 2, seed: 3);

        var ys = Eqx.FilterVmap((Tensor m) => m.Tanh(), inAxes: VmapAxes.None, axisSize: 5)(w);
        var copies = Eqx.FilterVmap((VmapAffine m) => m, inAxes: VmapAxes.None, axisSize: 3)(layer);

        AssertClose(ys, Repeat(5, () => w.Tanh()));
        AssertClose(copies.Weight, Repeat(3, () => layer.Weight), "Weight");
        AssertClose(copies.Bias, Repeat(3, () => layer.Bias), "Bias");
        Assert.That(copies.Name, Is.EqualTo("affine"));
    }

    [Test]
    public void PerExampleRandomInitialisationBuildsAnEnsemble()
    {
        using var scope = Torch.Scope();

        // Different: each member draws its own weights from the key's stream; Same: every member is the plain init.
        var ensemble = Eqx.FilterVmap(() => new VmapAffine(3, 2, seed: 4), axisSize: 5, randomness: VmapRandomness.Different)();
        var again = Eqx.FilterVmap(() => new VmapAffine(3, 2, seed: 4), axisSize: 5, randomness: VmapRandomness.Different)();
        var same = Eqx.FilterVmap(() => new VmapAffine(3, 2, seed: 4), axisSize: 5, randomness: VmapRandomness.Same)();
        var plain = new VmapAffine(3, 2, seed: 4);

        Assert.That(ensemble.Weight.Shape, Is.EqualTo(new long[] { 5, 2, 3 }));
        Assert.That(ensemble.Bias.Shape, Is.EqualTo(new long[] { 5, 2 }));
        AssertClose(again.Weight, ensemble.Weight, "the same key gives the same ensemble");
        for (int a = 0; a < 5; a++)
            for (int b = a + 1; b < 5; b++)
                Assert.That(ensemble.Weight.Select(0, a).ToArray<double>(), Is.Not.EqualTo(ensemble.Weight.Select(0, b).ToArray<double>()),
                    $"members {a} and {b} drew the same weights");
        AssertClose(same.Weight, Repeat(5, () => plain.Weight), "Same");

        // The ensemble is an ordinary batched tree: run every member on one input.
        var x = Normal(5, 3);
        var outs = Eqx.FilterVmap((VmapAffine m) => m.Forward(x))(ensemble);
        var expected = new Tensor[5];
        for (int m = 0; m < 5; m++) expected[m] = (ensemble.Weight.Select(0, m).Matmul(x) + ensemble.Bias.Select(0, m)).Tanh();
        AssertClose(outs, Tensor.Stack(expected), "ensemble forward");
    }

    [Test]
    public void AxisSizeWorksWithCollectives()
    {
        using var scope = Torch.Scope();

        var fives = Eqx.FilterVmap(() => Eqx.Psum(Tensor.Ones([2], DType.Float64), "b"), axisSize: 5, axisName: "b")();
        var centred = Eqx.FilterVmap(() =>
        {
            var z = Tensor.Normal(Key.Create(6), [3], DType.Float64);
            return z - Eqx.Pmean(z, "b");
        }, axisSize: 6, randomness: VmapRandomness.Different, axisName: "b")();

        Assert.That(fives.ToArray<double>(), Is.All.EqualTo(5.0));
        Assert.That(fives.Shape, Is.EqualTo(new long[] { 5, 2 }));
        OracleAssert.Values(centred.Sum(0).ToArray<double>(), [0, 0, 0], 0, 1e-12, "column sums");
        Assert.That(centred.Abs().Sum().Item<double>(), Is.GreaterThan(0.1));
    }

    [Test]
    public void AxisSizeThatAgreesWithTheInputsIsAccepted()
    {
        using var scope = Torch.Scope();
        var xs = Normal(7, 4, 3);
        var ys = Eqx.FilterVmap((Tensor x) => x * 3.0, axisSize: 4)(xs);
        AssertClose(ys, xs * 3.0);
    }

    [Test]
    public void AxisSizeThatDisagreesNamesTheLeafAndBothSizes()
    {
        using var scope = Torch.Scope();
        var stacked = Eqx.TreeAt(new VmapAffine(3, 2, seed: 8), m => m.Weight, Normal(9, 4, 2, 3));
        stacked = Eqx.TreeAt(stacked, m => m.Bias, Normal(10, 4, 2));

        var e = Assert.Throws<ArgumentException>(() =>
            Eqx.FilterVmap((Tensor x, VmapAffine m) => m.Forward(x), inAxes: (VmapAxes.None, 0), axisSize: 5)(Normal(11, 3), stacked));
        Assert.That(e!.Message, Is.EqualTo(
            "FilterVmap: axisSize is 5, but argument 1 at Weight (f64[4,2,3]) is batched along axis 0 with size 4; give " +
            "axisSize: 4, or leave it out to take the size from the inputs. (Parameter 'axisSize')"));
        Assert.That(e.ParamName, Is.EqualTo("axisSize"));

        var bare = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => x, inAxes: 1, axisSize: 2)(Normal(12, 4, 3)));
        Assert.That(bare!.Message, Does.StartWith("FilterVmap: axisSize is 2, but the argument (f64[4,3]) is batched along axis 1 with size 3;"));
    }

    [Test]
    public void BadAxisSizesAndNamesAreRejected()
    {
        using var scope = Torch.Scope();
        var c = Normal(13, 2);

        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Eqx.FilterVmap(() => c, axisSize: -1)());
        Assert.That(negative!.Message, Does.StartWith("FilterVmap: axisSize must not be negative."));

        var none = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => x, inAxes: VmapAxes.None)(c));
        Assert.That(none!.Message, Does.StartWith(
            "FilterVmap: no input tensor is batched (inAxes maps every one to None), so there is no batch size. Batch at " +
            "least one input, e.g. inAxes: 0, or give the size with axisSize."));

        var empty = Assert.Throws<ArgumentException>(() => Eqx.FilterVmap((Tensor x) => x, axisName: "")(Normal(14, 3, 2)));
        Assert.That(empty!.Message, Does.StartWith("FilterVmap: axisName must not be empty; leave it null for an unnamed batch."));
    }

    [Test]
    public void OutAxesNoneReturnsAnUnbatchedOutputAsItIs()
    {
        using var scope = Torch.Scope();
        var c = Normal(15, 3);
        var ys = Eqx.FilterVmap(() => c * 2.0, axisSize: 4, outAxes: VmapAxes.None)();
        AssertClose(ys, c * 2.0);
    }

    // ---- outputs that do not depend on the batch ---------------------------------------------------------------------

    [Test]
    public void UnbatchedOutputsAreBroadcastWhereverOutAxesPutsTheBatch()
    {
        using var scope = Torch.Scope();
        var xs = Normal(16, 4, 3);
        var c = Normal(17, 2, 5);

        foreach (var axis in new[] { 0, 1, 2, -1, -2 })
        {
            var (ys, cs) = Eqx.FilterVmap((Tensor x) => (x * 2.0, c + 1.0), outAxes: (0, axis))(xs);
            var position = axis < 0 ? axis + 3 : axis;
            AssertClose(cs, Repeat(4, () => c + 1.0, position), $"outAxes {axis}");
            AssertClose(ys, xs * 2.0, $"outAxes {axis}: the batched output");
        }
    }

    [Test]
    public void AnInnerFilterVmapBroadcastsOutputsThatDependOnlyOnTheOuterBatch()
    {
        using var scope = Torch.Scope();
        var xs = Normal(18, 4, 3);

        // The inner function ignores its own batch (3 examples of `inner`) and returns the outer example, batch last.
        var inner = Normal(19, 3);
        var ys = Eqx.FilterVmap((Tensor x) => Eqx.FilterVmap((Tensor i) => x.Exp(), outAxes: -1)(inner))(xs);

        Assert.That(ys.Shape, Is.EqualTo(new long[] { 4, 3, 3 }));
        for (int o = 0; o < 4; o++) AssertClose(ys.Select(0, o), Repeat(3, () => xs.Select(0, o).Exp(), 1), $"outer example {o}");
    }

    [Test]
    public void BroadcastOutputsOwnTheirMemory()
    {
        using var scope = Torch.Scope();
        var c = Tensor.FromArray(new double[] { 1, 2, 3 });
        var ys = Eqx.FilterVmap((Tensor x) => c, axisName: "b")(Normal(20, 4, 1));

        // An optimiser step updates in place; a broadcast view would share one row between all examples.
        ys.AddInPlace(Tensor.Arange(12, DType.Float64).Reshape(4, 3));

        Assert.That(ys.ToArray<double>(), Is.EqualTo(new double[] { 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14 }));
        Assert.That(c.ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3 }), "the captured tensor is untouched");
    }
}
