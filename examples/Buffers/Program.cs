// Buffers: how to keep a tensor in a model without training it (PyTorch's register_buffer).
// The FAQ's answer: read it through a stop-gradient. Here that is Eqx.StopGradient, and FilterGrad then gives the
// buffer no gradient at all (a null slot in the gradient tree: zero), so an optimiser step leaves it as it is.
//
//   dotnet run --project examples/Buffers [-- --steps N]
using System.Globalization;
using Equinox;
using Equinox.Optim;
using Equinox.Tensors;

int steps = args switch
{
    [] => 100,
    ["--steps", var n] when int.TryParse(n, CultureInfo.InvariantCulture, out int count) && count > 0 => count,
    _ => throw new ArgumentException("Usage: Buffers [--steps N (default 100)]"),
};

var (paramKey, dataKey) = Key.Create(0).Split();
var model = new Affine(Tensor.Normal(paramKey, [3]), Tensor.FromArray([1f, 2f, 3f], 3));
var x = Tensor.Normal(dataKey, [16, 3]);
var y = x * 2 + 5;

// The loss reads the buffer only through StopGradient (see Affine.Forward).
var grads = Eqx.FilterGrad((Affine m) => Functional.MseLoss(m.Forward(x), y))(model);
Console.WriteLine($"model: {model}");
Console.WriteLine($"param gradient:  {Show(grads.Param)}");
Console.WriteLine($"buffer gradient: {(grads.Buffer is null ? "zero (FilterGrad gives the buffer no gradient: its slot is null)" : Show(grads.Buffer))}");

// The same loss reading the buffer directly: now it would get a gradient, and training would move it.
var leaky = Eqx.FilterGrad((Affine m) => Functional.MseLoss(m.Param * x + m.Buffer, y))(model);
Console.WriteLine($"without StopGradient the buffer's gradient would be: {Show(leaky.Buffer!)}");

// Train: the optimiser skips null gradients, so the buffer keeps its value and only Param moves.
var sgd = new Sgd(0.1);
var state = sgd.Init(model);
var before = model.Buffer.ToArray<float>();
for (int i = 0; i < steps; i++)
{
    using var scope = Torch.Scope();
    var g = Eqx.FilterGrad((Affine m) => Functional.MseLoss(m.Forward(x), y))(model);
    (model, state) = sgd.Step(model, g, state);
    scope.MoveOut(Eqx.Leaves(model));
    scope.MoveOut(Eqx.Leaves(state));
}
Console.WriteLine($"after {steps} SGD steps: param {Show(model.Param)}, buffer {Show(model.Buffer)}");
Console.WriteLine($"buffer unchanged by training: {before.SequenceEqual(model.Buffer.ToArray<float>())}");

static string Show(Tensor t) =>
    "[" + string.Join(", ", t.ToArray<float>().Select(v => v.ToString("F4", CultureInfo.InvariantCulture))) + "]";

/// <summary>y = Param * x + Buffer, where Buffer is not trained.</summary>
[Module]
public partial class Affine
{
    /// <summary>Trained.</summary>
    public readonly Tensor Param;

    /// <summary>A buffer: read through <see cref="Eqx.StopGradient(Tensor)"/>, so no gradient reaches it.</summary>
    public readonly Tensor Buffer;

    /// <summary>Makes the model from its two tensors.</summary>
    public Affine(Tensor param, Tensor buffer)
    {
        Param = param;
        Buffer = buffer;
    }

    /// <summary>Applies the model to a batch <c>[N, 3]</c>.</summary>
    public Tensor Forward(Tensor x) => Param * x + Eqx.StopGradient(Buffer);
}
