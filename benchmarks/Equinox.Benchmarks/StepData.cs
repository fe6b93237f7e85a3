using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>
/// One model of the step benchmark: an MLP <c>In-Width-...-Width-Out</c> (<c>Depth</c> hidden layers) with ReLU,
/// trained on one fixed batch with the MSE loss or cross-entropy against class indices, by SGD (lr 0.01) or Adam
/// (lr 0.001, PyTorch's defaults otherwise).
/// </summary>
internal sealed record StepModel(string Name, int In, int Width, int Out, int Depth, int Batch, bool CrossEntropy, int DefaultSteps, int Seed)
{
    public const double SgdLearningRate = 0.01;
    public const double AdamLearningRate = 0.001;

    /// <summary>The optimisers the benchmark runs, by their option name.</summary>
    public static readonly string[] Optimizers = ["sgd", "adam"];

    public static readonly StepModel[] All =
    [
        new("small", 2, 64, 1, 2, 32, CrossEntropy: false, DefaultSteps: 2000, Seed: 1),
        new("wide", 784, 256, 10, 2, 128, CrossEntropy: true, DefaultSteps: 200, Seed: 2),
        // 50 Linear layers 64x64: 100 tensors, where a per-parameter optimiser loop pays per leaf.
        new("deep", 64, 64, 64, 49, 32, CrossEntropy: false, DefaultSteps: 300, Seed: 3),
    ];

    public string Describe(string optimizer) =>
        $"MLP {In}-{(Depth <= 3 ? string.Join("-", Enumerable.Repeat(Width, Depth)) : $"{Width}x{Depth}")}-{Out} (ReLU, {2 * (Depth + 1)} tensors), batch {Batch}, " +
        $"{(CrossEntropy ? "cross-entropy" : "MSE")}, {(optimizer == "adam" ? $"Adam lr {AdamLearningRate}" : $"SGD lr {SgdLearningRate}")}";

    /// <summary>The library's optimiser for <paramref name="optimizer"/> (an entry of <see cref="Optimizers"/>).</summary>
    public static IGradientTransformation Optimizer(string optimizer) =>
        optimizer == "adam" ? new Adam(AdamLearningRate) : new Sgd(SgdLearningRate);

    public Tensor Loss(Mlp model, Tensor x, Tensor y) =>
        CrossEntropy ? Functional.CrossEntropy(model.Forward(x), y) : Functional.MseLoss(model.Forward(x), y);
}

/// <summary>
/// The initial weights and data every implementation starts from: drawn once here from fixed keys, and written to
/// <c>&lt;model&gt;.bin</c> for the C++ and Python programs. Format, little-endian: <c>"EQXSTEP1"</c>, int32 count, then
/// per tensor int32 dtype (0 f32, 1 i64), int32 rank, int64 dims, the elements. The tensors, in order: weight
/// <c>[out, in]</c> and bias of each of the three Linear layers (PyTorch's layout, which Equinox.Nn.Linear shares),
/// then x and y.
/// </summary>
internal sealed class StepData
{
    public required StepModel Model { get; init; }
    public required Mlp Initial { get; init; }
    public required Tensor X { get; init; }
    public required Tensor Y { get; init; }

    public static StepData Create(StepModel model)
    {
        var keys = Key.Create(model.Seed).Split(3);
        var mlp = new Mlp(model.In, model.Out, model.Width, depth: model.Depth, activation: Activations.Relu, key: keys[0]);
        var x = Tensor.Normal(keys[1], [model.Batch, model.In]);
        var y = model.CrossEntropy ? Tensor.RandInt(keys[2], [model.Batch], 0, model.Out) : Tensor.Normal(keys[2], [model.Batch, model.Out]);
        return new StepData { Model = model, Initial = mlp, X = x, Y = y };
    }

    /// <summary>A fresh copy of the initial model, for an implementation to train (and, with donation, consume).</summary>
    public Mlp CopyOfInitial() => Eqx.TreeMap(Initial, t => t.Clone());

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var tensors = Eqx.Leaves(Initial).Append(X).Append(Y).ToArray();
        if (tensors.Length != 2 * (Model.Depth + 1) + 2)
            throw new InvalidOperationException($"expected {2 * (Model.Depth + 1)} parameters, found {tensors.Length - 2}");
        using var writer = new BinaryWriter(File.Create(Path.Combine(directory, Model.Name + ".bin")));
        writer.Write("EQXSTEP1"u8);
        writer.Write(tensors.Length);
        foreach (var t in tensors)
        {
            writer.Write(t.DType == DType.Float32 ? 0 : t.DType == DType.Int64 ? 1 : throw new InvalidOperationException($"unexpected {t.DType}"));
            writer.Write(t.Rank);
            foreach (var d in t.Shape) writer.Write(d);
            if (t.DType == DType.Float32) foreach (var v in t.ToArray<float>()) writer.Write(v);
            else foreach (var v in t.ToArray<long>()) writer.Write(v);
        }
    }
}
