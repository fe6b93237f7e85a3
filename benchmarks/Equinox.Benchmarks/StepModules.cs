using Equinox.Nn;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

// The step benchmark's non-MLP models (the MLPs are Equinox.Nn.Mlp). Their leaves come in torch's parameter order,
// which the data file (StepData.cs) and the C++ and Python programs rely on.

/// <summary>
/// The <c>cnn</c> model: Conv2d(1, 8, 3, padding 1) -> ReLU -> MaxPool2d(2) -> Conv2d(8, 16, 3, padding 1) -> ReLU ->
/// MaxPool2d(2) -> flatten -> Linear(16*2*2, 10), on <c>[N, 1, 8, 8]</c> images.
/// </summary>
[Module]
public sealed partial class StepCnn
{
    public readonly Conv2d Conv1;
    public readonly MaxPool2d Pool1;
    public readonly Conv2d Conv2;
    public readonly MaxPool2d Pool2;
    public readonly Linear Head;

    public StepCnn(Key key)
    {
        var keys = key.Split(3);
        Conv1 = new Conv2d(1, 8, 3, keys[0], padding: 1);
        Pool1 = new MaxPool2d(2);
        Conv2 = new Conv2d(8, 16, 3, keys[1], padding: 1);
        Pool2 = new MaxPool2d(2);
        Head = new Linear(16 * 2 * 2, 10, keys[2]);
    }

    /// <summary>Logits <c>[N, 10]</c>.</summary>
    public Tensor Forward(Tensor x) =>
        Head.Forward(Pool2.Forward(Conv2.Forward(Pool1.Forward(Conv1.Forward(x).Relu())).Relu()).Flatten(1));
}

/// <summary>
/// The <c>gru</c> model: a GRUCell(8, 64) scanned (<see cref="Eqx.Scan{TCarry, TOut}(Func{TCarry, Tensor, ValueTuple{TCarry, TOut}}, TCarry, Tensor?, long?)"/>)
/// over time-major sequences <c>[T, N, 8]</c> from a zero hidden state, then Linear(64, 1) on the last hidden state.
/// </summary>
[Module]
public sealed partial class StepGru
{
    public readonly GRUCell Cell;
    public readonly Linear Head;

    public StepGru(int inputSize, int hiddenSize, Key key)
    {
        var (cellKey, headKey) = key.Split();
        Cell = new GRUCell(inputSize, hiddenSize, cellKey);
        Head = new Linear(hiddenSize, 1, headKey);
    }

    /// <summary>One output per sequence, <c>[N, 1]</c>.</summary>
    public Tensor Forward(Tensor xs)
    {
        var h0 = Tensor.Zeros([xs.Size(1), Cell.HiddenSize]);
        // Only the last hidden state is used: no per-step output to stack.
        var (last, _) = Eqx.Scan((Tensor h, Tensor x) => (Cell.Forward(x, h), (Tensor?)null), h0, xs);
        return Head.Forward(last);
    }
}
