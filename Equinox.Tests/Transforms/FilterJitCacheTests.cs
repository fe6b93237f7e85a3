using System.Runtime.CompilerServices;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// FilterJit's cache belongs to the function, as in Equinox (issue 18 item 1), and Compile fills it ahead of time (item 9).
public class FilterJitCacheTests
{
    private static JitMlp Model(int seed = 0) => new(2, 8, 1, 2, t => t.Relu(), Key.Create(seed));

    private static Tensor Input(params long[] shape) => Tensor.Normal(Key.Create(7), shape);

    private static Tensor Double(Tensor x) => x * 2.0;

    [Test]
    public void TwoFilterJitsOfOneMethodShareItsCache()
    {
        var first = Eqx.FilterJit<Tensor, Tensor>(Double);
        first.Invoke(Input(3, 2));
        var second = Eqx.FilterJit<Tensor, Tensor>(Double);
        string? reason = null;
        second.Compiled += (_, e) => reason = e.Reason;
        second.Invoke(Input(3, 2));
        Assert.That(reason, Is.Null, "the second wrapper found the first one's entry");
        Assert.That(second.CompileCount, Is.EqualTo(first.CompileCount));
        second.Invoke(Input(5, 2));
        Assert.That(reason, Is.EqualTo("x: f32[3,2] -> f32[5,2]"), "compile reasons compare with the shared entries");
        Assert.That(first.CacheSize, Is.EqualTo(second.CacheSize));
    }

    [Test]
    public void ABoundMethodMadeEachCallCompilesOncePerModel()
    {
        var model = Model();
        var x = Input(4, 2);
        int compiles = 0;
        for (int i = 0; i < 3; i++)
        {
            var forward = Eqx.FilterJit<Tensor, Tensor>(model.Forward);   // a common pattern: FilterJit(model.Method) in a loop
            forward.Compiled += (_, _) => compiles++;
            forward.Invoke(x);
        }
        Assert.That(compiles, Is.EqualTo(1));

        var other = Eqx.FilterJit<Tensor, Tensor>(Model(seed: 1).Forward);
        Assert.That(other.CacheSize, Is.EqualTo(0), "another model is another target: its own cache");
        var donating = Eqx.FilterJit<Tensor, Tensor>(model.Forward, Donate.Arg1);
        Assert.That(donating.CacheSize, Is.EqualTo(0), "donation changes how an entry runs: its own cache");
    }

    [Test]
    public void ClosuresOverDifferentValuesDoNotShareACache()
    {
        FilterJitFunction<Tensor, Tensor> Scale(double factor) => Eqx.FilterJit((Tensor x) => x * factor);
        var two = Scale(2);
        var three = Scale(3);
        Assert.That(two.Invoke(Tensor.Ones(1)).ToArray<float>(), Is.EqualTo(new[] { 2f }));
        Assert.That(three.Invoke(Tensor.Ones(1)).ToArray<float>(), Is.EqualTo(new[] { 3f }));
        Assert.That(three.CompileCount, Is.EqualTo(1));
    }

    [Test]
    public void TheSharedCacheDoesNotKeepABoundMethodsTargetAlive()
    {
        var target = JitOnABoundMethodAndDropIt();
        for (int i = 0; i < 5 && target.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.That(target.IsAlive, Is.False, "the cache holds its function's target weakly");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference JitOnABoundMethodAndDropIt()
    {
        var holder = new Holder();
        Eqx.FilterJit<Tensor, Tensor>(holder.Forward).Invoke(Tensor.Ones(1)).Dispose();
        return new WeakReference(holder);
    }

    private sealed class Holder
    {
        public Tensor Forward(Tensor x) => x + 1.0;
    }

    // ---- Compile ahead of time (item 9) ------------------------------------------------------------------------

    [Test]
    public void CompileFillsTheCacheSoTheFirstCallIsAHit()
    {
        int calls = 0;
        var step = Eqx.FilterJit((JitMlp model, Tensor x) =>
        {
            calls++;
            return model.Forward(x).Sum();
        });
        var model = Model();
        var report = step.Compile(model, Input(4, 2));
        Assert.That(report, Is.Not.Null);
        Assert.That(report!.Reason, Is.EqualTo("first call"));
        Assert.That(report.Mode, Is.EqualTo(JitMode.Eager), "on the CPU an entry runs eagerly");
        Assert.That(calls, Is.EqualTo(1), "the function ran once, to check it");

        var compiles = new List<string>();
        step.Compiled += (_, e) => compiles.Add(e.Reason);
        step.Invoke(model, Input(4, 2));
        Assert.That(compiles, Is.Empty, "the call found the entry Compile made");
        Assert.That(step.Compile(Model(seed: 3), Input(4, 2)), Is.Null, "already compiled");
        Assert.That(step.Compile(model, Input(6, 2))!.Reason, Is.EqualTo("x: f32[4,2] -> f32[6,2]"));
        Assert.That(step.CacheSize, Is.EqualTo(2));
    }

    private static long LiveAfterCollecting()
    {
        Finalizers.RunPending();
        return Torch.LiveTensors;
    }

    [Test]
    public void CompileNeitherDonatesNorKeepsItsResult()
    {
        var model = Model();
        var step = Eqx.FilterJit((JitMlp m, Tensor x) => (m, Loss: m.Forward(x).Sum()), Donate.Arg1);
        var x = Input(4, 2);
        var before = LiveAfterCollecting();
        step.Compile(model, x);
        Assert.That(LiveAfterCollecting(), Is.EqualTo(before), "the loss was freed, nothing else made");
        Assert.That(Eqx.Leaves(model).All(t => !t.IsDisposed), Is.True, "the model given as an example is not donated");
    }

    [Test]
    public void CompileRaisesTheFunctionsErrorAndLeavesNoEntry()
    {
        var step = Eqx.FilterJit((JitMlp m, Tensor x) => m.Forward(x));
        Assert.Throws<TorchException>(() => step.Compile(Model(), Input(4, 3)));
        Assert.That(step.CacheSize, Is.EqualTo(0));
    }
}
