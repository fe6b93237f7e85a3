using Equinox.Tensors;
using Equinox.Transforms;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// Scan inside FilterJit's CUDA capture: the body is captured once into a body graph and launched per step, or the
// Scan declines and unrolls. The CPU tests drive CudaScanLowering with a body graph that replays eagerly; the CUDA
// tests run the real thing and are skipped where there is no device.
public class ScanLoweringTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    // Stands in for the CUDA body graph: it cannot record, so a launch runs the lowering's eager replay of the body.
    private sealed class ReplayingBodyGraph(Action replay, string? failEnd = null) : IScanBodyGraph
    {
        public int Begins { get; private set; }

        public int Ends { get; private set; }

        public int Launches { get; private set; }

        public bool Disposed { get; private set; }

        public void BeginCapture() => Begins++;

        public void EndCapture()
        {
            Ends++;
            if (failEnd is not null) throw new InvalidOperationException(failEnd);
        }

        public void Launch()
        {
            Launches++;
            replay();
        }

        public void Dispose() => Disposed = true;
    }

    private sealed class Harness : IDisposable
    {
        public readonly List<ReplayingBodyGraph> Graphs = new();
        public readonly List<IDisposable> Kept = new();
        public readonly CudaScanLowering Lowering;

        public Harness(string? failEnd = null)
        {
            Lowering = new CudaScanLowering(replay =>
            {
                var graph = new ReplayingBodyGraph(replay, failEnd);
                Graphs.Add(graph);
                return graph;
            }, Kept);
            ScanTransform.Lowering = Lowering;
        }

        public void Dispose()
        {
            ScanTransform.Lowering = null;
            foreach (var kept in Kept) kept.Dispose();
        }
    }

    private static (Tensor Carry, Tensor Outputs) Recurrence(RnnCell cell, Tensor h0, Tensor xs, Action counted) =>
        Eqx.Scan((Tensor h, Tensor x) =>
        {
            counted();
            var next = cell.Step(h, x);
            return (next, next);
        }, h0, xs);

    [Test]
    public void WithNoLoweringInstalledTheBodyRunsOncePerStep()
    {
        using var scope = Torch.Scope();
        Assert.That(ScanTransform.Lowering, Is.Null, "only a capturing FilterJit installs one");
        int calls = 0;
        Recurrence(new RnnCell(2, 3, Key.Create(1)), Tensor.Zeros([3], DType.Float64), Normal(2, 7, 2), () => calls++);
        Assert.That(calls, Is.EqualTo(7));
    }

    [Test]
    public void TheBodyIsCapturedOnceThenEachStepOnlyLaunchesIt()
    {
        using var scope = Torch.Scope();
        var cell = new RnnCell(2, 3, Key.Create(3));
        var xs = Normal(4, 6, 2);
        var h0 = Normal(5, 3);
        int calls = 0;
        var eager = Recurrence(cell, h0, xs, () => calls++);

        using var harness = new Harness();
        calls = 0;
        var lowered = Recurrence(cell, h0, xs, () => calls++);
        var graph = harness.Graphs.Single();
        Assert.That((graph.Begins, graph.Ends, graph.Launches), Is.EqualTo((1, 1, 6)), "one capture, one launch per step");
        Assert.That(calls, Is.EqualTo(1 + graph.Launches), "the lowering runs the body once; the rest are the double's replays");
        Assert.That(harness.Lowering.Lowered, Is.EqualTo(1));
        Assert.That(harness.Lowering.Declines, Is.Empty);
        Assert.That(harness.Kept, Is.EqualTo(new[] { graph }), "the body graph lives as long as the enclosing graph");
        Assert.That(graph.Disposed, Is.False);
        Assert.That(lowered.Outputs.Shape, Is.EqualTo(new long[] { 6, 3 }));
        Assert.That(lowered.Outputs.ToArray<double>(), Is.EqualTo(eager.Outputs.ToArray<double>()).Within(1e-14));
        Assert.That(lowered.Carry.ToArray<double>(), Is.EqualTo(eager.Carry.ToArray<double>()).Within(1e-14));
        Assert.That(h0.ToArray<double>(), Is.EqualTo(Normal(5, 3).ToArray<double>()), "init is copied into a buffer, never written");
    }

    [Test]
    public void SwappedCarriesAndOutputsThatAreCarryBuffersSurviveTheCopies()
    {
        using var scope = Torch.Scope();
        using var harness = new Harness();
        // The next carry's first leaf is the second carry buffer: copied in place, it would be overwritten first.
        var (swapped, seen) = Eqx.Scan(((Tensor A, Tensor B) c) => ((c.B, c.A), c.A * 10 + c.B),
            (Tensor.Scalar(1.0), Tensor.Scalar(2.0)), 3);
        Assert.That(seen.ToArray<double>(), Is.EqualTo(new[] { 12.0, 21.0, 12.0 }));
        Assert.That((swapped.Item1.Item<double>(), swapped.Item2.Item<double>()), Is.EqualTo((2.0, 1.0)));

        // The output is a carry buffer itself: each row must hold the carry of its own step.
        var (last, fibs) = Eqx.Scan(((Tensor A, Tensor B) c) => ((c.B, c.A + c.B), new Scalarish(c.A)),
            (Tensor.Scalar(0.0), Tensor.Scalar(1.0)), 8);
        Assert.That(fibs.W.ToArray<double>(), Is.EqualTo(new double[] { 0, 1, 1, 2, 3, 5, 8, 13 }));
        Assert.That((last.Item1.Item<double>(), last.Item2.Item<double>()), Is.EqualTo((21.0, 34.0)));
        Assert.That(harness.Lowering.Lowered, Is.EqualTo(2));
    }

    [Test]
    public void ACarryOrXsThatRequiresGradIsUnrolledWithoutCapturingTheBody()
    {
        using var scope = Torch.Scope();
        var cell = new RnnCell(2, 3, Key.Create(6));
        var xs = Normal(7, 5, 2);
        var h0 = Normal(8, 3).WithRequiresGrad();
        var expected = Recurrence(cell, h0, xs, () => { });

        using var harness = new Harness();
        int calls = 0;
        var result = Recurrence(cell, h0, xs, () => calls++);
        Assert.That(harness.Graphs, Is.Empty, "declined before the body ran");
        Assert.That(calls, Is.EqualTo(5));
        Assert.That(harness.Lowering.Declines.Single(), Does.Contain("its carry or xs requires grad"));
        Assert.That(result.Outputs.RequiresGrad, Is.True, "the unrolled loop stays differentiable");
        Assert.That(result.Outputs.ToArray<double>(), Is.EqualTo(expected.Outputs.ToArray<double>()).Within(1e-14));

        using (Torch.NoGrad())
        {
            Recurrence(cell, h0, xs, () => { });
            Assert.That(harness.Lowering.Lowered, Is.EqualTo(1), "without grad mode nothing needs the tape");
        }
    }

    [Test]
    public void ABodyWhoseOutputsRequireGradIsCapturedThenUnrolled()
    {
        using var scope = Torch.Scope();
        var cell = new RnnCell(2, 3, Key.Create(9));
        var trained = new RnnCell(2, 3, Key.Create(9));
        trained = Eqx.TreeMap(trained, t => t.WithRequiresGrad());
        var xs = Normal(10, 4, 2);
        var h0 = Normal(11, 3);
        var expected = Recurrence(cell, h0, xs, () => { });

        using var harness = new Harness();
        int calls = 0;
        var result = Recurrence(trained, h0, xs, () => calls++);
        var graph = harness.Graphs.Single();
        Assert.That((graph.Begins, graph.Ends, graph.Launches, graph.Disposed), Is.EqualTo((1, 1, 0, true)),
            "the body graph was captured, then thrown away");
        Assert.That(harness.Kept, Is.Empty);
        Assert.That(calls, Is.EqualTo(1 + 4), "one capture, then the unrolled steps");
        Assert.That(harness.Lowering.Declines.Single(), Does.Contain("its body's outputs require grad"));
        Assert.That(result.Outputs.RequiresGrad, Is.True);
        Assert.That(result.Outputs.ToArray<double>(), Is.EqualTo(expected.Outputs.ToArray<double>()).Within(1e-14));
    }

    [Test]
    public void ABodyThatCallsErrorIfIsUnrolledSoEveryStepIsChecked()
    {
        using var scope = Torch.Scope();
        var xs = Tensor.FromArray(new double[] { 1, 2, -3, 4 }).Reshape(4, 1);
        (Tensor, Tensor) Body(Tensor c, Tensor x) => (c + Eqx.ErrorIf(x, x.Lt(-10.0), "too negative"), c);
        using var harness = new Harness();
        var (sum, _) = Eqx.Scan(Body, Tensor.Zeros([1], DType.Float64), xs);
        Assert.That(sum.Item<double>(), Is.EqualTo(4.0));
        Assert.That(harness.Lowering.Declines.Single(), Does.Contain("ErrorIf"));
        Assert.That(harness.Graphs.Single().Disposed, Is.True);

        int line = CallSite.Line() + 2;
        var error = Assert.Throws<EquinoxRuntimeException>(() =>
            Eqx.Scan((Tensor c, Tensor x) => (c + Eqx.ErrorIf(x, x.Lt(0.0), "negative x"), c), Tensor.Zeros([1], DType.Float64), xs));
        Assert.That(error!.Message, Is.EqualTo($"negative x (ErrorIf at ScanLoweringTests.cs:{line})"), "the step with x = -3 is checked once unrolled");
    }

    [Test]
    public void ABodyThatCannotBeCapturedIsUnrolledAfterItsCaptureEnds()
    {
        using var scope = Torch.Scope();
        var xs = Normal(12, 3, 2);
        var init = Tensor.Zeros([2], DType.Float64);
        using (var harness = new Harness(failEnd: "operation not permitted when stream is capturing"))
        {
            int calls = 0;
            var (carry, _) = Eqx.Scan((Tensor c, Tensor x) => { calls++; return (c + x, c); }, init, xs);
            Assert.That(carry.ToArray<double>(), Is.EqualTo(xs.Sum(0).ToArray<double>()).Within(1e-14));
            Assert.That(calls, Is.EqualTo(1 + 3));
            var graph = harness.Graphs.Single();
            Assert.That((graph.Ends, graph.Disposed), Is.EqualTo((1, true)), "the capture was ended before declining");
            Assert.That(harness.Lowering.Declines.Single(),
                Is.EqualTo("its body could not be captured on its own: operation not permitted when stream is capturing"));
        }

        using (var harness = new Harness())
        {
            // The body's own mistake: the lowering declines, and the eager loop reports it with the step.
            var error = Assert.Throws<ArgumentException>(() =>
                Eqx.Scan((Tensor c, Tensor x) => (Tensor.Cat([c, x]), x), init, xs));
            Assert.That(error!.Message, Does.Contain("at step 0 carry was f64[2] and is now f64[4]"));
            Assert.That(harness.Graphs.Single().Ends, Is.EqualTo(1), "ended even though the body threw");
        }
    }

    [Test]
    public void WithoutACudaShimTheRealBodyGraphDeclines()
    {
        if (Torch.IsCudaAvailable) Assert.Ignore("this LibTorch build has CUDA; the CUDA tests below cover the body graph");
        using var scope = Torch.Scope();
        var kept = new List<IDisposable>();
        var lowering = new CudaScanLowering(_ => new CudaBodyGraph(0), kept);
        ScanTransform.Lowering = lowering;
        try
        {
            var (carry, _) = Eqx.Scan((Tensor c) => (c + 1, c), Tensor.Scalar(0.0), 5);
            Assert.That(carry.Item<double>(), Is.EqualTo(5.0));
        }
        finally
        {
            ScanTransform.Lowering = null;
        }
        Assert.That(kept, Is.Empty);
        Assert.That(lowering.Declines.Single(), Is.EqualTo("its body could not be captured on its own: " + CapturedGraph.NotAvailable));
    }

    [Test]
    public void AScanInsideFilterVmapIsUnrolled()
    {
        using var scope = Torch.Scope();
        var batch = Normal(13, 4, 2);
        using var harness = new Harness();
        var sums = Eqx.FilterVmap((Tensor x) => Eqx.Scan((Tensor c) => (c + x, c), x.ZerosLike(), 3).Carry)(batch);
        Assert.That(sums.ToArray<double>(), Is.EqualTo((batch * 3.0).ToArray<double>()).Within(1e-14));
        Assert.That(harness.Lowering.Declines.Single(), Does.Contain("FilterVmap"));
        Assert.That(harness.Graphs, Is.Empty);
    }

    // ---- on a CUDA device: FilterJit's capture installs the lowering -------------------------------------------

    private const string NoCuda = "needs a CUDA device: this LibTorch build or machine has none, so FilterJit cannot " +
                                  "capture a CUDA graph here, and Scan's body graph (a child-graph node per step) is never made";

    [Test]
    public void OnCudaFilterJitCapturesTheScanBodyOnceAndReplaysIt()
    {
        if (!Torch.IsCudaAvailable) Assert.Ignore(NoCuda);
        const int length = 64;
        var cuda = Device.Cuda();
        var w = (Tensor.Normal(Key.Create(20), [16, 16]) * 0.25).To(cuda);
        int calls = 0;
        (Tensor, Tensor) Body(Tensor h, Tensor x)
        {
            calls++;
            var next = (h.Matmul(w) + x).Tanh();
            return (next, next);
        }
        var f = Eqx.FilterJit((Tensor h0, Tensor xs) => Eqx.Scan(Body, h0, xs));
        FilterJitCompiledEventArgs? compiled = null;
        f.Compiled += (_, e) => compiled = e;
        var h0 = Tensor.Zeros([16]).To(cuda);
        using var noGrad = Torch.NoGrad();
        foreach (var seed in new[] { 21, 22 })
        {
            var xs = Tensor.Normal(Key.Create(seed), [length, 16]).To(cuda);
            var (eagerH, eagerYs) = Eqx.Scan(Body, h0, xs);
            calls = 0;
            var (h, ys) = f.Invoke(h0, xs);
            if (seed == 21)
            {
                Assert.That(compiled!.Mode, Is.EqualTo(JitMode.CudaGraph), compiled.FallbackReason);
                Assert.That(calls, Is.EqualTo(CapturedGraph.WarmupCalls * length + 1),
                    "the eager warm-up calls run the body per step; the capture runs it once");
            }
            else
            {
                Assert.That(calls, Is.Zero, "a replay runs no C#");
            }
            Assert.That(ys.To(Device.Cpu).ToArray<float>(), Is.EqualTo(eagerYs.To(Device.Cpu).ToArray<float>()).Within(1e-5));
            Assert.That(h.To(Device.Cpu).ToArray<float>(), Is.EqualTo(eagerH.To(Device.Cpu).ToArray<float>()).Within(1e-5));
        }
        Assert.That(f.CompileCount, Is.EqualTo(1));
    }

    [Test]
    public void OnCudaAScanThatGradientsFlowThroughIsUnrolledIntoTheGraph()
    {
        if (!Torch.IsCudaAvailable) Assert.Ignore(NoCuda);
        const int length = 16;
        var cuda = Device.Cuda();
        var cell = Eqx.TreeMap(new RnnCell(3, 5, Key.Create(23)), t => t.To(cuda));
        var xs = Normal(24, length, 3).To(cuda);
        var h0 = Tensor.Zeros([5], DType.Float64).To(cuda);
        int calls = 0;
        Tensor Loss(RnnCell m, Tensor seq) => Eqx.Scan((Tensor h, Tensor x) =>
        {
            calls++;
            var next = m.Step(h, x);
            return (next, next);
        }, h0, seq).Outputs.Square().Sum();
        var valueAndGrad = Eqx.FilterValueAndGrad<RnnCell, Tensor>(Loss);
        var step = Eqx.FilterJit((RnnCell m, Tensor seq) => valueAndGrad(m, seq));
        FilterJitCompiledEventArgs? compiled = null;
        step.Compiled += (_, e) => compiled = e;

        var (expectedLoss, expectedGrads) = valueAndGrad(cell, xs);
        calls = 0;
        var (loss, grads) = step.Invoke(cell, xs);
        Assert.That(compiled!.Mode, Is.EqualTo(JitMode.CudaGraph), compiled.FallbackReason);
        Assert.That(calls, Is.EqualTo(CapturedGraph.WarmupCalls * length + 1 + length),
            "the capture runs the body once into a body graph, sees outputs that require grad, and unrolls the steps");
        Assert.That(loss.To(Device.Cpu).Item<double>(), Is.EqualTo(expectedLoss.To(Device.Cpu).Item<double>()).Within(1e-10));
        var got = Eqx.Leaves(grads).Select(t => t.To(Device.Cpu).ToArray<double>()).ToArray();
        var want = Eqx.Leaves(expectedGrads).Select(t => t.To(Device.Cpu).ToArray<double>()).ToArray();
        for (int i = 0; i < got.Length; i++) Assert.That(got[i], Is.EqualTo(want[i]).Within(1e-10), $"leaf {i}");
    }
}
