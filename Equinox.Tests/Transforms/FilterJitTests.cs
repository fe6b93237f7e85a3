using Equinox.Tensors;
using Equinox.Transforms;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// The FAQ's recompilation rules as tests: call, then assert how many compiles and why.
public class FilterJitTests
{
    private static readonly Func<Tensor, Tensor> Relu = t => t.Relu();
    private static readonly Func<Tensor, Tensor> Tanh = t => t.Tanh();

    private static JitMlp Model(int seed = 0, int depth = 2, Func<Tensor, Tensor>? activation = null) =>
        new(2, 8, 1, depth, activation ?? Relu, Key.Create(seed));

    private static Tensor Input(params long[] shape) => Tensor.Normal(Key.Create(7), shape);

    [Test]
    public void ShapeChangeCompilesAndEqualShapesHit()
    {
        var reasons = new List<string>();
        var f = Eqx.FilterJit((Tensor x) => x * 2.0);
        f.Compiled += (_, e) => reasons.Add(e.Reason);

        f.Invoke(Input(32, 2));
        Assert.That(f.CompileCount, Is.EqualTo(1));
        f.Invoke(Input(32, 2));
        Assert.That(f.CompileCount, Is.EqualTo(1), "a new tensor of the same shape and dtype is a hit");
        f.Invoke(Input(31, 2));
        Assert.That(f.CompileCount, Is.EqualTo(2));
        f.Invoke(Input(32, 2));
        f.Invoke(Input(31, 2));
        Assert.That(f.CompileCount, Is.EqualTo(2), "both shapes stay cached");
        Assert.That(f.CacheSize, Is.EqualTo(2));
        Assert.That(reasons, Is.EqualTo(new[] { "first call", "x: f32[32,2] -> f32[31,2]" }));
    }

    [Test]
    public void DtypeChangeOfAModuleLeafNamesItsPath()
    {
        string? reason = null;
        var f = Eqx.FilterJit((JitMlp model, Tensor x) => model.Forward(x));
        f.Compiled += (_, e) => reason = e.Reason;
        var model = Model();
        var x = Input(4, 2);
        f.Invoke(model, x);
        f.Invoke(Model(seed: 1), x);
        Assert.That(f.CompileCount, Is.EqualTo(1), "other values in tensors of the same shapes are a hit");

        var wider = Eqx.TreeAt(model, m => m.Layers[0].Weight, model.Layers[0].Weight.To(DType.Float64));
        Assert.Throws<TorchException>(() => f.Invoke(wider, x)); // f32 input against an f64 weight
        Assert.That(reason, Is.EqualTo("model.Layers[0].Weight: f32[8,2] -> f64[8,2]"));
        Assert.That(f.CacheSize, Is.EqualTo(1), "a first call that fails leaves no entry behind");
    }

    [Test]
    public void ChangedStaticFieldCompilesAndNamesTheField()
    {
        string? reason = null;
        var f = Eqx.FilterJit((JitMlp model, Tensor x) => model.Forward(x));
        f.Compiled += (_, e) => reason = e.Reason;
        var x = Input(4, 2);
        f.Invoke(Model(seed: 0, activation: Relu), x);
        f.Invoke(Model(seed: 1, activation: Relu), x);
        Assert.That(f.CompileCount, Is.EqualTo(1), "equal statics are a hit");
        f.Invoke(Model(seed: 0, activation: Tanh), x);
        Assert.That(f.CompileCount, Is.EqualTo(2));
        Assert.That(reason, Is.EqualTo("model.Activation changed"));

        f.Invoke(Model(depth: 3), x);
        Assert.That(f.CompileCount, Is.EqualTo(3));
        Assert.That(reason, Is.EqualTo("model.Layers: 3 elements -> 4 elements"));
    }

    [Test]
    public void PlainValuesAreStaticAndComparedWithEquals()
    {
        string? reason = null;
        var f = Eqx.FilterJit((Tensor x, int n) => x * (double)n);
        f.Compiled += (_, e) => reason = e.Reason;
        var x = Input(3);
        f.Invoke(x, 3);
        f.Invoke(x, 3);
        Assert.That(f.CompileCount, Is.EqualTo(1));
        f.Invoke(x, 4);
        Assert.That(f.CompileCount, Is.EqualTo(2));
        Assert.That(reason, Is.EqualTo("n (int): 3 -> 4"));
    }

    [Test]
    public void TupleElementsAreNamed()
    {
        string? reason = null;
        var f = Eqx.FilterJit(((Tensor Features, Tensor Labels) batch, JitMlp model) => (model.Forward(batch.Features) - batch.Labels).Square().Mean());
        f.Compiled += (_, e) => reason = e.Reason;
        var model = Model();
        f.Invoke((Input(4, 2), Input(4, 1)), model);
        f.Invoke((Input(5, 2), Input(5, 1)), model);
        Assert.That(reason, Is.EqualTo("batch.Item1: f32[4,2] -> f32[5,2]"));
        f.Invoke((Input(4, 2), Input(4, 1)), model);
        Assert.That(f.CompileCount, Is.EqualTo(2));
    }

    [Test]
    public void NearestEntryIsTheOneWithFewestDifferences()
    {
        var f = Eqx.FilterJit((Tensor a, Tensor b) => a.Sum() + b.Sum());
        var reasons = new List<string>();
        f.Compiled += (_, e) => reasons.Add(e.Reason);
        f.Invoke(Input(1), Input(1));
        f.Invoke(Input(2), Input(2));
        f.Invoke(Input(2), Input(3)); // one difference from the second entry, two from the first
        Assert.That(reasons[^1], Is.EqualTo("b: f32[2] -> f32[3]"));
    }

    [Test]
    public void ResultsEqualCallingTheFunctionDirectly()
    {
        var model = Model();
        var x = Input(6, 2);
        Func<JitMlp, Tensor, Tensor> forward = (m, input) => m.Forward(input);
        var f = Eqx.FilterJit(forward);
        using var direct = forward(model, x);
        for (int i = 0; i < 3; i++)
        {
            using var jitted = f.Invoke(model, x);
            Assert.That(jitted.ToArray<float>(), Is.EqualTo(direct.ToArray<float>()));
        }
    }

    [Test]
    public void TensorsMadeInsideAreReleasedExceptTheResult()
    {
        var model = Model();
        var x = Input(6, 2);
        var f = Eqx.FilterJit((JitMlp m, Tensor input) => m.Forward(input).Sum());
        f.Invoke(model, x).Dispose();
        long before = Torch.LiveTensors;
        var result = f.Invoke(model, x);
        Assert.That(Torch.LiveTensors, Is.EqualTo(before + 1), "only the result survives the call");
        Assert.That(result.IsDisposed, Is.False);
        result.Dispose();
    }

    [Test]
    public void LogCompilesPrintsEachReasonToStandardError()
    {
        var previous = Environment.GetEnvironmentVariable("EQUINOX_LOG_COMPILES");
        var error = Console.Error;
        var captured = new StringWriter();
        try
        {
            Environment.SetEnvironmentVariable("EQUINOX_LOG_COMPILES", "1");
            Console.SetError(captured);
            var f = Eqx.FilterJit((Tensor x) => x + 1.0, name: "shift");
            f.Invoke(Input(2));
            f.Invoke(Input(2));
            f.Invoke(Input(3));
        }
        finally
        {
            Console.SetError(error);
            Environment.SetEnvironmentVariable("EQUINOX_LOG_COMPILES", previous);
        }
        Assert.That(captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
        {
            "equinox: FilterJit shift: compile #1: first call",
            "equinox: FilterJit shift: compile #2: x: f32[2] -> f32[3]",
        }));
    }

    [Test]
    public void NoLogWithoutTheVariable()
    {
        var error = Console.Error;
        var captured = new StringWriter();
        try
        {
            Console.SetError(captured);
            Eqx.FilterJit((Tensor x) => x + 1.0).Invoke(Input(2));
        }
        finally
        {
            Console.SetError(error);
        }
        Assert.That(captured.ToString(), Is.Empty);
    }

    [Test]
    public void ChurnWarnsOnceNamingTheArgumentThatKeepsChanging()
    {
        var warnings = new List<RecompilationWarningEventArgs>();
        var error = Console.Error;
        var captured = new StringWriter();
        try
        {
            Console.SetError(captured);
            var f = Eqx.FilterJit((Tensor weights, Tensor x) => x.Sum() * weights.Sum(), name: "step");
            f.RecompilationWarning += (_, e) => warnings.Add(e);
            var weights = Input(4);
            for (int i = 1; i <= 24; i++) f.Invoke(weights, Input(i));
            Assert.That(f.CompileCount, Is.EqualTo(24));
        }
        finally
        {
            Console.SetError(error);
        }
        Assert.That(warnings, Has.Count.EqualTo(1));
        Assert.That(warnings[0].Argument, Is.EqualTo("x"));
        Assert.That(warnings[0].Message, Does.StartWith("equinox: warning: FilterJit step compiled on 8 of its last 8 calls; argument 'x' changed most often (7 times; last change: x: f32[7] -> f32[8])"));
        Assert.That(captured.ToString().Trim(), Is.EqualTo(warnings[0].Message));
    }

    [Test]
    public void NoChurnWarningForAStableLoop()
    {
        int warnings = 0;
        var f = Eqx.FilterJit((Tensor x) => x.Sum());
        f.RecompilationWarning += (_, _) => warnings++;
        for (int i = 0; i < 32; i++) f.Invoke(Input(i % 2 + 1));
        Assert.That(f.CompileCount, Is.EqualTo(2));
        Assert.That(warnings, Is.Zero);
    }

    // A training step as the FAQ writes it: forward, backward and update in one compiled function.
    private static (JitMlp, Tensor) TrainStep(JitMlp model, Tensor x, Tensor y)
    {
        var leaves = Eqx.Flatten(model);
        var tracked = new Tensor?[leaves.Length];
        for (int i = 0; i < leaves.Length; i++) tracked[i] = leaves[i]?.WithRequiresGrad();
        var live = Eqx.Unflatten(model, tracked);
        var loss = (live.Forward(x) - y).Square().Mean();
        var grads = Autograd.Grad(loss, Eqx.Leaves(live));
        using var _ = Torch.NoGrad();
        var updated = new Tensor?[leaves.Length];
        for (int i = 0; i < leaves.Length; i++) updated[i] = leaves[i]! - grads[i]! * 0.05;
        return (Eqx.Unflatten(model, updated), loss.Detach());
    }

    [Test]
    public void TrainingStepLearnsAndCompilesOnce()
    {
        var step = Eqx.FilterJit<JitMlp, Tensor, Tensor, (JitMlp, Tensor)>(TrainStep);
        var model = Model();
        var x = Input(16, 2);
        var y = x.Sum(1, keepdim: true);
        float first = 0, last = 0;
        for (int i = 0; i < 30; i++)
        {
            (model, var loss) = step.Invoke(model, x, y);
            if (i == 0) first = loss.Item<float>();
            last = loss.Item<float>();
            loss.Dispose();
        }
        Assert.That(step.CompileCount, Is.EqualTo(1));
        Assert.That(last, Is.LessThan(first));
    }

    [Test]
    public void DonationKeepsTheLiveTensorCountFlat()
    {
        // Other tests' garbage may be finalized while this one runs and lower the global count; collect it first,
        // and assert that the count never grows (a leak of one model per step would add hundreds).
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var step = Eqx.FilterJit<JitMlp, Tensor, Tensor, (JitMlp, Tensor)>(TrainStep, donate: Donate.Arg1);
        var model = Model(depth: 3);
        var x = Input(16, 2);
        var y = x.Sum(1, keepdim: true);
        long after5 = 0;
        for (int i = 0; i < 100; i++)
        {
            var old = model;
            (model, var loss) = step.Invoke(model, x, y);
            loss.Dispose();
            if (i == 0) Assert.That(Eqx.Leaves(old).All(t => t.IsDisposed), "the donated model's tensors are released by the call");
            if (i == 4) after5 = Torch.LiveTensors;
        }
        Assert.That(Torch.LiveTensors, Is.LessThanOrEqualTo(after5), "one model alive at a time, with no GC needed");
        Assert.That(Eqx.Leaves(model).Any(t => t.IsDisposed), Is.False);
        Assert.That(x.IsDisposed || y.IsDisposed, Is.False, "undonated arguments are left alone");
    }

    [Test]
    public void DonationKeepsLeavesTheResultStillHolds()
    {
        var f = Eqx.FilterJit((JitMlp m, Tensor x) => (Eqx.TreeAt(m, n => n.Layers[0].Bias, m.Layers[0].Bias + 1.0), x.Sum()), donate: Donate.Arg1);
        var model = Model();
        var (next, sum) = f.Invoke(model, Input(2, 2));
        Assert.That(model.Layers[0].Bias.IsDisposed, Is.True);
        Assert.That(model.Layers[0].Weight.IsDisposed, Is.False, "the result still holds it");
        Assert.That(next.Layers[0].Weight, Is.SameAs(model.Layers[0].Weight));
        sum.Dispose();
    }

    [Test]
    public void AFailingCompileLeavesNoEntryAndTheNextCallCompilesAgain()
    {
        bool fail = true;
        var f = Eqx.FilterJit((Tensor x) => fail ? throw new InvalidOperationException("boom") : x.Sum());
        Assert.Throws<InvalidOperationException>(() => f.Invoke(Input(2)));
        Assert.That(f.CacheSize, Is.Zero);
        fail = false;
        using var sum = f.Invoke(Input(2));
        Assert.That(f.CompileCount, Is.EqualTo(2));
        Assert.That(f.CacheSize, Is.EqualTo(1));
    }

    [Test]
    public void ConcurrentCallsShareOneEntry()
    {
        // Each call runs start to end on its own thread (scopes and grad mode are per thread); the cache is shared.
        var model = Model();
        var f = Eqx.FilterJit((JitMlp m, Tensor x) => m.Forward(x).Sum());
        using var expected = model.Forward(Input(4, 2)).Sum();
        var results = new float[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            using var x = Input(4, 2);
            using var r = f.Invoke(model, x);
            results[i] = r.Item<float>();
        });
        Assert.That(f.CompileCount, Is.EqualTo(1));
        Assert.That(results, Is.All.EqualTo(expected.Item<float>()));
    }

    [Test]
    public void CudaGraphCaptureIsReportedUnavailableOnACpuBuild()
    {
        if (Torch.IsCudaAvailable) Assert.Ignore("this LibTorch build has CUDA; the CUDA test covers capture");
        Assert.That(CapturedGraph.Available, Is.False);
        Assert.That(CapturedGraph.NotAvailable, Is.EqualTo("CUDA graph capture is not available in this LibTorch build"));
    }

    [Test]
    public void CudaStepIsCapturedAndReplayed()
    {
        if (!Torch.IsCudaAvailable)
            Assert.Ignore("needs a CUDA device: this LibTorch build or machine has none, so the captured path (CUDA graph " +
                          "warm-up, capture and replay) cannot run here");
        var cuda = Device.Cuda();
        var step = Eqx.FilterJit<JitMlp, Tensor, Tensor, (JitMlp, Tensor)>(TrainStep);
        FilterJitCompiledEventArgs? compiled = null;
        step.Compiled += (_, e) => compiled = e;
        var model = Eqx.TreeMap(Model(), t => t.To(cuda));
        var x = Input(16, 2).To(cuda);
        var y = x.Sum(1, keepdim: true);
        var (eagerModel, eagerLoss) = TrainStep(model, x, y);
        var (m1, l1) = step.Invoke(model, x, y);
        Assert.That(compiled!.Mode, Is.EqualTo(JitMode.CudaGraph), compiled.FallbackReason);
        Assert.That(l1.Item<float>(), Is.EqualTo(eagerLoss.Item<float>()).Within(1e-5));
        var first = Eqx.Leaves(m1).Select(t => t.To(Device.Cpu).ToArray<float>()).ToArray();
        var expected = Eqx.Leaves(eagerModel).Select(t => t.To(Device.Cpu).ToArray<float>()).ToArray();
        for (int i = 0; i < first.Length; i++) Assert.That(first[i], Is.EqualTo(expected[i]).Within(1e-5));
        step.Invoke(model, x, y);
        Assert.That(step.CompileCount, Is.EqualTo(1), "the second call replays the graph");
    }
}
