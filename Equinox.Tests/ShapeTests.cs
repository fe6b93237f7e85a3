using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;


// Reshaping, joining, splitting and indexing against PyTorch: values, shapes, and the gradients that flow back.
public class ShapeTests
{
    private static Tensor Input(long[] shape) =>
        Tensor.Normal(Key.Create(42), shape, DType.Float64).WithRequiresGrad();

    // Checks value and the gradient of (result * seed).sum() against the same expression in PyTorch.
    private static void Check(Tensor a, Tensor result, string python, params (string Name, Tensor Value)[] extra)
    {
        var seed = Tensor.Normal(Key.Create(7), result.Shape, DType.Float64);
        var grads = Autograd.Grad([result], [a], [seed]);
        var expected = PyTorchOracle.RunWithGrad(python, seed, [("a", a), .. extra]);
        OracleAssert.Exact(result, expected.Out);
        OracleAssert.Grads(expected, grads, "a");
    }

    private static readonly Dictionary<string, (long[] Shape, Func<Tensor, Tensor> Ours, string Python)> Views = new()
    {
        ["reshape"] = ([2, 3, 4], t => t.Reshape(4, 6), "a.reshape(4, 6)"),
        ["reshape -1"] = ([2, 3, 4], t => t.Reshape(-1, 2), "a.reshape(-1, 2)"),
        ["reshape of transposed"] = ([2, 3, 4], t => t.Transpose(0, 2).Reshape(4, 6), "a.transpose(0, 2).reshape(4, 6)"),
        ["view"] = ([2, 3, 4], t => t.View(6, 4), "a.view(6, 4)"),
        ["flatten"] = ([2, 3, 4], t => t.Flatten(), "a.flatten()"),
        ["flatten 1"] = ([2, 3, 4, 5], t => t.Flatten(1), "a.flatten(1)"),
        ["flatten 1..2"] = ([2, 3, 4, 5], t => t.Flatten(1, 2), "a.flatten(1, 2)"),
        ["transpose"] = ([2, 3, 4], t => t.Transpose(0, 2), "a.transpose(0, 2)"),
        ["T"] = ([2, 3, 4], t => t.T, "a.transpose(-2, -1)"),
        ["permute"] = ([2, 3, 4], t => t.Permute(2, 0, 1), "a.permute(2, 0, 1)"),
        ["squeeze"] = ([1, 3, 1, 4], t => t.Squeeze(), "a.squeeze()"),
        ["squeeze 2"] = ([1, 3, 1, 4], t => t.Squeeze(2), "a.squeeze(2)"),
        ["squeeze non-1"] = ([1, 3, 1, 4], t => t.Squeeze(1), "a.squeeze(1)"),
        ["unsqueeze 0"] = ([3, 4], t => t.Unsqueeze(0), "a.unsqueeze(0)"),
        ["unsqueeze -1"] = ([3, 4], t => t.Unsqueeze(-1), "a.unsqueeze(-1)"),
        ["expand"] = ([3, 1], t => t.Expand(2, 3, 5), "a.expand(2, 3, 5)"),
        ["expand -1"] = ([3, 1], t => t.Expand(-1, 4), "a.expand(-1, 4)"),
        ["broadcast_to"] = ([4], t => t.BroadcastTo(2, 3, 4), "torch.broadcast_to(a, (2, 3, 4))"),
        ["flip"] = ([2, 3, 4], t => t.Flip(0, 2), "a.flip((0, 2))"),
        ["repeat"] = ([2, 3], t => t.Repeat(2, 1, 3), "a.repeat(2, 1, 3)"),
        ["select"] = ([2, 3, 4], t => t.Select(1, -1), "a.select(1, -1)"),
        ["narrow"] = ([2, 5], t => t.Narrow(1, 1, 3), "a.narrow(1, 1, 3)"),
        ["slice step"] = ([7, 2], t => t.Slice(0, 1, null, 3), "a[1::3]"),
        ["tril"] = ([4, 4], t => t.Tril(), "a.tril()"),
        ["triu 1"] = ([3, 4, 4], t => t.Triu(1), "a.triu(1)"),
    };

    [TestCaseSource(nameof(ViewNames))]
    public void ViewOrCopyMatchesPyTorch(string name)
    {
        using var scope = Torch.Scope();
        var (shape, ours, python) = Views[name];
        var a = Input(shape);
        Check(a, ours(a), python);
    }

    private static IEnumerable<string> ViewNames() => Views.Keys;

    [Test]
    public void ViewOfANonContiguousTensorFailsLikePyTorch()
    {
        using var scope = Torch.Scope();
        var a = Input([2, 3, 4]).Transpose(0, 1);
        var error = Assert.Throws<TorchException>(() => a.View(-1));
        Assert.That(error!.Message, Does.Contain("view"));
        _ = PyTorchOracle.Shared;   // skips the test here, outside Assert.Throws, when PyTorch is missing
        Assert.Throws<OracleException>(() => PyTorchOracle.Run("a.transpose(0, 1).view(-1)", ("a", Input([2, 3, 4]))));
    }

    // ---- joining and splitting ---------------------------------------------------------------------------------

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(-1)]
    public void CatAndStackMatchPyTorch(int dim)
    {
        using var scope = Torch.Scope();
        var a = Tensor.Normal(Key.Create(1), [2, 3], DType.Float64).WithRequiresGrad();
        var b = Tensor.Normal(Key.Create(2), [2, 3], DType.Float64).WithRequiresGrad();
        var c = Tensor.Normal(Key.Create(3), [2, 3], DType.Float64).WithRequiresGrad();
        var cat = Tensor.Cat([a, b, c], dim);
        var stack = Tensor.Stack([a, b, c], dim);
        var seedCat = Tensor.Normal(Key.Create(4), cat.Shape, DType.Float64);
        var seedStack = Tensor.Normal(Key.Create(5), stack.Shape, DType.Float64);
        var catGrads = Autograd.Grad([cat], [a, b, c], [seedCat]);
        var stackGrads = Autograd.Grad([stack], [a, b, c], [seedStack]);
        var expectedCat = PyTorchOracle.RunWithGrad($"torch.cat([a, b, c], {dim})", seedCat, ("a", a), ("b", b), ("c", c));
        var expectedStack = PyTorchOracle.RunWithGrad($"torch.stack([a, b, c], {dim})", seedStack, ("a", a), ("b", b), ("c", c));
        OracleAssert.Exact(cat, expectedCat.Out);
        OracleAssert.Exact(stack, expectedStack.Out);
        OracleAssert.Grads(expectedCat, catGrads, "a", "b", "c");
        OracleAssert.Grads(expectedStack, stackGrads, "a", "b", "c");
    }

    [Test]
    public void CatOfDifferentSizesAlongTheJoinedDim()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(6).Reshape(2, 3);
        var b = Tensor.Arange(4).Reshape(2, 2);
        OracleAssert.Exact(Tensor.Cat([a, b], 1), PyTorchOracle.Run("torch.cat([a, b], 1)", ("a", a), ("b", b)).Out);
    }

    private static void PiecesMatch(Tensor[] ours, OracleResult expected)
    {
        Assert.That(ours, Has.Length.EqualTo(expected.Outputs.Count), "number of pieces");
        for (int i = 0; i < ours.Length; i++) OracleAssert.Exact(ours[i], expected.Outputs[i]!, $"piece {i}");
    }

    [TestCase(2, 0)]
    [TestCase(3, 1)]
    [TestCase(7, 1)]
    [TestCase(10, 1)]
    public void SplitBySizeMatchesPyTorch(long size, long dim)
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(35).Reshape(5, 7);
        PiecesMatch(a.Split(size, dim), PyTorchOracle.Run($"torch.split(a, {size}, {dim})", ("a", a)));
    }

    [Test]
    public void SplitBySizesMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(35).Reshape(5, 7);
        PiecesMatch(a.Split([1, 4, 2], dim: 1), PyTorchOracle.Run("torch.split(a, [1, 4, 2], 1)", ("a", a)));
        PiecesMatch(a.Split([0, 5], dim: 0), PyTorchOracle.Run("torch.split(a, [0, 5], 0)", ("a", a)));
        Assert.Throws<TorchException>(() => a.Split([1, 2], dim: 1));
    }

    [TestCase(3, 1)]
    [TestCase(4, 1)]
    [TestCase(7, 1)]
    [TestCase(6, 0)]
    public void ChunkMatchesPyTorch(long chunks, long dim)
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(35).Reshape(5, 7);
        PiecesMatch(a.Chunk(chunks, dim), PyTorchOracle.Run($"torch.chunk(a, {chunks}, {dim})", ("a", a)));
    }

    [Test]
    public void SplitPiecesCarryGradients()
    {
        using var scope = Torch.Scope();
        var a = Input([6, 4]);
        var pieces = a.Split(4, 0);
        var combined = pieces[0].Sum() * 2 + pieces[1].Exp().Sum();
        var grads = Autograd.Grad(combined, a);
        var expected = PyTorchOracle.RunWithGrad("p = torch.split(a, 4, 0)\nout = p[0].sum() * 2 + p[1].exp().sum()", ("a", a));
        OracleAssert.Close(combined, expected.Out);
        OracleAssert.Grads(expected, grads, "a");
    }

    // ---- indexing --------------------------------------------------------------------------------------------

    private static readonly Dictionary<string, (Func<Tensor, Tensor> Ours, string Python)> Indexing = new()
    {
        ["int"] = (t => t[1], "a[1]"),
        ["negative int"] = (t => t[-1], "a[-1]"),
        ["from end ^1"] = (t => t[^1], "a[-1]"),
        ["from end ^2, int"] = (t => t[^2, 0], "a[-2, 0]"),
        ["two ints"] = (t => t[2, 3], "a[2, 3]"),
        ["three ints"] = (t => t[2, 3, 4], "a[2, 3, 4]"),
        ["range 1..3"] = (t => t[1..3], "a[1:3]"),
        ["range ..^1"] = (t => t[..^1], "a[:-1]"),
        ["range ^2.."] = (t => t[^2..], "a[-2:]"),
        ["range .."] = (t => t[.., 1..^1], "a[:, 1:-1]"),
        ["range ^3..^1"] = (t => t[.., ^3..^1], "a[:, -3:-1]"),
        ["range past end"] = (t => t[2..10], "a[2:10]"),
        ["empty range"] = (t => t[3..1], "a[3:1]"),
        ["range ^0.."] = (t => t[^0..], "a[4:]"),
        ["slice step"] = (t => t[TensorIndex.Slice(0, null, 2)], "a[0::2]"),
        ["slice step 3 on dim 1"] = (t => t[.., TensorIndex.Slice(1, 5, 3)], "a[:, 1:5:3]"),
        ["slice negative start"] = (t => t[TensorIndex.Slice(-3)], "a[-3:]"),
        ["ellipsis, int"] = (t => t[TensorIndex.Ellipsis, 0], "a[..., 0]"),
        ["int, ellipsis"] = (t => t[1, TensorIndex.Ellipsis], "a[1, ...]"),
        ["int, ellipsis, range"] = (t => t[1, TensorIndex.Ellipsis, 1..3], "a[1, ..., 1:3]"),
        ["newaxis"] = (t => t[TensorIndex.NewAxis], "a[None]"),
        ["newaxis in middle"] = (t => t[.., TensorIndex.NewAxis, 2], "a[:, None, 2]"),
        ["ellipsis, newaxis"] = (t => t[TensorIndex.Ellipsis, TensorIndex.NewAxis], "a[..., None]"),
        ["int, newaxis, slice step"] = (t => t[0, TensorIndex.NewAxis, TensorIndex.Slice(null, null, 2)], "a[0, None, ::2]"),
    };

    private static IEnumerable<string> IndexingNames() => Indexing.Keys;

    [TestCaseSource(nameof(IndexingNames))]
    public void BasicIndexingMatchesPyTorch(string name)
    {
        using var scope = Torch.Scope();
        var (ours, python) = Indexing[name];
        var a = Input([4, 5, 6]);
        Check(a, ours(a), python);
    }

    [Test]
    public void IndexingFarFromTheEndThrows()
    {
        using var scope = Torch.Scope();
        var a = Input([4, 5]);
        Assert.Throws<TorchException>(() => _ = a[4]);
        Assert.Throws<TorchException>(() => _ = a[-5]);
        Assert.Throws<TorchException>(() => _ = a[^0]);
        Assert.Throws<TorchException>(() => _ = a[0, 5]);
        Assert.Throws<IndexOutOfRangeException>(() => _ = a[0, 0, 0]);
        _ = PyTorchOracle.Shared;   // skips the test here, outside Assert.Throws, when PyTorch is missing
        Assert.Throws<OracleException>(() => PyTorchOracle.Run("a[4]", ("a", a)));
    }

    [Test]
    public void BasicIndexingGivesViewsOfTheSameMemory()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(24).Reshape(4, 6);
        Assert.That(a[1..3, TensorIndex.Slice(0, null, 2)].SharesStorageWith(a), Is.True);
        Assert.That(a[TensorIndex.Ellipsis, 1].SharesStorageWith(a), Is.True);
    }

    private static readonly Dictionary<string, (Func<Tensor, Tensor, Tensor, Tensor> Ours, string Python)> Advanced = new()
    {
        ["int tensor"] = ((t, i, m) => t[i], "a[i]"),
        ["int tensor on dim 1"] = ((t, i, m) => t[.., i], "a[:, i]"),
        ["int tensor after int"] = ((t, i, m) => t[1, i], "a[1, i]"),
        ["int tensor, ellipsis, int"] = ((t, i, m) => t[i, TensorIndex.Ellipsis, 2], "a[i, ..., 2]"),
        ["two int tensors"] = ((t, i, m) => t[i, i.Flip(0)], "a[i, i.flip(0)]"),
        ["separated int tensors"] = ((t, i, m) => t[i, .., i], "a[i, :, i]"),
        ["2-d int tensor"] = ((t, i, m) => t[i.Reshape(2, 2)], "a[i.reshape(2, 2)]"),
        ["int tensor, slice"] = ((t, i, m) => t[i, 1..4], "a[i, 1:4]"),
        ["newaxis, int tensor"] = ((t, i, m) => t[TensorIndex.NewAxis, i], "a[None, i]"),
        ["bool mask"] = ((t, i, m) => t[m], "a[m]"),
        ["bool mask on dim 0"] = ((t, i, m) => t[m[.., 0, 0]], "a[m[:, 0, 0]]"),
        ["bool mask 2-d"] = ((t, i, m) => t[m[.., .., 0]], "a[m[:, :, 0]]"),
        ["slice, bool mask"] = ((t, i, m) => t[.., m[0, .., 0]], "a[:, m[0, :, 0]]"),
        ["bool mask, int"] = ((t, i, m) => t[m[.., 0, 0], 2], "a[m[:, 0, 0], 2]"),
    };

    private static IEnumerable<string> AdvancedNames() => Advanced.Keys;

    [TestCaseSource(nameof(AdvancedNames))]
    public void AdvancedIndexingMatchesPyTorch(string name)
    {
        using var scope = Torch.Scope();
        var (ours, python) = Advanced[name];
        var a = Input([4, 5, 6]);
        var index = Tensor.FromArray(new long[] { 3, 0, -1, 3 });
        var mask = Tensor.Normal(Key.Create(9), [4, 5, 6]) > 0;
        Check(a, ours(a, index, mask), python, ("i", index), ("m", mask));
    }

    [Test]
    public void GatherMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var a = Input([3, 5]);
        var index = Tensor.FromArray(new long[] { 0, 4, 4, 1, 2, 3, 0, 0 }, 2, 4);
        Check(a, a.Gather(1, index), "torch.gather(a, 1, i)", ("i", index));
        var rows = Tensor.FromArray(new long[] { 2, 0, 1, 2, 2 }, 1, 5);
        Check(a, a.Gather(0, rows), "torch.gather(a, 0, i)", ("i", rows));
    }

    [Test]
    public void IndexSelectMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var a = Input([4, 5, 2]);
        var index = Tensor.FromArray(new long[] { 4, 0, 0, 2 });
        Check(a, a.IndexSelect(1, index), "torch.index_select(a, 1, i)", ("i", index));
        var int32 = Tensor.FromArray(new[] { 3, 1 });
        Check(a, a.IndexSelect(0, int32), "torch.index_select(a, 0, i)", ("i", int32));
    }

    [Test]
    public void MaskedFillMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var a = Input([3, 4]);
        var mask = Tensor.Normal(Key.Create(3), [4]) > 0;
        Check(a, a.MaskedFill(mask, -1.5), "a.masked_fill(m, -1.5)", ("m", mask));
    }

    [Test]
    public void OneHotMatchesPyTorch()
    {
        using var scope = Torch.Scope();
        var labels = Tensor.FromArray(new long[] { 0, 3, 1, 3, 2, 0 }, 2, 3);
        var expected = PyTorchOracle.Run("(F.one_hot(y, 5), F.one_hot(y.flatten()))", ("y", labels));
        OracleAssert.Exact(labels.OneHot(5), expected.Outputs[0]!);
        OracleAssert.Exact(labels.Flatten().OneHot(-1), expected.Outputs[1]!);
        Assert.That(labels.OneHot(5).Shape, Is.EqualTo(new long[] { 2, 3, 5 }));
    }
}
