using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>
/// Bad arguments to tensor ops: each gets an exception naming what was wrong, before anything reaches LibTorch where
/// LibTorch would crash, compute something else, or say too little.
/// </summary>
public class MisuseTests
{
    [Test]
    public void NullArgumentsNameTheParameterInsteadOfReachingNativeCode()
    {
        using var scope = Torch.Scope();
        var x = Tensor.Ones(2, 2);
        Assert.That(Assert.Throws<ArgumentNullException>(() => Tensor.Einsum(null!, x))!.ParamName, Is.EqualTo("equation"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => x.Add(null!))!.ParamName, Is.EqualTo("other"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => _ = x + (Tensor)null!)!.ParamName, Is.EqualTo("other"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Tensor.Where(null!, x, x))!.ParamName, Is.EqualTo("condition"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Functional.MseLoss(x, null!))!.ParamName, Is.EqualTo("target"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Tensor.FromArray((float[])null!))!.ParamName, Is.EqualTo("data"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => x.Reshape(null!))!.ParamName, Is.EqualTo("shape"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => x.Sum(null!))!.ParamName, Is.EqualTo("dims"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Functional.MaxPool(x, null!))!.ParamName, Is.EqualTo("kernel"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Autograd.Grad(x, null!))!.ParamName, Is.EqualTo("inputs"));
    }

    [Test]
    public void ANullEntryInATensorListIsNamedByItsPosition()
    {
        using var scope = Torch.Scope();
        var x = Tensor.Ones(2);
        var e = Assert.Throws<ArgumentNullException>(() => Tensor.Stack([x, null!]));
        Assert.That(e!.ParamName, Is.EqualTo("tensors"));
        Assert.That(e.Message, Does.StartWith("tensors[1] is null; every entry must be a tensor."));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Tensor.Einsum("i,i->", x, null!))!.Message, Does.StartWith("operands[1] is null"));
        // The entries before the null one were given back: x is still usable and disposable.
        Assert.That(Tensor.Cat([x, x]).Shape, Is.EqualTo(new long[] { 4 }));
    }

    [Test]
    public void MaskedFillNeedsABoolMask()
    {
        using var scope = Torch.Scope();
        var x = Tensor.Zeros(3);
        var e = Assert.Throws<ArgumentException>(() => x.MaskedFill(Tensor.Ones(3), 5));
        Assert.That(e!.Message, Does.StartWith("masked_fill needs a bool mask, got f32[3]; compare to make one, e.g. `mask.Ne(0)`."));
        Assert.That(x.MaskedFill(Tensor.Ones(3).Gt(0.5), 5).ToArray<float>(), Is.EqualTo(new float[] { 5, 5, 5 }));
    }

    [TestCase(double.NaN)]
    [TestCase(-0.1)]
    [TestCase(1.5)]
    public void DropoutRejectsAProbabilityOutsideZeroToOne(double p)
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Dropout(Tensor.Ones(4), p, Key.Create(0)));
        Assert.That(e!.ParamName, Is.EqualTo("p"));
        Assert.That(e.Message, Does.StartWith($"Dropout's p is the probability of zeroing an element, so it must be in [0, 1]; got {p}."));
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Dropout(Tensor.Ones(4), p, Key.Create(0), training: false));
    }

    [Test]
    public void DropoutAtTheEndsOfTheRangeIsValid()
    {
        using var scope = Torch.Scope();
        Assert.That(Functional.Dropout(Tensor.Ones(4), 0, Key.Create(0)).ToArray<float>(), Is.EqualTo(new float[] { 1, 1, 1, 1 }));
        Assert.That(Functional.Dropout(Tensor.Ones(4), 1, Key.Create(0)).ToArray<float>(), Is.EqualTo(new float[] { 0, 0, 0, 0 }));
    }

    [Test]
    public void AShapeWhoseElementCountOverflowsIsRejectedBeforeLibTorch()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[0], 1L << 40, 1L << 40));
        Assert.That(e!.Message, Does.StartWith("shape [1099511627776,1099511627776] holds more than 9223372036854775807 elements; no tensor can."));
        using var empty = Tensor.FromArray(new float[0], 1L << 40, 0);
        Assert.That(empty.Shape, Is.EqualTo(new long[] { 1L << 40, 0 }));
    }

    [Test]
    public void ChunkAndSplitTakeCountsAndDimsBeyondInt()
    {
        using var scope = Torch.Scope();
        var x = Tensor.Arange(6).Reshape(2, 3);
        var pieces = x.Chunk(1L << 40, dim: 1); // at most one piece per element along the dim
        Assert.That(pieces.Select(p => p.Shape[1]), Is.EqualTo(new long[] { 1, 1, 1 }));
        Assert.That(x.Split(1L << 40, dim: 1).Single().Shape, Is.EqualTo(new long[] { 2, 3 }));
        // A dim that does not fit an int is out of range, not truncated to dim 0.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => x.Chunk(2, dim: 1L << 32));
        Assert.That(e!.Message, Does.StartWith("dimension 4294967296 is out of range for i64[2,3]."));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Split(1, dim: 1L << 32));
    }

    [Test]
    public void AnUndefinedDTypeIsNamedInTheMessage()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<TorchException>(() => Tensor.Ones(2).To((DType)99));
        Assert.That(e!.Message, Does.StartWith("to_dtype(f32[2], dtype=(DType)99, which is not a DType: use a member such as DType.Float32) failed:"));
        e = Assert.Throws<TorchException>(() => Tensor.Zeros([2], (DType)99));
        Assert.That(e!.Message, Does.StartWith("full(dtype=(DType)99, which is not a DType"));
    }

    [Test]
    public void AnIndexOutOfRangeIsNamedWithTheDimensionsSize()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<TorchException>(() => Functional.Embedding(Tensor.Ones(4, 3), Tensor.FromArray(new long[] { 1, 7 })));
        Assert.That(e!.Message, Is.EqualTo(
            "embedding(f32[4,3], i64[2]) failed: index out of range in self. Index 7 is out of range for dimension 0 of f32[4,3], which has size 4."));
        e = Assert.Throws<TorchException>(() => Tensor.Ones(2, 3).IndexSelect(1, Tensor.FromArray(new long[] { 0, -1 })));
        Assert.That(e!.Message, Does.EndWith("Index -1 is out of range for dimension 1 of f32[2,3], which has size 3."));
    }
}
