using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;


// The oracle itself: values travel exactly, errors come back as text, gradients follow the requires-grad flags.
public class PyTorchOracleTests
{
    [Test]
    public void ValuesRoundTripExactlyIncludingNonFinite()
    {
        using var scope = Torch.Scope();
        var values = new[] { 0.1, -1.0 / 3, double.Epsilon, 1e308, double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0 };
        var t = Tensor.FromArray(values, 2, 4);
        var result = PyTorchOracle.Run("a.clone()", ("a", t));
        Assert.That(result.Out.Shape, Is.EqualTo(new long[] { 2, 4 }));
        Assert.That(result.Out.DType, Is.EqualTo("float64"));
        Assert.That(result.Out.Values, Is.EqualTo(values));
        Assert.That(BitConverter.DoubleToInt64Bits(result.Out.Values[7]), Is.EqualTo(BitConverter.DoubleToInt64Bits(-0.0)));
    }

    [Test]
    public void StatementsSetOutAndTuplesGiveSeveralOutputs()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new long[] { 3, 1, 2 });
        var result = PyTorchOracle.Run("s, i = torch.sort(a)\nout = (s, i, None, 2.5)", ("a", a));
        Assert.That(result.Outputs, Has.Count.EqualTo(4));
        Assert.That(result.Outputs[0]!.Values, Is.EqualTo(new double[] { 1, 2, 3 }));
        Assert.That(result.Outputs[0]!.DType, Is.EqualTo("int64"));
        Assert.That(result.Outputs[1]!.Values, Is.EqualTo(new double[] { 1, 2, 0 }));
        Assert.That(result.Outputs[2], Is.Null);
        Assert.That(result.Outputs[3]!.Shape, Is.Empty);
        Assert.That(result.Outputs[3]!.Values, Is.EqualTo(new[] { 2.5 }));
    }

    [Test]
    public void PythonErrorsComeBackWithTheirMessage()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Zeros(2, 3);
        _ = PyTorchOracle.Shared;   // started (or the test skipped without PyTorch) outside Assert.Throws
        var error = Assert.Throws<OracleException>(() => PyTorchOracle.Run("torch.matmul(a, a)", ("a", a)));
        Assert.That(error!.Message, Does.Contain("RuntimeError").And.Contain("cannot be multiplied"));
        // The process survives an error.
        Assert.That(PyTorchOracle.Run("a.sum() + 1", ("a", a)).Out.Values, Is.EqualTo(new[] { 1.0 }));
    }

    [Test]
    public void GradientsFollowRequiresGradAndUnusedInputsGiveNone()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }).WithRequiresGrad();
        var unused = Tensor.FromArray(new[] { 5.0 }).WithRequiresGrad();
        var constant = Tensor.FromArray(new[] { 7.0 });
        var seed = Tensor.FromArray(new[] { 1.0, 10.0, 100.0 });
        var result = PyTorchOracle.RunWithGrad("x * x * c", seed, ("x", x), ("u", unused), ("c", constant));
        Assert.That(result.Out.Values, Is.EqualTo(new[] { 7.0, 28.0, 63.0 }));
        Assert.That(result.Grad("x")!.Values, Is.EqualTo(new[] { 14.0, 280.0, 4200.0 }));
        Assert.That(result.Grad("u"), Is.Null);
        Assert.Throws<KeyNotFoundException>(() => result.Grad("c"));
    }

    [Test]
    public void RequestsLeaveNoNativeTensorsBehind()
    {
        long before = Torch.LiveTensors;
        using (Torch.Scope())
        {
            // f16 takes the widening path (a temporary f64 copy) on the way to Python.
            var x = Tensor.FromArray(new[] { 0.5, -2.0, 3.0 }).To(DType.Float16).WithRequiresGrad();
            var result = PyTorchOracle.RunWithGrad("x * x", ("x", x));
            Assert.That(result.Out.DType, Is.EqualTo("float16"));
            Assert.That(result.Grad("x")!.Values, Is.EqualTo(new[] { 1.0, -4.0, 6.0 }));
        }
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void CloseFailsOnAValueShapeOrDTypeMismatch()
    {
        using var scope = Torch.Scope();
        var t = Tensor.FromArray(new[] { 1f, 2f });
        OracleAssert.Close(t, new OracleTensor([1, 2.00001], [2], "float32"));
        Assert.That(Fails(() => OracleAssert.Close(t, new OracleTensor([1, 2.001], [2], "float32"))), Is.True);
        Assert.That(Fails(() => OracleAssert.Close(t, new OracleTensor([1, 2], [1, 2], "float32"))), Is.True);
        Assert.That(Fails(() => OracleAssert.Close(t, new OracleTensor([1, 2], [2], "float64"))), Is.True);
        Assert.That(Fails(() => OracleAssert.Close(t, new OracleTensor([1, double.NaN], [2], "float32"))), Is.True);
        Assert.That(Fails(() => OracleAssert.Close(t, null)), Is.True);
    }

    // Runs an assertion without letting its failure mark this test as failed.
    private static bool Fails(TestDelegate assertion)
    {
        using (new NUnit.Framework.Internal.TestExecutionContext.IsolatedContext())
        {
            try
            {
                assertion();
                return false;
            }
            catch (AssertionException)
            {
                return true;
            }
        }
    }
}
