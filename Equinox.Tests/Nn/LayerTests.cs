using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;


// Layers against PyTorch on identical weights: outputs and gradients.
public class LayerTests
{
    [Test]
    public void LinearMatchesTorchLinearOnASingleExampleAndABatch()
    {
        using var scope = Torch.Scope();
        var layer = new Linear(3, 4, dtype: DType.Float64, key: Key.Create(1));
        foreach (var shape in new long[][] { [3], [5, 3], [2, 5, 3] })
        {
            var x = Tensor.Normal(Key.Create(2), shape, DType.Float64);
            var expected = PyTorchOracle.Run("torch.nn.functional.linear(x, w, b)", ("x", x), ("w", layer.Weight), ("b", layer.Bias!));
            OracleAssert.Close(layer.Forward(x), expected.Out, what: $"Linear on {x.Describe()}");
        }
    }

    [Test]
    public void LinearInitialisesLikePyTorchWithinOneOverRootFanIn()
    {
        using var scope = Torch.Scope();
        var layer = new Linear(16, 8, key: Key.Create(3));
        Assert.That(layer.Weight.Shape, Is.EqualTo(new long[] { 8, 16 }));
        Assert.That(layer.Bias!.Shape, Is.EqualTo(new long[] { 8 }));
        Assert.That(layer.Weight.Abs().Max().Item<double>(), Is.LessThanOrEqualTo(0.25));
        Assert.That(layer.Weight.Abs().Max().Item<double>(), Is.GreaterThan(0.2), "weights should fill the ±1/√16 range");
        Assert.That(new Linear(16, 8, useBias: false, key: Key.Create(3)).Bias, Is.Null);
    }

    [Test]
    public void LinearRejectsAnInputOfTheWrongWidthNamingBoth()
    {
        using var scope = Torch.Scope();
        var layer = new Linear(3, 4, key: Key.Create(1));
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 5)))!;
        Assert.That(e.Message, Does.StartWith("Linear(3 -> 4) expects inputs ending in 3; got f32[2,5]."));
    }

    [Test]
    public void LinearGradientsMatchPyTorch()
    {
        using var scope = Torch.Scope();
        var layer = new Linear(3, 2, dtype: DType.Float64, key: Key.Create(4));
        var w = layer.Weight.WithRequiresGrad();
        var b = layer.Bias!.WithRequiresGrad();
        var x = Tensor.Normal(Key.Create(5), [4, 3], DType.Float64);
        var output = new Linear(w, b).Forward(x).Tanh().Sum();
        var grads = Autograd.Grad(output, w, b);
        var expected = PyTorchOracle.RunWithGrad("torch.nn.functional.linear(x, w, b).tanh().sum()", ("x", x), ("w", w), ("b", b));
        OracleAssert.Close(output, expected.Out);
        OracleAssert.Grads(expected, grads, "w", "b");
    }

    [Test]
    public void MlpMatchesTheSameLayersComposedInPyTorch()
    {
        using var scope = Torch.Scope();
        var mlp = new Mlp(2, 3, 8, 2, activation: Activations.Tanh, dtype: DType.Float64, key: Key.Create(6));
        Assert.That(mlp.Layers.Length, Is.EqualTo(3));
        var x = Tensor.Normal(Key.Create(7), [5, 2], DType.Float64);
        var inputs = new List<(string, Tensor)> { ("x", x) };
        for (int i = 0; i < 3; i++)
        {
            inputs.Add(($"w{i}", mlp.Layers[i].Weight));
            inputs.Add(($"b{i}", mlp.Layers[i].Bias!));
        }
        const string python = "F = torch.nn.functional\n" +
                              "out = F.linear(F.linear(F.linear(x, w0, b0).tanh(), w1, b1).tanh(), w2, b2)";
        var expected = PyTorchOracle.Run(python, inputs.ToArray());
        OracleAssert.Close(mlp.Forward(x), expected.Out);
    }

    [Test]
    public void MlpIsATreeWithTwoLeavesPerLayerAndPrintsLikeEquinox()
    {
        using var scope = Torch.Scope();
        var mlp = new Mlp(2, 1, 4, 1, key: Key.Create(8));
        Assert.That(Eqx.LeafCount(mlp), Is.EqualTo(4));
        Assert.That(Eqx.LeafPaths(mlp).Select(p => p.StateDictKey),
            Is.EqualTo(new[] { "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias" }));
        Assert.That(mlp.Layers[0].ToString(), Is.EqualTo("Linear(weight=f32[4,2], bias=f32[4], inFeatures=2, outFeatures=4, useBias=true)"));
        Assert.That(mlp.ToString(), Does.Contain("useBias=true,\n  useFinalBias=true,")
            .And.Contain("activation=<function Relu>").And.Contain("finalActivation=<function Identity>"));
    }

    [Test]
    public void APartitionedMlpIsAMaskThatNamesTheMissingLeafWhenCalled()
    {
        using var scope = Torch.Scope();
        var mlp = new Mlp(2, 3, 4, 1, key: Key.Create(6));
        var x = Tensor.Normal(Key.Create(7), [5, 2]);
        var (matrices, rest) = Eqx.Partition(mlp, t => t.Rank == 2);

        var missingBias = Assert.Throws<TreeHoleException>(() => matrices.Forward(x))!;
        Assert.That(missingBias.Message, Is.EqualTo(
            "Mlp.Layers[0].Bias is null, but the module needs it to run. A tree from Eqx.Filter or Eqx.Partition is a mask " +
            "for tree functions, not a model to call: combine it with the other part first (Eqx.Combine(matching, others)), " +
            "or put a tensor in the slot with Eqx.TreeAt."));
        Assert.That(missingBias.Path, Is.EqualTo("Mlp.Layers[0].Bias"));
        Assert.That(Assert.Throws<TreeHoleException>(() => rest.Forward(x))!.Path, Is.EqualTo("Mlp.Layers[0].Weight"));
        Assert.That(Assert.Throws<TreeHoleException>(() => Eqx.TreeAt(mlp, m => m.Layers[1], (Linear)null!).Forward(x))!.Path,
            Is.EqualTo("Mlp.Layers[1]"));

        Assert.That(Eqx.Combine(matrices, rest).Forward(x).ToArray<float>(), Is.EqualTo(mlp.Forward(x).ToArray<float>()));
    }

    [Test]
    public void ALinearLayerKeepsWhetherItUsesABiasInItsStaticPart()
    {
        using var scope = Torch.Scope();
        var layer = new Linear(3, 2, key: Key.Create(1));
        Assert.That(layer.UseBias, Is.True);
        Assert.That(new Linear(3, 2, useBias: false, key: Key.Create(1)).UseBias, Is.False);
        Assert.That(new Linear(layer.Weight).UseBias, Is.False);
        Assert.That(new Linear(layer.Weight, layer.Bias).UseBias, Is.True);

        var x = Tensor.Ones(3);
        var weights = Eqx.Filter(layer, t => t.Rank == 2);
        Assert.That(Assert.Throws<TreeHoleException>(() => weights.Forward(x))!.Path, Is.EqualTo("Linear.Bias"));
        var holes = Eqx.Unflatten(layer, [null, layer.Bias]);
        Assert.That(Assert.Throws<TreeHoleException>(() => holes.Forward(x))!.Path, Is.EqualTo("Linear.Weight"));

        var ignored = Eqx.TreeAt(new Linear(layer.Weight), l => l.Bias, Tensor.Ones(2));
        var error = Assert.Throws<InvalidOperationException>(() => ignored.Forward(x))!;
        Assert.That(error.Message, Is.EqualTo(
            "Linear.Bias holds f32[2], but the layer was built without a bias (UseBias is false), so the bias would be " +
            "ignored. Build the layer with it instead: new Linear(weight, bias)."));

        var noFinalBias = new Mlp(2, 1, 4, 1, key: Key.Create(2), useFinalBias: false);
        Assert.That(noFinalBias.Layers.Select(l => l.UseBias), Is.EqualTo(new[] { true, false }));
        Assert.That(noFinalBias.Forward(Tensor.Ones(2)).Shape, Is.EqualTo(new long[] { 1 }));
    }

    [Test]
    public void TwoMlpsBuiltAlikeHaveEqualStaticPartsSoFilterJitCanShareACompile()
    {
        using var scope = Torch.Scope();
        ITreeNode a = new Mlp(2, 1, 4, 1, key: Key.Create(8));
        ITreeNode b = new Mlp(2, 1, 4, 1, key: Key.Create(9));
        ITreeNode c = new Mlp(2, 1, 4, 1, activation: Activations.Tanh, key: Key.Create(9));
        Assert.That(a.TreeStaticEquals(b), Is.True);
        Assert.That(a.TreeStaticHashCode(), Is.EqualTo(b.TreeStaticHashCode()));
        Assert.That(a.TreeStaticEquals(c), Is.False, "a different activation is a different static part");
    }
}
