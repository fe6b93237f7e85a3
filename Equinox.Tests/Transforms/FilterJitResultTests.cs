using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;

// A plain record: not a [Module], so FilterJit cannot find the tensor inside it.
public sealed record PlainStepResult(Tensor Loss, int Step);

// What a FilterJit function may return: the tensors FilterJit can find in the result outlive the call, and a result it
// cannot look inside is rejected on the first call instead of coming back with its tensors freed.
public class FilterJitResultTests
{
    private static Tensor Input() => Tensor.FromArray(new float[] { 1, 2, 3 });

    [Test]
    public void TheTensorsOfADictionaryResultOutliveTheCall()
    {
        var step = Eqx.FilterJit((Tensor x) => new Dictionary<string, Tensor> { ["double"] = x * 2.0, ["sum"] = x.Sum() });

        for (int call = 0; call < 2; call++)
        {
            var result = step.Invoke(Input());
            Assert.That(result["double"].ToArray<float>(), Is.EqualTo(new float[] { 2, 4, 6 }));
            Assert.That(result["sum"].Item<float>(), Is.EqualTo(6f));
        }
    }

    [Test]
    public void ARecordThatIsNotAModuleIsRejectedOnTheFirstCall()
    {
        var step = Eqx.FilterJit((Tensor x) => new PlainStepResult(x.Sum(), 1));

        var e = Assert.Throws<NotSupportedException>(() => step.Invoke(Input()));

        Assert.That(e!.Message, Is.EqualTo(
            "FilterJit: the function's result is a PlainStepResult, which Equinox cannot look inside for tensors, so any " +
            "tensor it holds would be freed when the call returns. Results may be tensors, [Module] types, tuples, arrays, " +
            "lists and dictionaries of those, and plain values (numbers, strings, enums, keys). Make PlainStepResult a " +
            "[Module] (`[Module] public partial record ...`: its tensors become leaves, its other fields static), or " +
            "return its parts in a tuple."));
        Assert.That(step.CacheSize, Is.Zero, "the failed first call leaves no entry");
    }

    [Test]
    public void TheRejectionNamesWhereInTheResultTheRecordIs()
    {
        var step = Eqx.FilterJit((Tensor x) => (x * 2.0, new[] { new PlainStepResult(x.Sum(), 1) }));

        var e = Assert.Throws<NotSupportedException>(() => step.Invoke(Input()));

        Assert.That(e!.Message, Does.StartWith("FilterJit: the function's result holds a PlainStepResult at Item2[0], which"));
    }

    [Test]
    public void PlainValuesNextToTensorsComeBackAsTheyWere()
    {
        var step = Eqx.FilterJit((Tensor x) => (x * 2.0, 3, "done", Key.Create(4), new[] { 1.5, 2.5 }));

        var (doubled, count, text, key, numbers) = step.Invoke(Input());

        Assert.That(doubled.ToArray<float>(), Is.EqualTo(new float[] { 2, 4, 6 }));
        Assert.That((count, text, key, numbers), Is.EqualTo((3, "done", Key.Create(4), new[] { 1.5, 2.5 })));
    }
}
