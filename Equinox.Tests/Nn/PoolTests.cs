using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

// Pooling layers against torch.nn.functional on one example and on a batch; they have no leaves and take no key.
public class PoolTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static void AssertMatches(ILayer layer, long[] example, string call, int seed)
    {
        foreach (var x in new[] { Normal(seed, example), Normal(seed + 1, [3, .. example]) })
            OracleAssert.Close(layer.Forward(x), PyTorchOracle.Run(call, ("x", x)).Out, what: $"{layer.GetType().Name} on {x.Describe()} as {call}");
    }

    [Test]
    public void MaxPoolsMatchTorchWithStridePaddingDilationAndCeilMode()
    {
        using var scope = Torch.Scope();
        AssertMatches(new MaxPool1d(3), [2, 10], "F.max_pool1d(x, 3)", 1);
        AssertMatches(new MaxPool1d(3, stride: 2, padding: 1, dilation: 2, ceilMode: true), [2, 10],
            "F.max_pool1d(x, 3, stride=2, padding=1, dilation=2, ceil_mode=True)", 3);
        AssertMatches(new MaxPool2d(2), [2, 7, 8], "F.max_pool2d(x, 2)", 5);
        AssertMatches(new MaxPool2d(new[] { 3, 2 }, stride: new[] { 2, 1 }, padding: new[] { 1, 0 }, ceilMode: true), [2, 7, 8],
            "F.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True)", 7);
        AssertMatches(new MaxPool3d(2, stride: 1, dilation: new[] { 1, 2, 1 }), [2, 4, 5, 6], "F.max_pool3d(x, 2, stride=1, dilation=(1, 2, 1))", 9);
    }

    [Test]
    public void AvgPoolsMatchTorchWithPaddingCeilModeAndCountIncludePad()
    {
        using var scope = Torch.Scope();
        AssertMatches(new AvgPool1d(4, stride: 3, padding: 2), [2, 11], "F.avg_pool1d(x, 4, stride=3, padding=2)", 11);
        AssertMatches(new AvgPool2d(3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false), [2, 7, 8],
            "F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)", 13);
        AssertMatches(new AvgPool3d(new[] { 2, 1, 3 }), [2, 4, 5, 6], "F.avg_pool3d(x, (2, 1, 3))", 15);
    }

    [Test]
    public void AdaptivePoolsMatchTorch()
    {
        using var scope = Torch.Scope();
        AssertMatches(new AdaptiveAvgPool1d(4), [2, 11], "F.adaptive_avg_pool1d(x, 4)", 17);
        AssertMatches(new AdaptiveAvgPool2d(new[] { 3, 1 }), [2, 7, 8], "F.adaptive_avg_pool2d(x, (3, 1))", 19);
        AssertMatches(new AdaptiveAvgPool3d(2), [2, 4, 5, 6], "F.adaptive_avg_pool3d(x, 2)", 21);
        AssertMatches(new AdaptiveMaxPool1d(5), [2, 11], "F.adaptive_max_pool1d(x, 5)", 23);
        AssertMatches(new AdaptiveMaxPool2d(new[] { 2, 3 }), [2, 7, 8], "F.adaptive_max_pool2d(x, (2, 3))", 25);
        AssertMatches(new AdaptiveMaxPool3d(new[] { 1, 2, 3 }), [2, 4, 5, 6], "F.adaptive_max_pool3d(x, (1, 2, 3))", 27);
    }

    [Test]
    public void MaxPoolGradientMatchesTorch()
    {
        using var scope = Torch.Scope();
        var x = Normal(29, 2, 3, 6, 6).WithRequiresGrad();
        var output = new MaxPool2d(3, stride: 2, padding: 1).Forward(x).Square().Sum();
        var grads = Autograd.Grad(output, x);
        var expected = PyTorchOracle.RunWithGrad("F.max_pool2d(x, 3, stride=2, padding=1).square().sum()", ("x", x));
        OracleAssert.Close(output, expected.Out);
        OracleAssert.Grads(expected, grads, "x");
    }

    [Test]
    public void FilterVmapOverExamplesEqualsTheBatchedCall()
    {
        using var scope = Torch.Scope();
        var pool = new MaxPool2d(3, stride: 2, padding: 1);
        var xs = Normal(31, 5, 3, 8, 7);
        var mapped = Eqx.FilterVmap((Tensor x) => pool.Forward(x))(xs);
        var batched = pool.Forward(xs);
        Assert.That(mapped.Shape, Is.EqualTo(batched.Shape));
        OracleAssert.Values(mapped.ToArray<double>(), batched.ToArray<double>(), 0, 0, "vmapped vs batched");
    }

    [Test]
    public void PoolsHaveNoLeavesAndStrideDefaultsToTheKernel()
    {
        var pool = new MaxPool2d(new[] { 2, 3 });
        Assert.That(Eqx.LeafCount(pool), Is.Zero);
        Assert.That(pool.Stride, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(new AvgPool1d(4).Stride, Is.EqualTo(new[] { 4 }));
        Assert.That(pool.ToString(), Is.EqualTo(
            "MaxPool2d(\n  numSpatialDims=2,\n  kernelSize=[2, 3],\n  stride=[2, 3],\n  padding=[0, 0],\n  dilation=[1, 1],\n  ceilMode=false,\n)"));
        Assert.That(new AdaptiveAvgPool2d(1).ToString(), Is.EqualTo("AdaptiveAvgPool2d(numSpatialDims=2, targetSize=[1, 1])"));
        Assert.That(((ITreeNode)new AvgPool2d(2)).TreeStaticEquals(new AvgPool2d(2)), Is.True);
        Assert.That(((ITreeNode)new AvgPool2d(2)).TreeStaticEquals(new AvgPool2d(2, countIncludePad: false)), Is.False);
    }

    [Test]
    public void AnInputOfTheWrongRankIsRejectedNamingTheLayer()
    {
        using var scope = Torch.Scope();
        var max = Assert.Throws<ArgumentException>(() => new MaxPool2d(2).Forward(Tensor.Zeros(8, 8)))!;
        Assert.That(max.Message, Does.StartWith("MaxPool2d(kernelSize=[2, 2]) expects [C, H, W] or [N, C, H, W]; got f32[8,8]."));
        var avg = Assert.Throws<ArgumentException>(() => new AvgPool1d(2).Forward(Tensor.Zeros(1, 2, 3, 4)))!;
        Assert.That(avg.Message, Does.StartWith("AvgPool1d(kernelSize=[2]) expects [C, L] or [N, C, L]; got f32[1,2,3,4]."));
        var adaptive = Assert.Throws<ArgumentException>(() => new AdaptiveMaxPool3d(2).Forward(Tensor.Zeros(4, 4, 4)))!;
        Assert.That(adaptive.Message, Does.StartWith("AdaptiveMaxPool3d(targetSize=[2, 2, 2]) expects [C, D, H, W] or [N, C, D, H, W]; got f32[4,4,4]."));
        Assert.That(Assert.Throws<ArgumentException>(() => new MaxPool2d(new[] { 2, 2, 2 }))!.Message,
            Does.StartWith("MaxPool2d's kernelSize has 3 sizes, [2, 2, 2]; give one for all dims or one per spatial dim (2)."));
    }
}
