using Equinox.Nn;
using Equinox.Optim;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>The network of a <see cref="StepModel"/>.</summary>
internal enum StepKind
{
    /// <summary>An <see cref="Mlp"/> <c>In-Width-...-Width-Out</c> with <c>Depth</c> hidden layers.</summary>
    Mlp,
    /// <summary><see cref="StepCnn"/> on <c>[Batch, 1, 8, 8]</c> images, <c>Out</c> (10) classes.</summary>
    Cnn,
    /// <summary><see cref="StepGru"/>: a GRUCell(In, Width) over <c>Length</c> steps, then Linear(Width, Out).</summary>
    Gru,
}

/// <summary>
/// One model of the step benchmark: an MLP <c>In-Width-...-Width-Out</c> (<c>Depth</c> hidden layers) with ReLU, a
/// small CNN or a GRU (<see cref="Kind"/>), trained on one fixed batch with the MSE loss or cross-entropy against class
/// indices, by SGD (lr 0.01) or Adam (lr 0.001, PyTorch's defaults otherwise).
/// </summary>
internal sealed record StepModel(string Name, int In, int Width, int Out, int Depth, int Batch, bool CrossEntropy, int DefaultSteps, int Seed,
    StepKind Kind = StepKind.Mlp, int Length = 0)
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
        // Two 3x3 convolutions (8 and 16 channels) with max pooling and a Linear head, on 8x8 images: 6 tensors.
        new("cnn", 1, 16, 10, 2, 64, CrossEntropy: true, DefaultSteps: CnnSteps, Seed: 4, Kind: StepKind.Cnn),
        // A GRUCell over 50 steps, a Linear on the last hidden state: 6 tensors, ~20 ops per time step each way.
        new("gru", 8, 64, 1, 1, 16, CrossEntropy: false, DefaultSteps: GruSteps, Seed: 5, Kind: StepKind.Gru, Length: 50),
    ];

    private const int CnnSteps = 500, GruSteps = 50;

    /// <summary>The models run without <c>--model</c>.</summary>
    public static IReadOnlyList<StepModel> Default => [.. All.Where(m => m.Name is "small" or "wide")];

    public string Describe(string optimizer) => Network() + $", batch {Batch}, " +
        $"{(CrossEntropy ? "cross-entropy" : "MSE")}, {(optimizer == "adam" ? $"Adam lr {AdamLearningRate}" : $"SGD lr {SgdLearningRate}")}";

    private string Network() => Kind switch
    {
        StepKind.Cnn => "CNN 1x8x8 -> Conv2d(1,8,3,p1)-ReLU-MaxPool2 -> Conv2d(8,16,3,p1)-ReLU-MaxPool2 -> Linear(64,10) (6 tensors)",
        StepKind.Gru => $"GRUCell({In},{Width}) x {Length} steps (Eqx.Scan) -> Linear({Width},{Out}) (6 tensors)",
        _ => $"MLP {In}-{(Depth <= 3 ? string.Join("-", Enumerable.Repeat(Width, Depth)) : $"{Width}x{Depth}")}-{Out} (ReLU, {2 * (Depth + 1)} tensors)",
    };

    /// <summary>The library's optimiser for <paramref name="optimizer"/> (an entry of <see cref="Optimizers"/>).</summary>
    public static IGradientTransformation Optimizer(string optimizer) =>
        optimizer == "adam" ? new Adam(AdamLearningRate) : new Sgd(SgdLearningRate);

    /// <summary>The loss of <paramref name="model"/> (an <see cref="Mlp"/>, <see cref="StepCnn"/> or <see cref="StepGru"/>) on the batch.</summary>
    public Tensor Loss<T>(T model, Tensor x, Tensor y) where T : class, ITreeNode => model switch
    {
        Mlp mlp => CrossEntropy ? Functional.CrossEntropy(mlp.Forward(x), y) : Functional.MseLoss(mlp.Forward(x), y),
        StepCnn cnn => Functional.CrossEntropy(cnn.Forward(x), y),
        StepGru gru => Functional.MseLoss(gru.Forward(x), y),
        _ => throw new InvalidOperationException($"no loss for {model.GetType().Name}"),
    };

    /// <summary>The shapes of the parameters, in torch's order (what <see cref="StepData.Write"/> checks).</summary>
    public long[][] ParameterShapes() => Kind switch
    {
        StepKind.Cnn => [[8, 1, 3, 3], [8], [16, 8, 3, 3], [16], [Out, 16 * 2 * 2], [Out]],
        StepKind.Gru => [[3 * Width, In], [3 * Width, Width], [3 * Width], [3 * Width], [Out, Width], [Out]],
        _ => [.. Enumerable.Range(0, Depth + 1).SelectMany(i => new long[][]
            { [i == Depth ? Out : Width, i == 0 ? In : Width], [i == Depth ? Out : Width] })],
    };
}

/// <summary>
/// The initial weights and data every implementation starts from: drawn once here from fixed keys, and written to
/// <c>&lt;model&gt;.bin</c> for the C++ and Python programs. Format, little-endian: <c>"EQXSTEP1"</c>, int32 count, then
/// per tensor int32 dtype (0 f32, 1 i64), int32 rank, int64 dims, the elements. The tensors, in order: the model's
/// parameters in torch's order, which is also the model's leaf order (MLP: weight <c>[out, in]</c> and bias of each
/// Linear layer, PyTorch's layout, which Equinox.Nn.Linear shares; CNN: each Conv2d's weight <c>[out, in, 3, 3]</c>
/// and bias, then the Linear's; GRU: weight_ih, weight_hh, bias_ih, bias_hh, then the Linear's), then x and y. x is
/// <c>[Batch, In]</c> (MLP), <c>[Batch, 1, 8, 8]</c> (CNN) or time-major <c>[Length, Batch, In]</c> (GRU); y is
/// <c>[Batch, Out]</c> (MSE) or int64 class indices <c>[Batch]</c> (cross-entropy).
/// </summary>
internal sealed class StepData
{
    public required StepModel Model { get; init; }
    /// <summary>The initial model: an <see cref="Mlp"/>, <see cref="StepCnn"/> or <see cref="StepGru"/> by <see cref="StepModel.Kind"/>.</summary>
    public required ITreeNode Initial { get; init; }
    public required Tensor X { get; init; }
    public required Tensor Y { get; init; }

    public static StepData Create(StepModel model)
    {
        var keys = Key.Create(model.Seed).Split(3);
        ITreeNode initial = model.Kind switch
        {
            StepKind.Cnn => new StepCnn(keys[0]),
            StepKind.Gru => new StepGru(model.In, model.Width, keys[0]),
            _ => new Mlp(model.In, model.Out, model.Width, depth: model.Depth, activation: Activations.Relu, key: keys[0]),
        };
        var x = Tensor.Normal(keys[1], model.Kind switch
        {
            StepKind.Cnn => [model.Batch, model.In, 8, 8],
            StepKind.Gru => [model.Length, model.Batch, model.In],
            _ => [model.Batch, model.In],
        });
        var y = model.CrossEntropy ? Tensor.RandInt(keys[2], [model.Batch], 0, model.Out) : Tensor.Normal(keys[2], [model.Batch, model.Out]);
        return new StepData { Model = model, Initial = initial, X = x, Y = y };
    }

    /// <summary>A fresh copy of the initial model, for an implementation to train (and, with donation, consume).</summary>
    public T CopyOfInitial<T>() where T : class, ITreeNode => Eqx.TreeMap((T)Initial, t => t.Clone());

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var parameters = Eqx.Leaves(Initial);
        var expected = Model.ParameterShapes();
        if (parameters.Length != expected.Length || parameters.Where((p, i) => !p.Shape.ToArray().SequenceEqual(expected[i])).Any())
            throw new InvalidOperationException($"{Model.Name}: expected parameters {string.Join(" ", expected.Select(s => $"[{string.Join(",", s)}]"))} in torch's order, " +
                                                $"found {string.Join(" ", parameters.Select(p => p.Describe()))}");
        var tensors = parameters.Append(X).Append(Y).ToArray();
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
