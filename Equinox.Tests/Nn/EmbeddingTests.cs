using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

// Embedding against torch.nn.Embedding (1.13) on the same table.
public class EmbeddingTests
{
    [Test]
    public void EmbeddingMatchesTorchEmbeddingForIndicesOfAnyShapeWithTheTableGradient()
    {
        using var scope = Torch.Scope();
        var table = new Embedding(10, 4, Key.Create(1), DType.Float64);
        var w = table.Weight.WithRequiresGrad();
        var layer = new Embedding(w);
        foreach (var (shape, dtype) in new (long[], DType)[] { ([], DType.Int64), ([5], DType.Int64), ([2, 3], DType.Int32), ([3], DType.UInt8) })
        {
            var x = Tensor.RandInt(Key.Create(2), shape, 0, 10, dtype);
            var y = layer.Forward(x);
            Assert.That(y.Shape, Is.EqualTo(shape.Append(4).ToArray()));
            LayerOracle.AssertMatches(y, LayerOracle.Call + "out = call(torch.nn.Embedding(10, 4).double(), {'weight': w}, (x.long(),))",
                ("x", x), ("w", w));
        }
    }

    [Test]
    public void EmbeddingStartsStandardNormalAsTorchAndTakesATable()
    {
        using var scope = Torch.Scope();
        var layer = new Embedding(500, 20, Key.Create(3));
        Assert.That(layer.Weight.Shape, Is.EqualTo(new long[] { 500, 20 }));
        Assert.That(layer.Weight.Mean().Item<float>(), Is.EqualTo(0).Within(0.05));
        Assert.That(layer.Weight.Var().Item<float>(), Is.EqualTo(1).Within(0.05));
        var loaded = new Embedding(Tensor.Arange(6).To(DType.Float32).Reshape(3, 2));
        Assert.That((loaded.NumEmbeddings, loaded.EmbeddingSize), Is.EqualTo((3, 2)));
        Assert.That(loaded.Forward(Tensor.FromArray(new long[] { 2, 0 }, 2)).ToArray<float>(), Is.EqualTo(new float[] { 4, 5, 0, 1 }));
        Assert.Throws<ArgumentException>(() => new Embedding(Tensor.Zeros(3)));
    }

    [Test]
    public void EmbeddingUnderFilterVmapEqualsTheBatchedCall()
    {
        using var scope = Torch.Scope();
        var layer = new Embedding(7, 3, Key.Create(4));
        var tokens = Tensor.RandInt(Key.Create(5), [4, 6], 0, 7);
        var mapped = Eqx.FilterVmap((Tensor x) => layer.Forward(x))(tokens);
        Assert.That(mapped.ToArray<float>(), Is.EqualTo(layer.Forward(tokens).ToArray<float>()));
    }

    [Test]
    public void EmbeddingRejectsFloatIndicesAndNamesAnIndexOutOfRange()
    {
        using var scope = Torch.Scope();
        var layer = new Embedding(10, 4, Key.Create(1));
        var floats = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(3)))!;
        Assert.That(floats.Message, Does.StartWith("Embedding(10, 4) expects integer indices; got f32[3]."));
        var high = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.FromArray(new long[] { 1, 12, 3 }, 3)))!;
        Assert.That(high.Message, Does.StartWith("Embedding(10, 4) expects indices in [0, 10); got 12 in i64[3]."));
        var negative = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.FromArray(new int[] { 0, -1 }, 2)))!;
        Assert.That(negative.Message, Does.StartWith("Embedding(10, 4) expects indices in [0, 10); got -1 in i32[2]."));
        var hole = Assert.Throws<TreeHoleException>(() => Eqx.Filter(layer, _ => false).Forward(Tensor.FromArray(new long[] { 1 }, 1)))!;
        Assert.That(hole.Path, Is.EqualTo("Embedding.Weight"));
    }
}
