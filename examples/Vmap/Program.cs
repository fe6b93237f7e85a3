// Vmap: the FAQ's "how do I input higher-order tensors (e.g. with batch dimensions) into my model?", and
// per-example gradients.
//
// Write the model for ONE example and map it over the batch with Eqx.FilterVmap: no batch dimension is threaded
// through the layers, and the whole batch still goes through each LibTorch op at once (functorch's batching rules).
// Per-example gradients (for gradient clipping per example, or influence scores) are a vmap of a gradient.
//
//   dotnet run --project examples/Vmap
using System.Globalization;
using Equinox;
using Equinox.Tensors;

var keys = Key.Create(0).Split(4);
var model = new Affine(inSize: 4, outSize: 3, keys[0]);
var xs = Tensor.Normal(keys[1], [8, 4]);   // a batch of 8 examples
var ys = Tensor.Normal(keys[2], [8, 3]);

// Affine.Forward is written for one example, x: [4]. Fed the whole batch it fails, naming the shapes:
try
{
    model.Forward(xs);
}
catch (TorchException e)
{
    Console.WriteLine($"model.Forward(xs) without FilterVmap: {e.GetType().Name}: {FirstLine(e.Message)}");
}

// FilterVmap maps it over the leading dimension of xs: the FAQ's jax.vmap(model)(x).
var batched = Eqx.FilterVmap((Tensor x) => model.Forward(x))(xs);
var looped = Tensor.Stack([.. Enumerable.Range(0, 8).Select(i => model.Forward(xs[i]))]);
Console.WriteLine($"FilterVmap(model.Forward)(xs): {batched.Describe()}; equals a loop over the examples: {Close(batched, looped)}");

// inAxes picks the batch dimension per argument: here the examples lie along dimension 1, and the model is shared.
var columns = xs.T.Contiguous();   // [4, 8]
var byColumn = Eqx.FilterVmap((Affine m, Tensor x) => m.Forward(x), inAxes: (VmapAxes.None, 1))(model, columns);
Console.WriteLine($"with inAxes: (VmapAxes.None, 1) over {columns.Describe()}: {byColumn.Describe()}; same result: {Close(byColumn, batched)}");

// Per-example gradients: one loss per example, and a gradient tree shaped like the model with the batch first.
var (losses, grads) = Eqx.PerExampleValueAndGrad(Loss, model, xs, ys);
Console.WriteLine($"per-example losses: {losses.Describe()}; per-example gradients: Weight {grads.Weight.Describe()}, Bias {grads.Bias.Describe()}");

// Check against the slow way: FilterGrad on each example in turn.
bool allEqual = true;
for (int i = 0; i < 8; i++)
{
    var one = Eqx.FilterGrad((Affine m) => Loss(m, xs[i], ys[i]))(model);
    allEqual &= Close(grads.Weight[i], one.Weight) && Close(grads.Bias[i], one.Bias);
}
Console.WriteLine($"per-example gradients equal FilterGrad example by example: {allEqual}");

// What they are for: each example's gradient norm (e.g. to clip per example, as in DP-SGD).
var norms = (grads.Weight.Square().Sum([1, 2]) + grads.Bias.Square().Sum(1)).Sqrt();
Console.WriteLine("per-example gradient norms: " + string.Join(" ", norms.ToArray<float>().Select(v => v.ToString("F3", CultureInfo.InvariantCulture))));
// Their mean is the gradient of the mean loss, which ordinary FilterGrad gives for the batch.
var meanGrad = Eqx.FilterGrad((Affine m) => Eqx.FilterVmap((Tensor x, Tensor y) => Loss(m, x, y))(xs, ys).Mean())(model);
Console.WriteLine($"mean of per-example gradients equals the batch gradient: {Close(grads.Weight.Mean(0), meanGrad.Weight)}");

static Tensor Loss(Affine m, Tensor x, Tensor y) => (m.Forward(x) - y).Square().Sum();
static bool Close(Tensor a, Tensor b) => (a - b).Abs().Max().Item<float>() < 1e-5f;
static string FirstLine(string s) => s.Split('\n')[0];

/// <summary><c>tanh(W x + b)</c> for one example <c>x: [In]</c>.</summary>
[Module]
public partial class Affine
{
    /// <summary><c>[Out, In]</c>.</summary>
    public readonly Tensor Weight;

    /// <summary><c>[Out]</c>.</summary>
    public readonly Tensor Bias;

    /// <summary>Random weights, zero bias.</summary>
    public Affine(int inSize, int outSize, Key key)
    {
        Weight = Tensor.Normal(key, [outSize, inSize]) * (1 / Math.Sqrt(inSize));
        Bias = Tensor.Zeros(outSize);
    }

    /// <summary>One example: <c>x</c> is <c>[In]</c>, the result <c>[Out]</c>.</summary>
    public Tensor Forward(Tensor x) => (Weight.Matmul(x) + Bias).Tanh();
}
