using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

/// <summary>Runs a layer and the same layer in PyTorch and compares outputs and gradients.</summary>
internal static class LayerOracle
{
    /// <summary>The import every snippet that calls a torch.nn module with our tensors needs.</summary>
    public const string Call = "from torch.nn.utils.stateless import functional_call as call\n";

    /// <summary>
    /// Asserts that <paramref name="output"/> equals PyTorch's <c>out</c> from <paramref name="python"/>, and that the
    /// gradients of <c>(output · seed).sum()</c> (a random seed) with respect to every input that requires grad equal
    /// PyTorch's.
    /// </summary>
    public static void AssertMatches(Tensor output, string python, params (string Name, Tensor Value)[] inputs)
    {
        var seed = Tensor.Normal(Key.Create(99), output.Shape, output.DType);
        var expected = PyTorchOracle.RunWithGrad(python, seed, inputs);
        OracleAssert.Close(output, expected.Out, what: $"output on {inputs[0].Value.Describe()}");
        var withGrad = inputs.Where(i => i.Value.RequiresGrad).ToArray();
        if (withGrad.Length == 0) return;
        var grads = Autograd.Grad([(output * seed).Sum()], withGrad.Select(i => i.Value).ToArray());
        OracleAssert.Grads(expected, grads, withGrad.Select(i => i.Name).ToArray());
    }

    public static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    public static Tensor Parameter(int seed, params long[] shape) => Normal(seed, shape).WithRequiresGrad();
}

// LayerNorm, RMSNorm, GroupNorm, PReLU and WeightNorm against torch.nn (1.13) on identical parameters.
public class NormTests
{
    private static Tensor Normal(int seed, params long[] shape) => LayerOracle.Normal(seed, shape);

    private static Tensor Parameter(int seed, params long[] shape) => LayerOracle.Parameter(seed, shape);

    // ---- LayerNorm ------------------------------------------------------------------------------------------------

    [Test]
    public void LayerNormMatchesTorchLayerNormOnOneExampleAndBatchesWithGradients()
    {
        using var scope = Torch.Scope();
        foreach (var (shape, input) in new (long[], long[])[] { ([4], [4]), ([4], [3, 4]), ([2, 3], [5, 2, 3]), ([2, 3], [2, 3]) })
        {
            var w = Parameter(1, shape);
            var b = Parameter(2, shape);
            var x = Parameter(3, input);
            var layer = Eqx.TreeAt(Eqx.TreeAt(new LayerNorm(shape, eps: 1e-3, dtype: DType.Float64), l => l.Weight, w), l => l.Bias, b);
            LayerOracle.AssertMatches(layer.Forward(x),
                LayerOracle.Call + $"m = torch.nn.LayerNorm([{string.Join(", ", shape)}], eps=1e-3).double()\n" +
                "out = call(m, {'weight': w, 'bias': b}, (x,))",
                ("x", x), ("w", w), ("b", b));
        }
    }

    [Test]
    public void LayerNormWithoutWeightOrBiasMatchesTorch()
    {
        using var scope = Torch.Scope();
        var x = Parameter(4, 3, 5);
        var w = Parameter(5, 5);
        var noBias = Eqx.TreeAt(new LayerNorm(5, useBias: false, dtype: DType.Float64), l => l.Weight, w);
        Assert.That(noBias.Bias, Is.Null);
        LayerOracle.AssertMatches(noBias.Forward(x), "F.layer_norm(x, [5], w, None, 1e-5)", ("x", x), ("w", w));
        var plain = new LayerNorm(5, useWeight: false, useBias: false, dtype: DType.Float64);
        Assert.That(plain.Weight, Is.Null);
        Assert.That(plain.Bias, Is.Null);
        LayerOracle.AssertMatches(plain.Forward(x), "F.layer_norm(x, [5], None, None, 1e-5)", ("x", x));
    }

    [Test]
    public void LayerNormStartsAsTorchDoesAndPrintsLikeEquinox()
    {
        using var scope = Torch.Scope();
        var layer = new LayerNorm([2, 3]);
        Assert.That(layer.Weight!.ToArray<float>(), Is.All.EqualTo(1f));
        Assert.That(layer.Bias!.ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(layer.ToString(), Is.EqualTo(
            "LayerNorm(\n  weight=f32[2,3],\n  bias=f32[2,3],\n  shape=[2, 3],\n  eps=0.00001,\n  useWeight=true,\n  useBias=true,\n)"));
        Assert.That(Eqx.LeafPaths(layer).Select(p => p.StateDictKey), Is.EqualTo(new[] { "weight", "bias" }));
    }

    [Test]
    public void LayerNormUnderFilterVmapEqualsTheBatchedCall()
    {
        using var scope = Torch.Scope();
        var layer = Eqx.TreeAt(Eqx.TreeAt(new LayerNorm(4, dtype: DType.Float64), l => l.Weight, Normal(1, 4)), l => l.Bias, Normal(2, 4));
        var xs = Normal(3, 6, 4);
        var mapped = Eqx.FilterVmap((Tensor x) => layer.Forward(x))(xs);
        Assert.That(mapped.Shape, Is.EqualTo(new long[] { 6, 4 }));
        OracleAssert.Values(mapped.ToArray<double>(), layer.Forward(xs).ToArray<double>(), 1e-12, 1e-12, "vmapped LayerNorm");
    }

    [Test]
    public void LayerNormRejectsAnInputNotEndingInItsShapeAndNamesAHole()
    {
        using var scope = Torch.Scope();
        var layer = new LayerNorm(4);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 5)))!;
        Assert.That(e.Message, Does.StartWith("LayerNorm([4]) expects inputs ending in [4]; got f32[2,5]."));
        var e2 = Assert.Throws<ArgumentException>(() => new LayerNorm([2, 3]).Forward(Tensor.Zeros(3)))!;
        Assert.That(e2.Message, Does.StartWith("LayerNorm([2, 3]) expects inputs ending in [2, 3]; got f32[3]."));

        var weights = Eqx.Filter(layer, t => t.Rank == 1 && t.ToArray<float>()[0] == 1f);
        var hole = Assert.Throws<TreeHoleException>(() => weights.Forward(Tensor.Zeros(4)))!;
        Assert.That(hole.Path, Is.EqualTo("LayerNorm.Bias"));
        Assert.That(hole.Message, Does.StartWith("LayerNorm.Bias is null, but the module needs it to run."));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNorm(Array.Empty<long>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerNorm(4, eps: -1));
    }

    // ---- RMSNorm --------------------------------------------------------------------------------------------------

    [Test]
    public void RMSNormMatchesItsDefinitionInTorchWithGradients()
    {
        // torch 1.13 has no RMSNorm (torch.nn.RMSNorm is 2.4's): the reference is its formula.
        using var scope = Torch.Scope();
        foreach (var (shape, input, useBias) in new (long[], long[], bool)[] { ([4], [4], false), ([4], [3, 4], true), ([2, 3], [5, 2, 3], false) })
        {
            var w = Parameter(1, shape);
            var b = Parameter(2, shape);
            var x = Parameter(3, input);
            var layer = Eqx.TreeAt(new RMSNorm(shape, useBias: useBias, dtype: DType.Float64), l => l.Weight, w);
            if (useBias) layer = Eqx.TreeAt(layer, l => l.Bias, b);
            var dims = string.Join(", ", Enumerable.Range(1, shape.Length).Select(i => -i));
            var python = $"out = x * torch.rsqrt(x.square().mean(dim=({dims},), keepdim=True) + 1e-5) * w" + (useBias ? " + b" : "");
            var inputs = new List<(string, Tensor)> { ("x", x), ("w", w) };
            if (useBias) inputs.Add(("b", b));
            LayerOracle.AssertMatches(layer.Forward(x), python, inputs.ToArray());
        }
    }

    [Test]
    public void RMSNormHasNoBiasByDefaultRejectsBadInputsAndNamesAHole()
    {
        using var scope = Torch.Scope();
        var layer = new RMSNorm(4);
        Assert.That(layer.UseBias, Is.False);
        Assert.That(layer.Bias, Is.Null);
        Assert.That(layer.Eps, Is.EqualTo(1e-5));
        Assert.That(layer.Weight!.ToArray<float>(), Is.All.EqualTo(1f));
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(4, 3)))!;
        Assert.That(e.Message, Does.StartWith("RMSNorm([4]) expects inputs ending in [4]; got f32[4,3]."));
        var hole = Assert.Throws<TreeHoleException>(() => Eqx.Filter(layer, _ => false).Forward(Tensor.Zeros(4)))!;
        Assert.That(hole.Path, Is.EqualTo("RMSNorm.Weight"));
    }

    // ---- GroupNorm ------------------------------------------------------------------------------------------------

    [Test]
    public void GroupNormMatchesTorchGroupNormOnOneExampleAndABatchWithGradients()
    {
        using var scope = Torch.Scope();
        var w = Parameter(1, 6);
        var b = Parameter(2, 6);
        var layer = Eqx.TreeAt(Eqx.TreeAt(new GroupNorm(3, 6, eps: 1e-4, dtype: DType.Float64), l => l.Weight, w), l => l.Bias, b);
        const string module = LayerOracle.Call + "m = torch.nn.GroupNorm(3, 6, eps=1e-4).double()\n";

        var batch = Parameter(3, 2, 6, 5);
        LayerOracle.AssertMatches(layer.ForwardBatch(batch), module + "out = call(m, {'weight': w, 'bias': b}, (x,))", ("x", batch), ("w", w), ("b", b));
        foreach (var shape in new long[][] { [6, 4, 3], [6, 5], [6] })
        {
            var one = Parameter(4, shape);
            LayerOracle.AssertMatches(layer.Forward(one), module + "out = call(m, {'weight': w, 'bias': b}, (x.unsqueeze(0),)).squeeze(0)",
                ("x", one), ("w", w), ("b", b));
        }

        var plain = new GroupNorm(2, 6, channelwiseAffine: false, dtype: DType.Float64);
        Assert.That(plain.Weight, Is.Null);
        Assert.That(plain.Bias, Is.Null);
        LayerOracle.AssertMatches(plain.ForwardBatch(batch), "F.group_norm(x, 2, eps=1e-5)", ("x", batch));
    }

    [Test]
    public void GroupNormRejectsAnInputWithoutItsChannelsAndBadSizes()
    {
        using var scope = Torch.Scope();
        var layer = new GroupNorm(2, 4);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(3, 5, 2)))!;
        Assert.That(e.Message, Is.EqualTo("GroupNorm(2 groups, 4 channels) expects one example [4, ...]; got f32[3,5,2]. For a batch [N, 4, ...] call ForwardBatch. (Parameter 'x')"));
        var e2 = Assert.Throws<ArgumentException>(() => layer.ForwardBatch(Tensor.Zeros(4, 5, 2)))!;
        Assert.That(e2.Message, Does.StartWith("GroupNorm(2 groups, 4 channels).ForwardBatch expects a batch [N, 4, ...]; got f32[4,5,2]."));
        var square = Tensor.Normal(Key.Create(7), [4, 4, 3]);
        Assert.That(layer.ForwardBatch(square).ToArray<float>(),
            Is.EqualTo(Eqx.FilterVmap((Tensor one) => layer.Forward(one))(square).ToArray<float>()).Within(1e-6),
            "a batch with as many examples as channels is normalised per example, as FilterVmap over Forward does");
        var sizes = Assert.Throws<ArgumentOutOfRangeException>(() => new GroupNorm(3, 4))!;
        Assert.That(sizes.Message, Does.StartWith("GroupNorm's 3 groups must divide its 4 channels."));
        var hole = Assert.Throws<TreeHoleException>(() => Eqx.Filter(layer, _ => false).Forward(Tensor.Zeros(4)))!;
        Assert.That(hole.Path, Is.EqualTo("GroupNorm.Weight"));
    }

    // ---- PReLU ----------------------------------------------------------------------------------------------------

    [Test]
    public void PReLUMatchesTorchPReLUWithOneSlopeAndASlopePerChannel()
    {
        using var scope = Torch.Scope();
        var shared = new PReLU(dtype: DType.Float64);
        Assert.That(shared.Weight.Shape, Is.EqualTo(new long[] { 1 }));
        Assert.That(shared.Weight.ToArray<double>(), Is.EqualTo(new[] { 0.25 }));
        var w1 = shared.Weight.WithRequiresGrad();
        foreach (var shape in new long[][] { [7], [2, 3], [3, 4, 5] })
        {
            var x = Parameter(1, shape);
            LayerOracle.AssertMatches(new PReLU(w1).Forward(x), LayerOracle.Call + "out = call(torch.nn.PReLU().double(), {'weight': w}, (x,))",
                ("x", x), ("w", w1));
        }

        var w3 = Parameter(2, 3);
        var channels = new PReLU(w3);
        Assert.That(channels.NumParameters, Is.EqualTo(3));
        const string module = LayerOracle.Call + "m = torch.nn.PReLU(3).double()\n";
        var batch = Parameter(3, 2, 3, 4);
        LayerOracle.AssertMatches(channels.ForwardBatch(batch), module + "out = call(m, {'weight': w}, (x,))", ("x", batch), ("w", w3));
        var one = Parameter(4, 3, 4);
        LayerOracle.AssertMatches(channels.Forward(one), module + "out = call(m, {'weight': w}, (x.unsqueeze(0),)).squeeze(0)", ("x", one), ("w", w3));
    }

    [Test]
    public void PReLUWithASlopePerChannelRejectsAnInputWithoutThoseChannels()
    {
        using var scope = Torch.Scope();
        var layer = new PReLU(numParameters: 3);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 4)))!;
        Assert.That(e.Message, Does.StartWith("PReLU(3 channels) expects one example [3, ...]; got f32[2,4]. For a batch [N, 3, ...] call ForwardBatch."));
        var e2 = Assert.Throws<ArgumentException>(() => layer.ForwardBatch(Tensor.Zeros(3, 4)))!;
        Assert.That(e2.Message, Does.StartWith("PReLU(3 channels).ForwardBatch expects a batch [N, 3, ...]; got f32[3,4]."));
        var hole = Assert.Throws<TreeHoleException>(() => Eqx.Filter(layer, _ => false).Forward(Tensor.Zeros(3)))!;
        Assert.That(hole.Path, Is.EqualTo("PReLU.Weight"));
    }

    // ---- WeightNorm -----------------------------------------------------------------------------------------------

    [Test]
    public void WeightNormStartsAtTheWrappedLayerAndMatchesTorchWeightNormWithGradients()
    {
        using var scope = Torch.Scope();
        var linear = new Linear(3, 2, Key.Create(1), dtype: DType.Float64);
        var x = Normal(2, 4, 3);
        var wrapped = new WeightNorm<Linear>(linear);
        Assert.That(wrapped.G.Shape, Is.EqualTo(new long[] { 2, 1 }), "one magnitude per output, as torch's weight_g");
        OracleAssert.Values(wrapped.Forward(x).ToArray<double>(), linear.Forward(x).ToArray<double>(), 1e-12, 1e-12, "a fresh WeightNorm computes what its layer did");
        Assert.That(Eqx.LeafPaths(wrapped).Select(p => p.StateDictKey), Is.EqualTo(new[] { "layer.weight", "layer.bias", "g" }));

        foreach (var axis in new[] { 0, 1 })
        {
            var v = Parameter(3, 2, 3);
            var g = Parameter(4, axis == 0 ? new long[] { 2, 1 } : new long[] { 1, 3 });
            var b = Parameter(5, 2);
            var layer = Eqx.TreeAt(Eqx.TreeAt(new WeightNorm<Linear>(new Linear(v, b), axis: axis), m => m.G, g), m => m.Layer.Weight, v);
            var input = Parameter(6, 4, 3);
            LayerOracle.AssertMatches(layer.Forward(input),
                LayerOracle.Call + $"m = torch.nn.utils.weight_norm(torch.nn.Linear(3, 2).double(), dim={axis})\n" +
                "out = call(m, {'weight_g': g, 'weight_v': v, 'bias': b}, (x,))",
                ("x", input), ("g", g), ("v", v), ("b", b));
        }
    }

    [Test]
    public void WeightNormWithoutAnAxisUsesOneNormOfTheWholeWeight()
    {
        using var scope = Torch.Scope();
        var v = Parameter(1, 2, 3);
        var b = Parameter(2, 2);
        var g = Parameter(3, 1, 1);
        var layer = Eqx.TreeAt(new WeightNorm<Linear>(new Linear(v, b), axis: null), m => m.G, g);
        Assert.That(new WeightNorm<Linear>(new Linear(v, b), axis: null).G.Shape, Is.EqualTo(new long[] { 1, 1 }));
        var x = Parameter(4, 5, 3);
        LayerOracle.AssertMatches(layer.Forward(x), "F.linear(x, g * v / v.norm(), b)", ("x", x), ("g", g), ("v", v), ("b", b));
    }

    [Test]
    public void WeightNormNamesAMissingWeightAndHoles()
    {
        using var scope = Torch.Scope();
        var linear = new Linear(3, 2, Key.Create(1));
        var e = Assert.Throws<ArgumentException>(() => new WeightNorm<Linear>(linear, weightName: "Kernel"))!;
        Assert.That(e.Message, Does.StartWith("WeightNorm cannot find a weight named 'Kernel' in Linear"));
        var axis = Assert.Throws<ArgumentException>(() => new WeightNorm<Linear>(linear, axis: 2))!;
        Assert.That(axis.Message, Does.StartWith("WeightNorm's axis 2 is not an axis of Linear.Weight, f32[2,3]."));

        var layer = new WeightNorm<Linear>(linear);
        var x = Tensor.Zeros(3);
        var noG = Eqx.Filter(layer, t => t.Rank == 1 || t.Size(1) == 3);
        Assert.That(Assert.Throws<TreeHoleException>(() => noG.Forward(x))!.Path, Is.EqualTo("WeightNorm.G"));
        var noV = Eqx.Filter(layer, t => t.Rank == 1 || t.Size(1) == 1);
        Assert.That(Assert.Throws<TreeHoleException>(() => noV.Forward(x))!.Path, Is.EqualTo("WeightNorm.Layer.Weight"));
    }
}
