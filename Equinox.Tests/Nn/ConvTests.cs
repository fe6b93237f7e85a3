using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

/// <summary>The small CNN of the training test: conv, relu, max pool, flatten, linear.</summary>
[Module]
public sealed partial class BarsCnn
{
    public readonly Conv2d Conv;
    public readonly MaxPool2d Pool;
    public readonly Linear Head;

    public BarsCnn(Key key)
    {
        var (convKey, headKey) = key.Split();
        Conv = new Conv2d(1, 4, 3, convKey);
        Pool = new MaxPool2d(2);
        Head = new Linear(4 * 3 * 3, 2, headKey);
    }

    // [N, 1, 8, 8] -> logits [N, 2]
    public Tensor Forward(Tensor x) => Head.Forward(Pool.Forward(Conv.Forward(x).Relu()).Flatten(1));
}

// Convolutions against torch.nn.functional / torch.nn on identical weights: outputs, gradients, options and errors.
public class ConvTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    private static OracleResult TorchConv(string call, Tensor x, Conv layer) =>
        PyTorchOracle.Run(call, ("x", x), ("w", layer.Weight), ("b", layer.Bias!));

    [Test]
    public void ConvsMatchTorchConvWithStrideAndPaddingOnOneExampleAndABatch()
    {
        using var scope = Torch.Scope();
        var conv1 = new Conv1d(3, 5, 4, Key.Create(1), stride: 2, padding: 1, dtype: DType.Float64);
        var conv2 = new Conv2d(3, 5, new[] { 3, 2 }, Key.Create(2), stride: new[] { 2, 1 }, padding: new[] { 1, 0 }, dtype: DType.Float64);
        var conv3 = new Conv3d(2, 4, 3, Key.Create(3), stride: 2, padding: 1, dtype: DType.Float64);
        var cases = new (Conv Layer, long[] Example, string Call)[]
        {
            (conv1, [3, 11], "F.conv1d(x, w, b, stride=2, padding=1)"),
            (conv2, [3, 7, 6], "F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0))"),
            (conv3, [2, 5, 6, 7], "F.conv3d(x, w, b, stride=2, padding=1)"),
        };
        foreach (var (layer, example, call) in cases)
        {
            foreach (var x in new[] { Normal(4, example), Normal(5, [2, .. example]) })
                OracleAssert.Close(layer.Forward(x), TorchConv(call, x, layer).Out, what: $"{layer.GetType().Name} on {x.Describe()}");
        }
    }

    [Test]
    public void SameAndValidPaddingMatchPyTorchsStringPaddingEvenForAnEvenKernelWithDilation()
    {
        using var scope = Torch.Scope();
        var x = Normal(6, 2, 3, 9, 8);
        var cases = new (Conv2d Layer, string Call)[]
        {
            (new Conv2d(3, 4, 3, Key.Create(7), padding: Padding.Same, dtype: DType.Float64), "F.conv2d(x, w, b, padding='same')"),
            (new Conv2d(3, 4, new[] { 4, 3 }, Key.Create(8), padding: Padding.Same, dilation: new[] { 1, 2 }, dtype: DType.Float64),
                "F.conv2d(x, w, b, padding='same', dilation=(1, 2))"),
            (new Conv2d(3, 4, 3, Key.Create(9), padding: Padding.Valid, dtype: DType.Float64), "F.conv2d(x, w, b, padding='valid')"),
        };
        foreach (var (layer, call) in cases)
        {
            var y = layer.Forward(x);
            OracleAssert.Close(y, TorchConv(call, x, layer).Out, what: call);
        }
        Assert.That(cases[0].Layer.Forward(x).Shape, Is.EqualTo(new long[] { 2, 4, 9, 8 }), "same keeps the spatial size");
        Assert.That(cases[1].Layer.Padding, Is.EqualTo(new[] { (1, 2), (2, 2) }), "an even total pads less before than after");
    }

    [Test]
    public void DilationAndGroupsMatchTorchConv()
    {
        using var scope = Torch.Scope();
        var layer = new Conv2d(6, 4, 3, Key.Create(10), padding: 2, dilation: 2, groups: 2, dtype: DType.Float64);
        Assert.That(layer.Weight.Shape, Is.EqualTo(new long[] { 4, 3, 3, 3 }), "[out, in / groups, kh, kw]");
        var x = Normal(11, 2, 6, 8, 8);
        OracleAssert.Close(layer.Forward(x), TorchConv("F.conv2d(x, w, b, padding=2, dilation=2, groups=2)", x, layer).Out);

        var depthwise = new Conv1d(4, 8, 3, Key.Create(12), groups: 4, useBias: false, dtype: DType.Float64);
        Assert.That(depthwise.Bias, Is.Null);
        var x1 = Normal(13, 4, 10);
        OracleAssert.Close(depthwise.Forward(x1), PyTorchOracle.Run("F.conv1d(x, w, groups=4)", ("x", x1), ("w", depthwise.Weight)).Out);
    }

    [Test]
    public void EachPaddingModeMatchesTorchNnConvWithTheSameWeights([Values] PaddingMode mode)
    {
        using var scope = Torch.Scope();
        string torchMode = mode switch { PaddingMode.Zeros => "zeros", PaddingMode.Reflect => "reflect", PaddingMode.Replicate => "replicate", _ => "circular" };
        var cases = new (Conv Layer, long[] Shape, string Module)[]
        {
            (new Conv1d(2, 3, 3, Key.Create(14), padding: 2, paddingMode: mode, dtype: DType.Float64), [2, 2, 9], $"torch.nn.Conv1d(2, 3, 3, padding=2, padding_mode='{torchMode}')"),
            (new Conv2d(2, 3, 3, Key.Create(15), stride: 2, padding: new[] { 1, 2 }, paddingMode: mode, dtype: DType.Float64), [2, 7, 8],
                $"torch.nn.Conv2d(2, 3, 3, stride=2, padding=(1, 2), padding_mode='{torchMode}')"),
            (new Conv3d(2, 3, 3, Key.Create(16), padding: 1, paddingMode: mode, dtype: DType.Float64), [1, 2, 4, 5, 6],
                $"torch.nn.Conv3d(2, 3, 3, padding=1, padding_mode='{torchMode}')"),
        };
        foreach (var (layer, shape, module) in cases)
        {
            var x = Normal(17, shape);
            var expected = PyTorchOracle.Run($"""
                m = {module}.double()
                with torch.no_grad():
                    m.weight.copy_(w)
                    m.bias.copy_(b)
                    # torch 1.13's circular F.pad refuses unbatched inputs, so PyTorch gets a batch of one.
                    out = m(x[None])[0] if x.dim() == m.weight.dim() - 1 else m(x)
                """, ("x", x), ("w", layer.Weight), ("b", layer.Bias!));
            OracleAssert.Close(layer.Forward(x), expected.Out, what: $"{module} on {x.Describe()}");
        }
    }

    [Test]
    public void UnevenPaddingPerSideMatchesFPadThenConv()
    {
        using var scope = Torch.Scope();
        var x = Normal(18, 2, 6, 7);
        var zeros = new Conv2d(2, 3, 3, Key.Create(19), padding: Padding.PerSide((0, 2), (1, 0)), dtype: DType.Float64);
        OracleAssert.Close(zeros.Forward(x), TorchConv("F.conv2d(F.pad(x, [1, 0, 0, 2]), w, b)", x, zeros).Out);
        var reflect = new Conv2d(2, 3, 3, Key.Create(19), padding: Padding.PerSide((0, 2), (1, 0)), paddingMode: PaddingMode.Reflect, dtype: DType.Float64);
        OracleAssert.Close(reflect.Forward(x), TorchConv("F.conv2d(F.pad(x, [1, 0, 0, 2], mode='reflect'), w, b)", x, reflect).Out);
    }

    [Test]
    public void FunctionalPadMatchesFPadInEachMode()
    {
        using var scope = Torch.Scope();
        var x = Normal(44, 2, 3, 4, 5);
        foreach (var (mode, python) in new[] { (PadMode.Reflect, "reflect"), (PadMode.Replicate, "replicate"), (PadMode.Circular, "circular") })
            OracleAssert.Close(Functional.Pad(x, [1, 2, 3, 0], mode), PyTorchOracle.Run($"F.pad(x, [1, 2, 3, 0], mode='{python}')", ("x", x)).Out, what: python);
        OracleAssert.Close(Functional.Pad(x, [0, 1, 2, 0, 1, 1], value: 1.5), PyTorchOracle.Run("F.pad(x, [0, 1, 2, 0, 1, 1], value=1.5)", ("x", x)).Out);
        Assert.That(Assert.Throws<ArgumentException>(() => Functional.Pad(x, [1, 2, 3]))!.Message,
            Does.StartWith("Pad takes (before, after) pairs, so an even number of sizes; got 3: [1, 2, 3]."));
        Assert.That(Assert.Throws<ArgumentException>(() => Functional.Pad(x, [1, 1], PadMode.Reflect, 2))!.Message,
            Does.StartWith("A pad value only applies to PadMode.Constant; Reflect padding takes its values from the input."));
    }

    [Test]
    public void ConvInitialisesLikePyTorchWithinOneOverRootFanIn()
    {
        using var scope = Torch.Scope();
        var layer = new Conv2d(8, 6, 3, Key.Create(20), groups: 2); // fan_in = 8 / 2 * 9 = 36
        Assert.That(layer.Weight.Abs().Max().Item<float>(), Is.LessThanOrEqualTo(1 / 6.0).And.GreaterThan(0.15), "the weights fill ±1/√36");
        Assert.That(layer.Bias!.Abs().Max().Item<float>(), Is.LessThanOrEqualTo(1 / 6.0), "the bias has the same bound");
        var transpose = new ConvTranspose2d(2, 12, 2, Key.Create(21), groups: 2); // fan_in = 12 / 2 * 4 = 24
        Assert.That(transpose.Weight.Shape, Is.EqualTo(new long[] { 2, 6, 2, 2 }), "[in, out / groups, kh, kw]");
        Assert.That(transpose.Weight.Abs().Max().Item<float>(), Is.LessThanOrEqualTo(1 / Math.Sqrt(24)).And.GreaterThan(0.12));
        Assert.That(new Conv2d(8, 6, 3, Key.Create(20)).Weight.ToArray<float>(), Is.EqualTo(new Conv2d(8, 6, 3, Key.Create(20)).Weight.ToArray<float>()),
            "the same key gives the same weights");
    }

    [Test]
    public void ConvTransposeMatchesTorchWithStrideOutputPaddingDilationAndGroups()
    {
        using var scope = Torch.Scope();
        var cases = new (ConvTranspose Layer, long[] Example, string Call)[]
        {
            (new ConvTranspose1d(4, 6, 3, Key.Create(22), stride: 2, padding: 1, outputPadding: 1, groups: 2, dtype: DType.Float64), [4, 7],
                "F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)"),
            (new ConvTranspose2d(3, 4, new[] { 3, 2 }, Key.Create(23), stride: new[] { 2, 3 }, padding: new[] { 1, 0 }, outputPadding: new[] { 1, 2 },
                dilation: new[] { 1, 2 }, dtype: DType.Float64), [3, 5, 4],
                "F.conv_transpose2d(x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2))"),
            (new ConvTranspose3d(2, 2, 2, Key.Create(24), stride: 2, groups: 2, useBias: false, dtype: DType.Float64), [2, 3, 2, 4],
                "F.conv_transpose3d(x, w, stride=2, groups=2)"),
        };
        foreach (var (layer, example, call) in cases)
        {
            foreach (var x in new[] { Normal(25, example), Normal(26, [2, .. example]) })
            {
                var inputs = layer.Bias is null ? new[] { ("x", x), ("w", layer.Weight) } : new[] { ("x", x), ("w", layer.Weight), ("b", layer.Bias) };
                OracleAssert.Close(layer.Forward(x), PyTorchOracle.Run(call, inputs).Out, what: $"{layer.GetType().Name} on {x.Describe()}");
            }
        }
    }

    [Test]
    public void ConvTransposeCropsUnevenPaddingAndSameKeepsTheSize()
    {
        using var scope = Torch.Scope();
        var x = Normal(27, 2, 3, 5, 6);
        var uneven = new ConvTranspose2d(3, 2, 3, Key.Create(28), stride: 2, padding: Padding.PerSide((0, 2), (1, 1)), outputPadding: 1, dtype: DType.Float64);
        var expected = PyTorchOracle.Run("F.conv_transpose2d(x, w, b, stride=2, output_padding=1)[:, :, 0:-2, 1:-1]",
            ("x", x), ("w", uneven.Weight), ("b", uneven.Bias!));
        OracleAssert.Close(uneven.Forward(x), expected.Out);

        var same = new ConvTranspose2d(3, 2, 4, Key.Create(29), padding: Padding.Same, dtype: DType.Float64);
        Assert.That(same.Forward(x).Shape, Is.EqualTo(new long[] { 2, 2, 5, 6 }));
    }

    [Test]
    public void ConvTransposeSupportsOnlyZeroPadding()
    {
        var e = Assert.Throws<NotSupportedException>(() => new ConvTranspose2d(2, 2, 3, Key.Create(1), paddingMode: PaddingMode.Reflect))!;
        Assert.That(e.Message, Is.EqualTo("ConvTranspose2d supports only PaddingMode.Zeros (as PyTorch's ConvTranspose); padding mode Reflect is not implemented."));
    }

    [Test]
    public void Conv2dGradientsMatchPyTorch()
    {
        using var scope = Torch.Scope();
        var layer = new Conv2d(4, 6, 3, Key.Create(30), stride: 2, padding: 1, groups: 2, dtype: DType.Float64);
        var x = Normal(31, 2, 4, 7, 6);
        var (value, grads) = Eqx.FilterValueAndGrad((Conv2d m) => m.Forward(x).Tanh().Sum())(layer);
        var expected = PyTorchOracle.RunWithGrad("F.conv2d(x, w, b, stride=2, padding=1, groups=2).tanh().sum()",
            ("x", x), ("w", layer.Weight.WithRequiresGrad()), ("b", layer.Bias!.WithRequiresGrad()));
        OracleAssert.Close(value, expected.Out);
        OracleAssert.Grads(expected, [grads.Weight, grads.Bias], "w", "b");
    }

    [Test]
    public void ConvTranspose2dGradientsMatchPyTorch()
    {
        using var scope = Torch.Scope();
        var layer = new ConvTranspose2d(4, 6, 3, Key.Create(32), stride: 2, padding: 1, outputPadding: 1, groups: 2, dtype: DType.Float64);
        var x = Normal(33, 2, 4, 5, 4);
        var (value, grads) = Eqx.FilterValueAndGrad((ConvTranspose2d m) => m.Forward(x).Tanh().Sum())(layer);
        var expected = PyTorchOracle.RunWithGrad("F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2).tanh().sum()",
            ("x", x), ("w", layer.Weight.WithRequiresGrad()), ("b", layer.Bias!.WithRequiresGrad()));
        OracleAssert.Close(value, expected.Out);
        OracleAssert.Grads(expected, [grads.Weight, grads.Bias], "w", "b");
    }

    [Test]
    public void FilterVmapOverExamplesEqualsTheBatchedCall()
    {
        using var scope = Torch.Scope();
        var layer = new Conv2d(3, 4, 3, Key.Create(34), stride: 2, padding: 1, dtype: DType.Float64);
        var xs = Normal(35, 5, 3, 8, 7);
        var mapped = Eqx.FilterVmap((Tensor x) => layer.Forward(x))(xs);
        var batched = layer.Forward(xs);
        Assert.That(mapped.Shape, Is.EqualTo(batched.Shape));
        OracleAssert.Values(mapped.ToArray<double>(), batched.ToArray<double>(), 1e-12, 1e-12, "vmapped vs batched");
    }

    [Test]
    public void AnInputOfTheWrongChannelCountOrRankIsRejectedNamingTheLayer()
    {
        using var scope = Torch.Scope();
        var layer = new Conv2d(3, 8, 3, Key.Create(36));
        var channels = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 5, 8, 8)))!;
        Assert.That(channels.Message, Does.StartWith("Conv2d(3 -> 8, kernelSize=[3, 3]) expects [3, H, W] or [N, 3, H, W]; got f32[2,5,8,8]."));
        var rank = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(8, 8)))!;
        Assert.That(rank.Message, Does.StartWith("Conv2d(3 -> 8, kernelSize=[3, 3]) expects [3, H, W] or [N, 3, H, W]; got f32[8,8]."));
        var transpose = Assert.Throws<ArgumentException>(() => new ConvTranspose1d(2, 4, 3, Key.Create(1)).Forward(Tensor.Zeros(1, 2, 3, 5)))!;
        Assert.That(transpose.Message, Does.StartWith("ConvTranspose1d(2 -> 4, kernelSize=[3]) expects [2, L] or [N, 2, L]; got f32[1,2,3,5]."));
    }

    [Test]
    public void BadOptionsAreRejectedWhenTheLayerIsBuilt()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => new Conv2d(3, 8, 3, Key.Create(1), groups: 2))!.Message,
            Does.StartWith("Conv2d's groups (2) must divide inChannels (3) and outChannels (8)."));
        Assert.That(Assert.Throws<ArgumentException>(() => new Conv2d(3, 8, 3, Key.Create(1), stride: 2, padding: Padding.Same))!.Message,
            Does.StartWith("Conv2d's padding Padding.Same needs stride 1 (as PyTorch's padding=\"same\"); got stride [2, 2]."));
        Assert.That(Assert.Throws<ArgumentException>(() => new Conv2d(3, 8, new[] { 3, 3, 3 }, Key.Create(1)))!.Message,
            Does.StartWith("Conv2d's kernelSize has 3 sizes, [3, 3, 3]; give one for all dims or one per spatial dim (2)."));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new Conv1d(3, 8, 0, Key.Create(1)))!.Message,
            Does.StartWith("Conv1d's kernelSize must be at least 1 in every dim; got 0."));
        Assert.That(Assert.Throws<ArgumentException>(() => new ConvTranspose2d(3, 8, 3, Key.Create(1), stride: 2, outputPadding: 2))!.Message,
            Does.StartWith("ConvTranspose2d's outputPadding must be smaller than the stride or the dilation in each dim; got outputPadding [2, 2] with stride [2, 2] and dilation [1, 1]."));
    }

    [Test]
    public void AFilteredConvNamesItsHoleWhenCalled()
    {
        using var scope = Torch.Scope();
        var layer = new Conv2d(2, 3, 3, Key.Create(37));
        var x = Tensor.Zeros(2, 5, 5);
        var (weights, biases) = Eqx.Partition(layer, t => t.Rank == 4);
        var noBias = Assert.Throws<TreeHoleException>(() => weights.Forward(x))!;
        Assert.That(noBias.Path, Is.EqualTo("Conv2d.Bias"));
        Assert.That(noBias.Message, Does.StartWith("Conv2d.Bias is null, but the module needs it to run."));
        Assert.That(Assert.Throws<TreeHoleException>(() => biases.Forward(x))!.Path, Is.EqualTo("Conv2d.Weight"));
        var transpose = Eqx.Filter(new ConvTranspose2d(2, 3, 3, Key.Create(38)), t => t.Rank == 1);
        Assert.That(Assert.Throws<TreeHoleException>(() => transpose.Forward(x))!.Path, Is.EqualTo("ConvTranspose2d.Weight"));
        Assert.That(Eqx.Combine(weights, biases).Forward(x).Shape, Is.EqualTo(new long[] { 3, 3, 3 }));
    }

    [Test]
    public void ConvsPrintLikeEquinoxAndCompareByTheirOptions()
    {
        using var scope = Torch.Scope();
        var layer = new Conv2d(3, 8, 3, Key.Create(39), padding: 1);
        Assert.That(layer.ToString(), Is.EqualTo(
            "Conv2d(\n" +
            "  weight=f32[8,3,3,3],\n" +
            "  bias=f32[8],\n" +
            "  numSpatialDims=2,\n" +
            "  inChannels=3,\n" +
            "  outChannels=8,\n" +
            "  kernelSize=[3, 3],\n" +
            "  stride=[1, 1],\n" +
            "  padding=[(1, 1), (1, 1)],\n" +
            "  dilation=[1, 1],\n" +
            "  groups=1,\n" +
            "  useBias=true,\n" +
            "  paddingMode=Zeros,\n" +
            ")"));
        Assert.That(Eqx.LeafPaths(layer).Select(p => p.StateDictKey), Is.EqualTo(new[] { "weight", "bias" }));
        ITreeNode a = layer, b = new Conv2d(3, 8, 3, Key.Create(40), padding: 1), c = new Conv2d(3, 8, 3, Key.Create(40), padding: 2);
        Assert.That(a.TreeStaticEquals(b), Is.True, "equal options: FilterJit can share a compile");
        Assert.That(a.TreeStaticHashCode(), Is.EqualTo(b.TreeStaticHashCode()));
        Assert.That(a.TreeStaticEquals(c), Is.False);
        Assert.That(new ConvTranspose1d(2, 4, 3, Key.Create(41), stride: 2).ToString(), Does.StartWith("ConvTranspose1d(\n  weight=f32[2,4,3],\n  bias=f32[4],"));
    }

    // Vertical bars (class 0) against horizontal bars (class 1) on 8x8 noise: a Conv2d -> relu -> MaxPool2d -> Linear
    // network trained with Adam learns them.
    [Test]
    public void ASmallCnnLearnsToTellVerticalFromHorizontalBars()
    {
        using var scope = Torch.Scope();
        const int n = 32;
        var pixels = new float[n * 64];
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 2;
            int line = i / 2 % 8;
            for (int k = 0; k < 8; k++) pixels[i * 64 + (labels[i] == 0 ? k * 8 + line : line * 8 + k)] = 1;
        }
        var images = Tensor.FromArray(pixels, n, 1, 8, 8) + Tensor.Normal(Key.Create(42), [n, 1, 8, 8]) * 0.3;
        var targets = Tensor.FromArray(labels, n);

        var model = new BarsCnn(Key.Create(43));
        var optimizer = new Adam(0.03);
        var state = optimizer.Init(model);
        var lossAndGrads = Eqx.FilterValueAndGrad((BarsCnn m) => Functional.CrossEntropy(m.Forward(images), targets));
        float first = 0, loss = 0;
        for (int step = 0; step < 60; step++)
        {
            var (value, grads) = lossAndGrads(model);
            (model, state) = optimizer.Step(model, grads, state);
            loss = value.Item<float>();
            if (step == 0) first = loss;
        }
        Assert.That(first, Is.GreaterThan(0.5), "an untrained network is near chance (ln 2)");
        Assert.That(loss, Is.LessThan(0.05), $"after 60 Adam steps the loss should fall below 0.05 (it started at {first})");
        var predicted = model.Forward(images).ArgMax(1).ToArray<long>();
        Assert.That(predicted, Is.EqualTo(labels), "every training image classified");
    }
}
