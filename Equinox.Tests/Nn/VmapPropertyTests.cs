using Equinox.Nn;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Nn;

// The layer convention: a layer written for one example, mapped over a batch with FilterVmap, equals the batched call
// (or ForwardBatch, where one example and a batch cannot be told apart by shape). One case per single-input layer.
public class VmapPropertyTests
{
    public sealed record Case(string Name, Func<Key, ILayer> Build, long[] Example, Func<ILayer, Tensor, Tensor>? Batched = null)
    {
        public override string ToString() => Name;
    }

    private static Tensor ForwardBatch(ILayer layer, Tensor x) => layer switch
    {
        GroupNorm g => g.ForwardBatch(x),
        PReLU p => p.ForwardBatch(x),
        _ => throw new InvalidOperationException(layer.GetType().Name),
    };

    public static IEnumerable<Case> Cases() =>
    [
        new("Linear", k => new Linear(3, 4, k), [3]),
        new("Mlp", k => new Mlp(3, 2, 5, 2, k), [3]),
        new("Conv1d", k => new Conv1d(2, 3, 3, k, padding: 1), [2, 9]),
        new("Conv2d strided", k => new Conv2d(2, 3, 3, k, stride: 2), [2, 7, 7]),
        new("Conv2d reflect", k => new Conv2d(2, 4, 3, k, padding: 1, paddingMode: PaddingMode.Reflect), [2, 5, 5]),
        new("Conv3d", k => new Conv3d(2, 2, 2, k), [2, 4, 4, 4]),
        new("ConvTranspose1d", k => new ConvTranspose1d(2, 3, 3, k, stride: 2), [2, 5]),
        new("ConvTranspose2d", k => new ConvTranspose2d(2, 3, 3, k, stride: 2, outputPadding: 1), [2, 4, 4]),
        new("ConvTranspose3d", k => new ConvTranspose3d(2, 2, 2, k), [2, 3, 3, 3]),
        new("MaxPool1d", _ => new MaxPool1d(2), [3, 8]),
        new("MaxPool2d", _ => new MaxPool2d(2), [3, 6, 6]),
        new("MaxPool3d", _ => new MaxPool3d(2), [2, 4, 4, 4]),
        new("AvgPool1d", _ => new AvgPool1d(3, stride: 1, padding: 1), [3, 8]),
        new("AvgPool2d", _ => new AvgPool2d(2), [3, 6, 6]),
        new("AvgPool3d", _ => new AvgPool3d(2), [2, 4, 4, 4]),
        new("AdaptiveAvgPool1d", _ => new AdaptiveAvgPool1d(3), [2, 7]),
        new("AdaptiveAvgPool2d", _ => new AdaptiveAvgPool2d(new[] { 2, 3 }), [2, 7, 5]),
        new("AdaptiveAvgPool3d", _ => new AdaptiveAvgPool3d(2), [2, 5, 5, 5]),
        new("AdaptiveMaxPool1d", _ => new AdaptiveMaxPool1d(3), [2, 7]),
        new("AdaptiveMaxPool2d", _ => new AdaptiveMaxPool2d(2), [2, 7, 5]),
        new("AdaptiveMaxPool3d", _ => new AdaptiveMaxPool3d(2), [2, 5, 5, 5]),
        new("LayerNorm", _ => new LayerNorm(6), [6]),
        new("RMSNorm", _ => new RMSNorm(6), [6]),
        new("GroupNorm", _ => new GroupNorm(2, 4), [4, 5], ForwardBatch),
        new("PReLU per channel", _ => new PReLU(numParameters: 3), [3, 4], ForwardBatch),
        new("PReLU shared", _ => new PReLU(), [3, 4]),
        new("WeightNorm<Linear>", k => new WeightNorm<Linear>(new Linear(3, 4, k)), [3]),
        new("RotaryPositionalEmbedding", _ => new RotaryPositionalEmbedding(4), [5, 4]),
        new("Dropout in inference", _ => new Dropout(0.5, inference: true), [4]),
        new("Identity", _ => new Identity(), [4]),
        new("Sequential", k => new Sequential(new Conv2d(1, 2, 3, k, padding: 1), new Lambda(Activations.Relu), new MaxPool2d(2)), [1, 4, 4]),
    ];

    [TestCaseSource(nameof(Cases))]
    public void OneExampleMappedOverABatchEqualsTheBatchedCall(Case c)
    {
        using var scope = Torch.Scope();
        var layer = c.Build(Key.Create(60));
        var batch = Tensor.Normal(Key.Create(61), [5, .. c.Example]);
        var mapped = Eqx.FilterVmap((Tensor x) => layer.Forward(x))(batch);
        var batched = c.Batched is null ? layer.Forward(batch) : c.Batched(layer, batch);
        Assert.That(mapped.Shape.ToArray(), Is.EqualTo(batched.Shape.ToArray()));
        Assert.That(mapped.ToArray<float>(), Is.EqualTo(batched.ToArray<float>()).Within(1e-5), c.Name);
        var first = layer.Forward(batch[0]);
        Assert.That(first.ToArray<float>(), Is.EqualTo(batched[0].ToArray<float>()).Within(1e-5), "one example alone");
    }
}
