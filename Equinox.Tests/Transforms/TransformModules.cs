using Equinox.Tensors;

namespace Equinox.Tests.Transforms;

// The modules that the gradient and scan tests differentiate.

// A two-layer perceptron with an integer leaf (a step counter), an optional unused leaf, and a static field.
[Module]
public partial class TinyMlp
{
    public readonly Tensor W1;
    public readonly Tensor B1;
    public readonly Tensor W2;
    public readonly Tensor B2;
    public readonly Tensor Steps;
    public readonly Tensor? Spare;
    public readonly string Name;

    public TinyMlp(int inputs, int hidden, Key key, bool withSpare = false)
    {
        var (k1, k2) = key.Split();
        var (k3, k4) = k2.Split();
        W1 = Tensor.Normal(k1, [inputs, hidden], DType.Float64) * 0.7;
        B1 = Tensor.Normal(k3, [hidden], DType.Float64) * 0.1;
        W2 = Tensor.Normal(k4, [hidden, 1], DType.Float64) * 0.7;
        B2 = Tensor.Zeros([1], DType.Float64);
        Steps = Tensor.Scalar(3L);
        Spare = withSpare ? Tensor.Ones([2], DType.Float64) : null;
        Name = "tiny";
    }

    public Tensor Forward(Tensor x) => (x.Matmul(W1) + B1).Tanh().Matmul(W2) + B2;

    public const string ForwardPython = "(x @ w1 + b1).tanh() @ w2 + b2";
}

// The FAQ's non-trainable array: the forward reads Buffer only through StopGradient.
[Module]
public partial class Buffered
{
    public readonly Tensor Param;
    public readonly Tensor Buffer;
    public readonly bool StopBuffer;

    public Buffered(Tensor param, Tensor buffer, bool stopBuffer = true)
    {
        Param = param;
        Buffer = buffer;
        StopBuffer = stopBuffer;
    }

    public Tensor Forward(Tensor x) => Param * x + (StopBuffer ? Eqx.StopGradient(Buffer) : Buffer);
}

// One weight: the smallest model to take derivatives of.
[Module]
public partial class Scalarish
{
    public readonly Tensor W;

    public Scalarish(Tensor w) => W = w;
}

// An Elman RNN cell and its state, for Scan.
[Module]
public partial class RnnCell
{
    public readonly Tensor Wx;
    public readonly Tensor Wh;
    public readonly Tensor B;

    public RnnCell(int inputs, int hidden, Key key)
    {
        var (k1, k2) = key.Split();
        Wx = Tensor.Normal(k1, [inputs, hidden], DType.Float64) * 0.5;
        Wh = Tensor.Normal(k2, [hidden, hidden], DType.Float64) * 0.5;
        B = Tensor.Full([hidden], 0.1, DType.Float64);
    }

    public Tensor Step(Tensor h, Tensor x) => (x.Matmul(Wx) + h.Matmul(Wh) + B).Tanh();

    public const string StepPython = "torch.tanh(x @ wx + h @ wh + b)";
}

[Module]
public partial class RnnState
{
    public readonly Tensor H;
    public readonly Tensor Count;

    public RnnState(Tensor h, Tensor count)
    {
        H = h;
        Count = count;
    }
}
