using Equinox.Tensors;
using Equinox.Tensors.Interop;
using NUnit.Framework;

namespace Equinox.Tests;

// A failed LibTorch call throws TorchException naming the op, its inputs and LibTorch's own text, and leaves the
// process working; misuse on the managed side throws the ordinary .NET exception with the fix in its message.
public class ErrorTests
{
    // After every failure the engine must still compute, and compute correctly.
    private static void AssertStillWorks()
    {
        using var scope = Torch.Scope();
        var x = Tensor.FromArray(new float[] { -1, 2, -3, 4 }, 2, 2);
        var y = Tensor.FromArray(new float[] { 1, 0, 0, 1 }, 2, 2);
        Assert.That((x.Matmul(y) + x).Relu().ToArray<float>(), Is.EqualTo(new float[] { 0, 4, 0, 8 }));
    }

    private static void AssertNoBacktrace(TorchException e)
    {
        Assert.That(e.NativeMessage, Is.Not.Empty);
        Assert.That(e.NativeMessage, Does.Not.Contain("Exception raised from"), "the C++ backtrace must be stripped");
        Assert.That(e.Message, Does.EndWith(e.Detail ?? e.NativeMessage.Trim()));
        Assert.That(e.Message, Does.Contain($"failed: {e.NativeMessage.Trim()}"));
    }

    [Test]
    public void MatmulShapeMismatchNamesTheOpTheShapesAndLibTorchsText()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Ones(2, 3);
        var b = Tensor.Ones(2, 3);

        var e = Assert.Throws<TorchException>(() => a.Matmul(b))!;

        Assert.That(e.Operation, Is.EqualTo("matmul"));
        Assert.That(e.Inputs, Is.EqualTo(new[] { "f32[2,3]", "f32[2,3]" }));
        Assert.That(e.Message, Does.StartWith("matmul(f32[2,3], f32[2,3]) failed: "));
        Assert.That(e.Message, Does.Contain("mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"));
        AssertNoBacktrace(e);
        AssertStillWorks();
    }

    [Test]
    public void BadReshapeNamesTheTargetShapeAndTheInput()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(6).Reshape(2, 3);

        var e = Assert.Throws<TorchException>(() => a.Reshape(4, 4))!;

        Assert.That(e.Operation, Is.EqualTo("reshape"));
        Assert.That(e.Inputs, Is.EqualTo(new[] { "i64[2,3]" }));
        Assert.That(e.Arguments, Is.EqualTo("shape=[4,4]"));
        Assert.That(e.Message, Does.StartWith("reshape(i64[2,3], shape=[4,4]) failed: "));
        Assert.That(e.Message, Does.Contain("shape '[4, 4]' is invalid for input of size 6"));
        AssertNoBacktrace(e);
        AssertStillWorks();
    }

    [Test]
    public void MatmulOfF32WithF64NamesBothDtypes()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Ones(2, 3);
        var b = Tensor.Ones([3, 2], DType.Float64);

        var e = Assert.Throws<TorchException>(() => a.Matmul(b))!;

        Assert.That(e.Message, Does.StartWith("matmul(f32[2,3], f64[3,2]) failed: "));
        Assert.That(e.NativeMessage, Does.Contain("double").IgnoreCase, "LibTorch's text names the clashing dtype");
        AssertNoBacktrace(e);
        AssertStillWorks();
    }

    [Test]
    public void SubtractingBoolTensorsIsRejectedWithLibTorchsAdvice()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new[] { true, false });
        var b = Tensor.FromArray(new[] { true, true });

        var e = Assert.Throws<TorchException>(() => _ = a - b)!;

        Assert.That(e.Message, Does.StartWith("sub(bool[2], bool[2]) failed: "));
        Assert.That(e.NativeMessage, Does.Contain("with two bool tensors is not supported"));
        Assert.That(e.NativeMessage, Does.Contain("logical_xor()"));
        AssertStillWorks();
    }

    [Test]
    public void SelectPastTheEndNamesTheIndexTheDimAndItsSize()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Ones(2, 3);

        var e = Assert.Throws<TorchException>(() => a.Select(1, 3))!;

        Assert.That(e.Operation, Is.EqualTo("select"));
        Assert.That(e.Message, Does.StartWith("select(f32[2,3], dim=1, index=3) failed: "));
        Assert.That(e.NativeMessage, Does.Contain("index 3 is out of range for dimension 1 of size 3"));
        AssertStillWorks();
    }

    [Test]
    public void SelectWithAnOutOfRangeDimNamesTheDim()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<TorchException>(() => Tensor.Ones(2, 3).Select(2, 0))!;
        Assert.That(e.NativeMessage, Does.Contain("dimension 2 is out of range for a 2-dimensional tensor"));
        AssertStillWorks();
    }

    [Test]
    public void IndexSelectWithABadIndexNamesBothInputs()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new float[] { 1, 2, 3 });
        var index = Tensor.FromArray(new long[] { 0, 7 });

        var e = Assert.Throws<TorchException>(() => a.IndexSelect(0, index))!;

        Assert.That(e.Message, Does.StartWith("index_select(f32[3], i64[2], dim=0) failed: "));
        Assert.That(e.NativeMessage, Does.Contain("out of range"));
        AssertNoBacktrace(e);
        AssertStillWorks();
    }

    [Test]
    public void IndexerPastTheEndThrowsTorchExceptionNamingTheIndex()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Arange(3);

        var e = Assert.Throws<TorchException>(() => _ = a[5])!;

        Assert.That(e.Message, Does.Contain("i64[3]"));
        Assert.That(e.NativeMessage, Does.Contain("index 5 is out of range for dimension 0 of size 3"));
        Assert.That(Assert.Throws<TorchException>(() => _ = a[-4])!.NativeMessage, Does.Contain("index -4 is out of range"));
        Assert.That(a[^1].Item<long>(), Is.EqualTo(2), "in-range indices from the end still work");
        AssertStillWorks();
    }

    [Test]
    public void AFailedIndexInTheMiddleOfAChainLeavesNoTensorBehind()
    {
        var a = Tensor.Ones(2, 3);
        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long before = Torch.LiveTensors;
            // a[1] succeeds and makes an intermediate view; its [7] then fails.
            Assert.Throws<TorchException>(() => _ = a[1, 7]);
            Assert.That(Torch.LiveTensors, Is.EqualTo(before), "the intermediate view must be freed at once, not left to the GC");
        }
        finally
        {
            a.Dispose();
        }
    }

    [Test]
    public void TooManyIndicesNamesTheTensor()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<IndexOutOfRangeException>(() => _ = Tensor.Ones(2)[0, 0])!;
        Assert.That(e.Message, Does.Contain("f32[2]").And.Contain("2 given"));
    }

    [Test]
    public void InPlaceAddThatWouldChangeTheShapeFails()
    {
        using var scope = Torch.Scope();
        var a = Tensor.Ones(2);
        var b = Tensor.Ones(3, 2);

        var e = Assert.Throws<TorchException>(() => a.AddInPlace(b))!;

        Assert.That(e.Message, Does.StartWith("add_(f32[2], f32[3,2]) failed: "));
        Assert.That(a.ToArray<float>(), Is.EqualTo(new float[] { 1, 1 }), "a failed in-place op leaves the tensor as it was");
        AssertStillWorks();
    }

    [Test]
    public void InPlaceUpdateOfALeafThatRequiresGradFails()
    {
        using var scope = Torch.Scope();
        var w = Tensor.Ones(2).WithRequiresGrad();
        var e = Assert.Throws<TorchException>(() => w.MulInPlace(2.0))!;
        Assert.That(e.NativeMessage, Does.Contain("leaf Variable that requires grad"));
        AssertStillWorks();
    }

    [Test]
    public void ItemOfSeveralElementsFails()
    {
        using var scope = Torch.Scope();
        var e = Assert.Throws<TorchException>(() => Tensor.Ones(3).Item<float>())!;
        Assert.That(e.Message, Does.StartWith("item(f32[3]) failed: "));
        AssertStillWorks();
    }

    [Test]
    public void UsingADisposedTensorThrowsObjectDisposedWithTheScopeHint()
    {
        var t = Tensor.Ones(2);
        t.Dispose();

        var e = Assert.Throws<ObjectDisposedException>(() => t.Relu())!;

        Assert.That(e.Message, Does.Contain("TensorScope").And.Contain("scope.MoveOut(tensor)"));
        Assert.That(t.IsDisposed, Is.True);
        Assert.That(t.ToString(), Is.EqualTo("<disposed tensor>"));
        Assert.DoesNotThrow(t.Dispose, "disposing twice is harmless");
        Assert.Throws<ObjectDisposedException>(() => _ = t.Shape);
        Assert.Throws<ObjectDisposedException>(() => t.ToArray<float>());
        using var live = Tensor.Ones(2);
        Assert.Throws<ObjectDisposedException>(() => live.Add(t), "a disposed argument is caught too");
    }

    [Test]
    public void UsingATensorAfterItsScopeEndedThrowsObjectDisposed()
    {
        Tensor escaped;
        using (Torch.Scope())
        {
            escaped = Tensor.Ones(2) * 3.0;
        }
        var e = Assert.Throws<ObjectDisposedException>(() => escaped.ToArray<float>())!;
        Assert.That(e.Message, Does.Contain("MoveOut"));
    }

    [Test]
    public void ToArrayWithTheWrongElementTypeNamesTheConversion()
    {
        using var scope = Torch.Scope();
        var t = Tensor.FromArray(new float[] { 1, 2, 3 });

        var e = Assert.Throws<InvalidOperationException>(() => t.ToArray<double>())!;

        Assert.That(e.Message, Does.Contain("f32[3]").And.Contain(".To(DType.Float64)"));
        Assert.That(t.To(DType.Float64).ToArray<double>(), Is.EqualTo(new double[] { 1, 2, 3 }), "the suggested fix works");
    }

    [Test]
    public void CopyToADestinationOfTheWrongLengthFails()
    {
        using var scope = Torch.Scope();
        var t = Tensor.FromArray(new float[] { 1, 2, 3 });
        var e = Assert.Throws<TorchException>(() => t.CopyTo<float>(new float[2]))!;
        Assert.That(e.NativeMessage, Does.Contain("destination holds 8 bytes, tensor has 12"));
        AssertStillWorks();
    }

    [Test]
    public void FromArrayWithAMismatchedShapeThrowsArgumentException()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[] { 1, 2, 3 }, 2, 2))!;
        Assert.That(e.Message, Does.Contain("[2,2] holds 4 elements but the data has 3"));
        Assert.That(e.ParamName, Is.EqualTo("shape"));
        Assert.That(Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[] { 1, 2 }, -1, -2))!.Message,
            Does.Contain("negative"));
    }

    [Test]
    public void UnsupportedElementTypesAreRejectedByName()
    {
        Assert.That(Assert.Throws<NotSupportedException>(() => Tensor.FromArray(new decimal[] { 1 }))!.Message, Does.Contain("Decimal"));
        using var scope = Torch.Scope();
        Assert.That(Assert.Throws<NotSupportedException>(() => Tensor.Scalar(1.0).Item<decimal>())!.Message, Does.Contain("Item<Decimal>"));
    }

    // The shim keeps its last error per thread: thread B's failure must not overwrite the error thread A has not
    // read yet. The raw entry points let the test put B's failure between A's call and A's read.
    [Test]
    public unsafe void TheNativeLastErrorIsPerThread()
    {
        using var aFailed = new ManualResetEventSlim();
        using var bFailed = new ManualResetEventSlim();
        IntPtr aResult = 1, bResult = 1;
        string? aMessage = null, bMessage = null;
        Exception? threadError = null;

        var a = new Thread(() =>
        {
            try
            {
                using var x = Tensor.Ones(2, 3);
                aResult = NativeMethods.eqx_matmul(x, x);
                aFailed.Set();
                bFailed.Wait();
                aMessage = NativeMethods.LastError();
            }
            catch (Exception e) { threadError = e; }
            finally { aFailed.Set(); }
        });
        var b = new Thread(() =>
        {
            try
            {
                aFailed.Wait();
                using var x = Tensor.Ones(2, 3);
                long* shape = stackalloc long[] { 5 };
                bResult = NativeMethods.eqx_reshape(x, shape, 1);
                bMessage = NativeMethods.LastError();
            }
            catch (Exception e) { threadError = e; }
            finally { bFailed.Set(); }
        });
        a.Start();
        b.Start();
        Assert.That(a.Join(TimeSpan.FromSeconds(30)) && b.Join(TimeSpan.FromSeconds(30)), Is.True);

        Assert.That(threadError, Is.Null);
        Assert.That(aResult, Is.EqualTo(IntPtr.Zero));
        Assert.That(bResult, Is.EqualTo(IntPtr.Zero));
        Assert.That(aMessage, Does.Contain("mat1 and mat2 shapes cannot be multiplied"));
        Assert.That(bMessage, Does.Contain("invalid for input of size 6"));
    }

    [Test]
    public void FailuresOnSeveralThreadsAtOnceEachReportTheirOwnError()
    {
        const int iterations = 2000;
        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        void Run(Func<Tensor, Tensor> fail, string expected)
        {
            using var x = Tensor.Ones(2, 3);
            for (int i = 0; i < iterations; i++)
            {
                try
                {
                    fail(x).Dispose();
                    mismatches.Add("no exception");
                }
                catch (TorchException e) when (!e.NativeMessage.Contains(expected))
                {
                    mismatches.Add(e.Message);
                }
                catch (TorchException)
                {
                }
            }
        }
        var threads = new[]
        {
            new Thread(() => Run(x => x.Matmul(x), "cannot be multiplied")),
            new Thread(() => Run(x => x.Reshape(5), "invalid for input of size 6")),
            new Thread(() => Run(x => x.Select(0, 9), "index 9 is out of range")),
        };
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.That(t.Join(TimeSpan.FromSeconds(60)), Is.True);

        Assert.That(mismatches, Is.Empty);
        AssertStillWorks();
    }
}
