// Recompiles: the FAQ's "I think my function is being recompiled each time it is run", answered by FilterJit itself.
//
// Equinox's recipe is to jit a dummy function per argument and watch which one prints "compiling". Here every
// compile raises the step's Compiled event, whose Reason names the argument that changed and how (its shape, its
// dtype, a static value), compared with the nearest entry already in the cache. So the loop below needs no probes:
// subscribe once and read the reasons. (EQUINOX_LOG_COMPILES=1 prints the same to standard error.)
//
//   dotnet run --project examples/Recompiles
using Equinox;
using Equinox.Nn;
using Equinox.Tensors;

var model = new Mlp(2, 1, 16, 1, Key.Create(0));

// A step that takes a batch and a learning rate passed as a plain double: two classic mistakes at once. The data
// loader's batches vary in length, and a plain number is static (compared with Equals), so each new value compiles.
var step = Eqx.FilterJit((Mlp m, Tensor x, Tensor y, double learningRate) =>
{
    var (loss, grads) = Eqx.FilterValueAndGrad((Mlp t) => Functional.MseLoss(t.Forward(x), y))(m);
    return (Eqx.ApplyUpdates(m, Eqx.TreeMap(grads, g => g * -learningRate)), loss);
}, name: "step");
step.Compiled += (_, e) => Console.WriteLine($"  compile #{e.CompileCount}: {e.Reason}"
    + (e.Differences.Count > 1 ? $" (also {string.Join("; ", e.Differences.Skip(1))})" : ""));
// Churn (more than half of 8 calls compiled) is also written to standard error once, and raised as an event.
step.RecompilationWarning += (_, e) => Console.WriteLine($"  RecompilationWarning: the argument that changed most is '{e.Argument}'");

Console.WriteLine("== a batch that changes length, and a learning rate passed as a number");
int[] batchSizes = [32, 32, 17, 32, 32, 32, 32, 32];
for (int i = 0; i < batchSizes.Length; i++)
{
    Console.WriteLine($"step {i}");
    var (x, y) = Batch(i, batchSizes[i]);
    double learningRate = 0.1 / (1 + i);   // a decaying schedule, computed on the host
    (model, _) = step.Invoke(model, x, y, learningRate);
}
Console.WriteLine($"{step.CompileCount} compiles in {batchSizes.Length} calls");

// The fixes: keep every batch the same shape (drop or pad the last one) and put changing numbers in tensors.
var fixedStep = Eqx.FilterJit((Mlp m, Tensor x, Tensor y, Tensor learningRate) =>
{
    var (loss, grads) = Eqx.FilterValueAndGrad((Mlp t) => Functional.MseLoss(t.Forward(x), y))(m);
    return (Eqx.ApplyUpdates(m, Eqx.TreeMap(grads, g => g * -learningRate)), loss);
}, name: "fixedStep");
fixedStep.Compiled += (_, e) => Console.WriteLine($"  compile #{e.CompileCount}: {e.Reason}");
Console.WriteLine("== the same loop, with a fixed batch shape and the learning rate in a tensor");
for (int i = 0; i < batchSizes.Length; i++)
{
    Console.WriteLine($"step {i}");
    var (x, y) = Batch(i, 32);
    (model, _) = fixedStep.Invoke(model, x, y, Tensor.Scalar(0.1f / (1 + i)));
}
Console.WriteLine($"{fixedStep.CompileCount} compile in {batchSizes.Length} calls");

static (Tensor X, Tensor Y) Batch(int i, int size)
{
    var x = Tensor.Normal(Key.Create(100 + i), [size, 2]);
    return (x, (x[.., 0..1] * x[.., 1..2]).Sin());
}
