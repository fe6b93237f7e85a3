using System.Diagnostics.CodeAnalysis;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;


// Eqx.Scan: lax.scan's carry and stacked outputs, gradients through the loop, and its errors.
public class ScanTests
{
    private static Tensor Normal(int seed, params long[] shape) => Tensor.Normal(Key.Create(seed), shape, DType.Float64);

    [Test]
    public void ACumulativeSumStacksEveryPartialSum()
    {
        using var scope = Torch.Scope();
        var xs = Normal(1, 5, 3);
        var (carry, sums) = Eqx.Scan((Tensor c, Tensor x) => (c + x, c + x), Tensor.Zeros([3], DType.Float64), xs);

        var rows = xs.ToArray<double>();
        var expected = new double[15];
        var running = new double[3];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++)
                expected[i * 3 + j] = running[j] += rows[i * 3 + j];
        Assert.That(sums.Shape, Is.EqualTo(new long[] { 5, 3 }));
        Assert.That(sums.ToArray<double>(), Is.EqualTo(expected).Within(1e-12));
        Assert.That(carry.ToArray<double>(), Is.EqualTo(running).Within(1e-12));
    }

    [Test]
    public void AnRnnWithAModuleCarryMatchesTheUnrolledLoop()
    {
        using var scope = Torch.Scope();
        var cell = new RnnCell(3, 4, Key.Create(2));
        var xs = Normal(3, 6, 3);
        var init = new RnnState(Tensor.Zeros([4], DType.Float64), Tensor.Scalar(0L));
        var (state, outputs) = Eqx.Scan((RnnState s, Tensor x) =>
        {
            var h = cell.Step(s.H, x);
            return (new RnnState(h, s.Count + 1), (h, h.Sum()));
        }, init, xs);

        var hidden = Tensor.Zeros([4], DType.Float64);
        var expected = new List<double>();
        for (int t = 0; t < 6; t++)
        {
            hidden = cell.Step(hidden, xs[t]);
            expected.AddRange(hidden.ToArray<double>());
        }
        Assert.That(state.Count.Item<long>(), Is.EqualTo(6));
        Assert.That(state.H.ToArray<double>(), Is.EqualTo(hidden.ToArray<double>()).Within(1e-14));
        var (hs, sums) = outputs;
        Assert.That(hs.Shape, Is.EqualTo(new long[] { 6, 4 }));
        Assert.That(hs.ToArray<double>(), Is.EqualTo(expected.ToArray()).Within(1e-14));
        Assert.That(sums.Shape, Is.EqualTo(new long[] { 6 }));
        Assert.That(sums.ToArray<double>(), Is.EqualTo(hs.Sum(1).ToArray<double>()).Within(1e-14));
    }

    [Test]
    public void ATupleCarryAndAModuleOutputAreSupported()
    {
        using var scope = Torch.Scope();
        var (last, fibs) = Eqx.Scan(((Tensor A, Tensor B) c) => ((c.B, c.A + c.B), new Scalarish(c.A)),
            (Tensor.Scalar(0.0), Tensor.Scalar(1.0)), 8);
        Assert.That(fibs.W.ToArray<double>(), Is.EqualTo(new double[] { 0, 1, 1, 2, 3, 5, 8, 13 }));
        Assert.That(last.Item1.Item<double>(), Is.EqualTo(21.0));
        Assert.That(last.Item2.Item<double>(), Is.EqualTo(34.0));
    }

    [Test]
    public void LengthOnlyModeIteratesWithoutXs()
    {
        using var scope = Torch.Scope();
        var (carry, powers) = Eqx.Scan((Tensor c) => (c * 2, c), Tensor.Scalar(1.0), 4);
        Assert.That(carry.Item<double>(), Is.EqualTo(16.0));
        Assert.That(powers.ToArray<double>(), Is.EqualTo(new[] { 1.0, 2.0, 4.0, 8.0 }));

        var seen = new List<Tensor?>();
        var (three, _) = Eqx.Scan((Tensor c, Tensor x) =>
        {
            seen.Add(x);
            return (c + 1, c);
        }, Tensor.Scalar(0.0), null, length: 3);
        Assert.That(three.Item<double>(), Is.EqualTo(3.0));
        Assert.That(seen, Has.Count.EqualTo(3).And.All.Null, "without xs the body gets null for x");
    }

    [Test]
    public void GradientsThroughScanMatchFiniteDifferencesAndPyTorch()
    {
        using var scope = Torch.Scope();
        var cell = new RnnCell(2, 3, Key.Create(4));
        var xs = Normal(5, 5, 2);
        var h0 = Normal(6, 3);
        Tensor Loss(RnnCell c) => Eqx.Scan((Tensor h, Tensor x) =>
        {
            var next = c.Step(h, x);
            return (next, next);
        }, h0, xs).Outputs.Square().Sum();

        var (loss, grads) = Eqx.FilterValueAndGrad((Func<RnnCell, Tensor>)Loss)(cell);
        var slots = Eqx.Flatten(grads);
        for (int slot = 0; slot < slots.Length; slot++)
        {
            var numeric = GradTests.FiniteDifferences(cell, Loss, slot);
            OracleAssert.Values(slots[slot]!.ToArray<double>(), numeric, 1e-6, 1e-9, $"slot {slot}");
        }

        var expected = PyTorchOracle.RunWithGrad(
            "h = h0\nys = []\nfor t in range(xs.shape[0]):\n" +
            $"    x = xs[t]\n    h = {RnnCell.StepPython}\n    ys.append(h)\n" +
            "out = torch.stack(ys).square().sum()",
            ("wx", cell.Wx.WithRequiresGrad()), ("wh", cell.Wh.WithRequiresGrad()), ("b", cell.B.WithRequiresGrad()),
            ("h0", h0), ("xs", xs));
        OracleAssert.Close(loss, expected.Out, what: "loss");
        OracleAssert.Grads(expected, [grads.Wx, grads.Wh, grads.B], "wx", "wh", "b");
    }

    [Test]
    public void OnlyTheFinalCarryAndTheStackedOutputsOutliveTheScan()
    {
        using var scope = Torch.Scope();
        var xs = Normal(7, 10, 4);
        var init = Tensor.Zeros([4], DType.Float64);
        int before = scope.Count;
        var (carry, ys) = Eqx.Scan((Tensor c, Tensor x) => ((c + x).Tanh(), (c * x).Exp()), init, xs);
        Assert.That(scope.Count - before, Is.EqualTo(2), "one carry, one stacked output; per-step tensors are freed");
        Assert.That(carry.IsDisposed || ys.IsDisposed, Is.False);
        Assert.That(init.IsDisposed, Is.False, "the caller's init is not the loop's to free");
    }

    [Test]
    public void ACarryThatChangesShapeOrDtypeIsAnErrorNamingTheSlot()
    {
        using var scope = Torch.Scope();
        var xs = Normal(8, 3, 2);
        var grow = Assert.Throws<ArgumentException>(() =>
            Eqx.Scan((Tensor c, Tensor x) => (Tensor.Cat([c, x]), x), Tensor.Zeros([2], DType.Float64), xs));
        Assert.That(grow!.Message, Does.Contain("at step 0 carry was f64[2] and is now f64[4]"));

        var promote = Assert.Throws<ArgumentException>(() =>
            Eqx.Scan((Tensor c, Tensor x) => (c + x, x), Tensor.Zeros([2], DType.Float32), xs));
        Assert.That(promote!.Message, Does.Contain("carry was f32[2] and is now f64[2]"));

        var init = new RnnState(Tensor.Zeros([2], DType.Float64), Tensor.Scalar(0L));
        var module = Assert.Throws<ArgumentException>(() =>
            Eqx.Scan((RnnState s, Tensor x) => (new RnnState(s.H, s.Count.To(DType.Float64)), x), init, xs));
        Assert.That(module!.Message, Does.Contain("carry.Count was i64[] and is now f64[]"));

        var tuple = Assert.Throws<ArgumentException>(() =>
            Eqx.Scan(((Tensor, Tensor) c, Tensor x) => ((c.Item1, c.Item2.Unsqueeze(0)), x),
                (Tensor.Zeros([2], DType.Float64), Tensor.Zeros([2], DType.Float64)), xs));
        Assert.That(tuple!.Message, Does.Contain("carry.Item2 was f64[2] and is now f64[1,2]"));
    }

    [Test]
    public void OutputsThatChangeShapeBetweenStepsAreAnError()
    {
        using var scope = Torch.Scope();
        var error = Assert.Throws<ArgumentException>(() =>
            Eqx.Scan((Tensor c) => (c + 1, Tensor.Zeros([(long)c.Item<double>() + 1], DType.Float64)), Tensor.Scalar(0.0), 3));
        Assert.That(error!.Message, Does.Contain("at step 1 output was f64[1] and is now f64[2]"));
    }

    [Test]
    public void LengthAndXsMustAgree()
    {
        using var scope = Torch.Scope();
        var xs = Normal(9, 4, 2);
        var init = Tensor.Zeros([2], DType.Float64);
        var mismatch = Assert.Throws<ArgumentException>(() => Eqx.Scan((Tensor c, Tensor x) => (c + x, x), init, xs, length: 5));
        Assert.That(mismatch!.Message, Does.Contain("length 5").And.Contain("f64[4,2]").And.Contain("4 along its leading dimension"));
        var neither = Assert.Throws<ArgumentException>(() => Eqx.Scan((Tensor c, Tensor x) => (c, c), init, null));
        Assert.That(neither!.Message, Does.Contain("xs").And.Contain("length"));
        var scalar = Assert.Throws<ArgumentException>(() => Eqx.Scan((Tensor c, Tensor x) => (c, c), init, Tensor.Scalar(1.0)));
        Assert.That(scalar!.Message, Does.Contain("scalar"));
        Assert.Throws<NotSupportedException>(() => Eqx.Scan((Tensor c) => (c, c), init, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Eqx.Scan((Tensor c) => (c, c), init, -1));
        var calls = 0;
        var tooLong = Assert.Throws<NotSupportedException>(() => Eqx.Scan((Tensor c) => { calls++; return (c, c); }, init, 1L << 40));
        Assert.That(tooLong!.Message, Does.StartWith("Scan over 1099511627776 steps is not supported"));
        Assert.That(calls, Is.Zero, "rejected before the first step");
        var unsupported = Assert.Throws<NotSupportedException>(() => Eqx.Scan((int c) => (c + 1, init), 0, 2));
        Assert.That(unsupported!.Message, Does.Contain("Int32").And.Contain("[Module]"));
    }

    // A stand-in for FilterJit's capture: it runs the flat program itself, so the seam's contract is exercised.
    private sealed class LoopLowering(bool accept) : IScanLowering
    {
        public int Calls { get; private set; }

        public bool TryRun(ScanProgram program, [NotNullWhen(true)] out Tensor?[]? carry, [NotNullWhen(true)] out Tensor?[]? stackedOutputs)
        {
            Calls++;
            carry = stackedOutputs = null;
            if (!accept) return false;
            carry = program.InitCarry;
            var steps = new List<Tensor?[]>();
            for (long i = 0; i < program.Length; i++)
            {
                var (next, output) = program.Step(carry, program.Xs?.Select(0, i));
                carry = next;
                steps.Add(output);
            }
            stackedOutputs = new Tensor?[steps[0].Length];
            for (int j = 0; j < stackedOutputs.Length; j++) stackedOutputs[j] = Tensor.Stack(steps.Select(s => s[j]!).ToArray());
            return true;
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void AnInstalledLoweringRunsTheFlatProgramOrDeclines(bool accept)
    {
        using var scope = Torch.Scope();
        var cell = new RnnCell(2, 3, Key.Create(10));
        var xs = Normal(11, 4, 2);
        var init = new RnnState(Tensor.Zeros([3], DType.Float64), Tensor.Scalar(0L));
        (RnnState, (Tensor, Tensor)) Body(RnnState s, Tensor x)
        {
            var h = cell.Step(s.H, x);
            return (new RnnState(h, s.Count + 1), (h, h.Mean()));
        }
        var eager = Eqx.Scan(Body, init, xs);
        var lowering = new LoopLowering(accept);
        ScanTransform.Lowering = lowering;
        try
        {
            var lowered = Eqx.Scan(Body, init, xs);
            Assert.That(lowering.Calls, Is.EqualTo(1));
            Assert.That(lowered.Carry.H.ToArray<double>(), Is.EqualTo(eager.Carry.H.ToArray<double>()));
            Assert.That(lowered.Carry.Count.Item<long>(), Is.EqualTo(4));
            Assert.That(lowered.Outputs.Item1.ToArray<double>(), Is.EqualTo(eager.Outputs.Item1.ToArray<double>()));
            Assert.That(lowered.Outputs.Item2.ToArray<double>(), Is.EqualTo(eager.Outputs.Item2.ToArray<double>()));
        }
        finally
        {
            ScanTransform.Lowering = null;
        }
    }
}
