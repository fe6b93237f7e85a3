using System.Runtime.CompilerServices;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

/// <summary>The line a call is written on, for asserting the site an ErrorIf failure reports.</summary>
internal static class CallSite
{
    /// <summary>The caller's line: <c>CallSite.Line() + 1</c> is the next line.</summary>
    internal static int Line([CallerLineNumber] int line = 0) => line;
}

public class ErrorIfTests
{
    [Test]
    public void EagerErrorIfThrowsAtOnceWithTheMessageAndWhereTheCheckIs()
    {
        var x = Tensor.FromArray(new float[] { 1, float.NaN });
        var (e, line) = (Assert.Throws<EquinoxRuntimeException>(() => Eqx.ErrorIf(x, x.IsNan(), "NaN in activations"))!, CallSite.Line());
        Assert.That(e.Message, Is.EqualTo($"NaN in activations (ErrorIf at ErrorIfTests.cs:{line})"));
        Assert.That(e.Line, Is.EqualTo(line), "the line of the ErrorIf call");
        Assert.That(Path.GetFileName(e.File), Is.EqualTo("ErrorIfTests.cs"));
    }

    [Test]
    public void ErrorIfReturnsItsInputWhenThePredicateIsFalse()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 });
        Assert.That(Eqx.ErrorIf(x, x.IsNan(), "NaN"), Is.SameAs(x));
    }

    [Test]
    public void BranchedErrorIfPicksTheMessageByIndex()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 });
        string[] messages = ["too small", "too large"];
        int line = CallSite.Line() + 2;
        var e = Assert.Throws<EquinoxRuntimeException>(() =>
            Eqx.BranchedErrorIf(x, x.Gt(1.5), Tensor.Scalar(1L), messages));
        Assert.That(e!.Message, Is.EqualTo($"too large (BranchedErrorIf at ErrorIfTests.cs:{line})"));
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(Eqx.BranchedErrorIf(x, x.Gt(5.0), Tensor.Scalar(0L), messages), Is.SameAs(x));
    }

    [Test]
    public void TheSiteNamesTheFileWithoutItsFolders()
    {
        var x = Tensor.FromArray(new float[] { float.NaN });
        var windows = Assert.Throws<EquinoxRuntimeException>(() => Eqx.ErrorIf(x, x.IsNan(), "NaN", @"C:\src\Model.cs", 7))!;
        var unix = Assert.Throws<EquinoxRuntimeException>(() => Eqx.ErrorIf(x, x.IsNan(), "NaN", "/home/me/src/Model.cs", 8))!;

        Assert.That(windows.Message, Is.EqualTo("NaN (ErrorIf at Model.cs:7)"));
        Assert.That(unix.Message, Is.EqualTo("NaN (ErrorIf at Model.cs:8)"));
        Assert.That(unix.File, Is.EqualTo("/home/me/src/Model.cs"), "the property keeps the path the compiler recorded");
    }

    [Test]
    public void WithoutCallerInformationTheMessageIsLeftAlone()
    {
        var x = Tensor.FromArray(new float[] { float.NaN });
        var e = Assert.Throws<EquinoxRuntimeException>(() => Eqx.ErrorIf(x, x.IsNan(), "NaN", file: "", line: 0))!;
        Assert.That(e.Message, Is.EqualTo("NaN"));
        Assert.That(e.File, Is.Null);
        Assert.That(e.Line, Is.Zero);
    }

    [Test]
    public void InsideFilterJitTheErrorArrivesAtTheCallSiteAndTheCacheSurvives()
    {
        int line = CallSite.Line() + 1;
        var f = Eqx.FilterJit((Tensor x) => Eqx.ErrorIf(x, x.IsNan(), "NaN in x").Sum());
        using var good = f.Invoke(Tensor.FromArray(new float[] { 1, 2 }));
        var e = Assert.Throws<EquinoxRuntimeException>(() => f.Invoke(Tensor.FromArray(new float[] { 1, float.NaN })));
        Assert.That(e!.Message, Is.EqualTo($"NaN in x (ErrorIf at ErrorIfTests.cs:{line})"));
        using var again = f.Invoke(Tensor.FromArray(new float[] { 3, 4 }));
        Assert.That(again.Item<float>(), Is.EqualTo(7f));
        Assert.That(f.CompileCount, Is.EqualTo(1), "a failed check is not a failed compile");
    }

    [Test]
    public void EachCheckInAStepReportsItsOwnLine()
    {
        int first = CallSite.Line() + 3;
        var f = Eqx.FilterJit((Tensor x) =>
        {
            x = Eqx.ErrorIf(x, x.IsNan(), "NaN in x");
            x = Eqx.ErrorIf(x, x.Gt(100.0), "x too large");
            return x.Sum();
        });
        var nan = Assert.Throws<EquinoxRuntimeException>(() => f.Invoke(Tensor.FromArray(new float[] { float.NaN })))!;
        var large = Assert.Throws<EquinoxRuntimeException>(() => f.Invoke(Tensor.FromArray(new float[] { 1000 })))!;

        Assert.That(nan.Line, Is.EqualTo(first));
        Assert.That(large.Line, Is.EqualTo(first + 1));
        Assert.That(large.Message, Is.EqualTo($"x too large (ErrorIf at ErrorIfTests.cs:{first + 1})"));
    }

    [Test]
    public void ARecordedCheckRaisedLaterStillNamesItsLine()
    {
        // What a CUDA-graph replay does, on the CPU: ErrorIf records a device code, and the check is raised afterwards.
        using var scope = Torch.Scope();
        var checks = new List<Equinox.Transforms.ErrorCheck>();
        var x = Tensor.FromArray(new float[] { 1, float.NaN });
        int line;
        using (Equinox.Transforms.ErrorChecks.Record(checks))
        {
            line = CallSite.Line() + 1;
            Assert.That(Eqx.ErrorIf(x, x.IsNan(), "NaN in x"), Is.SameAs(x), "recording does not throw");
        }

        var e = Assert.Throws<EquinoxRuntimeException>(() => Equinox.Transforms.ErrorChecks.Raise(checks))!;
        Assert.That(e.Message, Is.EqualTo($"NaN in x (ErrorIf at ErrorIfTests.cs:{line})"));
        Assert.That(e.Line, Is.EqualTo(line));
    }

    [Test]
    public void AnErrorOnTheFirstCallKeepsTheEntry()
    {
        var f = Eqx.FilterJit((Tensor x) => Eqx.ErrorIf(x, x.IsNan(), "NaN in x").Sum());
        Assert.Throws<EquinoxRuntimeException>(() => f.Invoke(Tensor.FromArray(new float[] { float.NaN })));
        using var r = f.Invoke(Tensor.FromArray(new float[] { 1 }));
        Assert.That(f.CompileCount, Is.EqualTo(1));
        Assert.That(f.CacheSize, Is.EqualTo(1));
    }

    [Test]
    public void ACheckInsideACapturedGraphIsRaisedAtTheCallSite()
    {
        if (!Torch.IsCudaAvailable)
            Assert.Ignore("needs a CUDA device: checks are recorded into a device flag only inside a captured CUDA graph");
        var cuda = Device.Cuda();
        int line = CallSite.Line() + 1;
        var f = Eqx.FilterJit((Tensor x) => Eqx.ErrorIf(x, x.IsNan(), "NaN in x") * 2.0);
        f.Invoke(Tensor.FromArray(new float[] { 1, 2 }).To(cuda));
        var e = Assert.Throws<EquinoxRuntimeException>(() => f.Invoke(Tensor.FromArray(new float[] { 1, float.NaN }).To(cuda)));
        Assert.That(e!.Message, Is.EqualTo($"NaN in x (ErrorIf at ErrorIfTests.cs:{line})"), "the site survives the replay");
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(f.CompileCount, Is.EqualTo(1));
    }
}
