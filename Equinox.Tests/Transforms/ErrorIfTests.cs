using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

public class ErrorIfTests
{
    [Test]
    public void EagerErrorIfThrowsAtOnceWithTheMessage()
    {
        var x = Tensor.FromArray(new float[] { 1, float.NaN });
        var e = Assert.Throws<EquinoxRuntimeException>(() => Eqx.ErrorIf(x, x.IsNan(), "NaN in activations"));
        Assert.That(e!.Message, Is.EqualTo("NaN in activations"));
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
        var e = Assert.Throws<EquinoxRuntimeException>(() =>
            Eqx.BranchedErrorIf(x, x.Gt(1.5), Tensor.Scalar(1L), messages));
        Assert.That(e!.Message, Is.EqualTo("too large"));
        Assert.That(Eqx.BranchedErrorIf(x, x.Gt(5.0), Tensor.Scalar(0L), messages), Is.SameAs(x));
    }

    [Test]
    public void InsideFilterJitTheErrorArrivesAtTheCallSiteAndTheCacheSurvives()
    {
        var f = Eqx.FilterJit((Tensor x) => Eqx.ErrorIf(x, x.IsNan(), "NaN in x").Sum());
        using var good = f.Invoke(Tensor.FromArray(new float[] { 1, 2 }));
        var e = Assert.Throws<EquinoxRuntimeException>(() => f.Invoke(Tensor.FromArray(new float[] { 1, float.NaN })));
        Assert.That(e!.Message, Is.EqualTo("NaN in x"));
        using var again = f.Invoke(Tensor.FromArray(new float[] { 3, 4 }));
        Assert.That(again.Item<float>(), Is.EqualTo(7f));
        Assert.That(f.CompileCount, Is.EqualTo(1), "a failed check is not a failed compile");
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
        var f = Eqx.FilterJit((Tensor x) => Eqx.ErrorIf(x, x.IsNan(), "NaN in x") * 2.0);
        f.Invoke(Tensor.FromArray(new float[] { 1, 2 }).To(cuda));
        var e = Assert.Throws<EquinoxRuntimeException>(() => f.Invoke(Tensor.FromArray(new float[] { 1, float.NaN }).To(cuda)));
        Assert.That(e!.Message, Is.EqualTo("NaN in x"));
        Assert.That(f.CompileCount, Is.EqualTo(1));
    }
}
