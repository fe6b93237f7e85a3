using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

// Tensor.Shape: a read-only view of the cached sizes that indexes, loops, compares and prints like a list of sizes.
public class TensorShapeTests
{
    private TensorScope scope = null!;

    [SetUp]
    public void OpenScope() => scope = Torch.Scope();

    [TearDown]
    public void CloseScope() => scope.Dispose();

    [Test]
    public void TheShapeIsAReadOnlyStructNotTheCachedArray()
    {
        var property = typeof(Tensor).GetProperty(nameof(Tensor.Shape))!;
        Assert.That(property.PropertyType, Is.EqualTo(typeof(TensorShape)), "no array to write into");
        Assert.That(property.CanWrite, Is.False);
        Assert.That(typeof(TensorShape).IsValueType, Is.True);
        Assert.That(typeof(TensorShape).GetCustomAttributes(false).Any(a => a.GetType().Name == "IsReadOnlyAttribute"), Is.True,
            "a readonly struct");
        Assert.That(typeof(TensorShape).GetProperty("Item")!.CanWrite, Is.False, "the indexer only reads");
    }

    [Test]
    public void ToArrayIsACopyThatChangesNoTensor()
    {
        var t = Tensor.Zeros(2, 3);
        var copy = t.Shape.ToArray();
        copy[0] = 7;
        copy[1] = 9;

        Assert.That(t.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(t.Describe(), Is.EqualTo("f32[2,3]"));
        Assert.That(t.ZerosLike().Shape, Is.EqualTo(new long[] { 2, 3 }), "the cached shape behind ZerosLike is untouched");
        Assert.That(t.Shape.ToArray(), Is.Not.SameAs(t.Shape.ToArray()), "a new array each time");
    }

    [Test]
    public void IndexingCountsFromEitherEndAndChecksBounds()
    {
        var shape = Tensor.Zeros(2, 3, 4).Shape;

        Assert.That(shape.Length, Is.EqualTo(3));
        Assert.That(shape.Rank, Is.EqualTo(3));
        Assert.That(shape[0], Is.EqualTo(2));
        Assert.That(shape[^1], Is.EqualTo(4));
        Assert.That(shape[1..].ToArray(), Is.EqualTo(new long[] { 3, 4 }));
        Assert.Throws<IndexOutOfRangeException>(() => _ = shape[3]);
        Assert.Throws<IndexOutOfRangeException>(() => _ = shape[-1]);
    }

    [Test]
    public void ItLoopsAndSpreadsLikeAList()
    {
        var shape = Tensor.Zeros(2, 3, 4).Shape;
        var seen = new List<long>();
        foreach (var size in shape) seen.Add(size);

        Assert.That(seen, Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(shape.Sum(), Is.EqualTo(9), "IReadOnlyList<long>: LINQ works");
        Assert.That(((IReadOnlyList<long>)shape).Count, Is.EqualTo(3));
        long[] batched = [5, .. shape];
        Assert.That(batched, Is.EqualTo(new long[] { 5, 2, 3, 4 }));
        ReadOnlySpan<long> span = shape;
        Assert.That(span.ToArray(), Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(shape.AsSpan().Length, Is.EqualTo(3));
    }

    [Test]
    public void AZeroDimensionalShapeAndTheDefaultAreEmpty()
    {
        var scalar = Tensor.Scalar(1.0).Shape;
        Assert.That(scalar.Length, Is.Zero);
        Assert.That(scalar, Is.Empty);
        Assert.That(scalar.ToString(), Is.EqualTo("[]"));
        Assert.That(default(TensorShape), Is.EqualTo(scalar));
        Assert.That(default(TensorShape).ToArray(), Is.Empty);
        foreach (var _ in default(TensorShape)) Assert.Fail("the default shape has no sizes");
    }

    [Test]
    public void ShapesCompareBySizes()
    {
        var a = Tensor.Zeros(2, 3).Shape;
        var b = Tensor.Ones(2, 3).Shape;
        var c = Tensor.Zeros(3, 2).Shape;

        Assert.That(a == b, Is.True);
        Assert.That(a != c, Is.True);
        Assert.That(a.Equals(b), Is.True);
        Assert.That(a.Equals((object)b), Is.True);
        Assert.That(a.Equals((object)new long[] { 2, 3 }), Is.False, "an array is not a shape");
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a.SequenceEqual([2, 3]), Is.True);
        Assert.That(a.SequenceEqual([2, 3, 1]), Is.False);
        Assert.That(Tensor.Zeros(2).Shape == Tensor.Zeros(2, 1).Shape, Is.False, "rank counts");
        Assert.That(a, Is.Not.EqualTo(new long[] { 3, 2 }), "NUnit compares it element by element");
    }

    [Test]
    public void ItPrintsWithCommaAndSpaceWhileDescribeKeepsItsCompactForm()
    {
        var t = Tensor.Zeros(2, 3);
        Assert.That(t.Shape.ToString(), Is.EqualTo("[2, 3]"));
        Assert.That($"{t.Shape}", Is.EqualTo("[2, 3]"));
        Assert.That(t.Describe(), Is.EqualTo("f32[2,3]"));
    }

    [Test]
    public void CreationAndViewsTakeTheShapeWithoutAnArray()
    {
        var x = Tensor.Arange(6).To(DType.Float64).Reshape(2, 3);

        Assert.That(Tensor.Zeros(x.Shape).Shape, Is.EqualTo(x.Shape));
        Assert.That(Tensor.Ones(x.Shape, DType.Float64).DType, Is.EqualTo(DType.Float64));
        Assert.That(Tensor.Full(x.Shape, 2.5).Shape, Is.EqualTo(x.Shape));
        Assert.That(Tensor.Normal(Key.Create(0), x.Shape).Shape, Is.EqualTo(x.Shape));
        Assert.That(Tensor.Empty(x.Shape).Shape, Is.EqualTo(x.Shape));
        Assert.That(x.Flatten().Reshape(x.Shape).ToArray<double>(), Is.EqualTo(x.ToArray<double>()));
        Assert.That(x.Flatten().View(x.Shape).Shape, Is.EqualTo(x.Shape));
        Assert.That(Tensor.Ones(1, 3).Expand(x.Shape).Shape, Is.EqualTo(x.Shape));
        Assert.That(Tensor.Ones(3).BroadcastTo(x.Shape).Shape, Is.EqualTo(x.Shape));
        Assert.That(x.Reshape([3, -1]).Shape, Is.EqualTo(new long[] { 3, 2 }));
    }

    [Test]
    public void AFailedReshapeStillNamesTheShape()
    {
        var x = Tensor.Zeros(2, 3);
        var array = Assert.Throws<TorchException>(() => x.Reshape(4, 4))!;
        var span = Assert.Throws<TorchException>(() => x.Reshape(Tensor.Zeros(4, 4).Shape))!;

        Assert.That(array.Message, Does.Contain("reshape").And.Contain("shape=[4,4]").And.Contain("f32[2,3]"));
        Assert.That(span.Message, Is.EqualTo(array.Message));
    }

    [Test]
    public void FilterValueAndGradNamesTheShapeOfANonScalarLoss()
    {
        var layer = new Linear(3, 2, key: Key.Create(0));
        var x = Tensor.Ones(4, 3);
        var e = Assert.Throws<ArgumentException>(() => Eqx.FilterValueAndGrad((Linear m) => m.Forward(x))(layer))!;

        Assert.That(e.Message, Does.Contain("returned a tensor of shape [4, 2] (f32[4,2])."));
    }
}
