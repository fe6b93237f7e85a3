using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Transforms;


// A user function that throws, or leaves a scope of its own open, inside each transformation: the caller gets the
// function's own exception, the scopes and functorch layers the transformation opened are closed, and the next call
// of the same transformation works.
public class ThrowingFunctionTests
{
    private static Tensor Xs() => Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }).Reshape(3, 2);

    private static Tensor Ys() => Tensor.FromArray(new double[] { 0.5, -1, 2, 0, 1, 1 }).Reshape(3, 2);

    // Each case builds a transformation whose function first calls `inside`, and returns one call of it as a number.
    public static IEnumerable<TestCaseData> Transformations()
    {
        var model = new VmapAffine(2, 2, seed: 3);
        yield return Case("FilterValueAndGrad", inside =>
        {
            var valueAndGrad = Eqx.FilterValueAndGrad((VmapAffine m, Tensor x) =>
            {
                inside();
                return m.Forward(x).Sum();
            });
            return () => valueAndGrad(model, Xs().Select(0, 0)).Grads.Weight.Sum().Item<double>();
        });
        yield return Case("FilterJit", inside =>
        {
            var step = Eqx.FilterJit((Tensor x) =>
            {
                inside();
                return (x * 2.0).Sum();
            });
            return () => step.Invoke(Xs()).Item<double>();
        });
        yield return Case("FilterVmap", inside =>
        {
            var batched = Eqx.FilterVmap((Tensor x) =>
            {
                inside();
                return model.Forward(x);
            });
            return () => batched(Xs()).Sum().Item<double>();
        });
        yield return Case("Scan", inside => () =>
        {
            var (carry, _) = Eqx.Scan((Tensor c, Tensor x) =>
            {
                inside();
                return (c + x, c);
            }, Tensor.Zeros([2], DType.Float64), Xs());
            return carry.Sum().Item<double>();
        });
        yield return Case("PerExampleValueAndGrad", inside => () =>
            Eqx.PerExampleGrads((VmapAffine m, Tensor x, Tensor y) =>
            {
                inside();
                return (m.Forward(x) - y).Square().Sum();
            }, model, Xs(), Ys()).Bias.Sum().Item<double>());
    }

    private static TestCaseData Case(string name, Func<Action, Func<double>> make) => new TestCaseData(name, make).SetArgDisplayNames(name);

    [TestCaseSource(nameof(Transformations))]
    public void TheFunctionsExceptionReachesTheCallerAndTheNextCallWorks(string name, Func<Action, Func<double>> make)
    {
        using var outer = Torch.Scope();
        Action inside = () => { };
        var call = make(() => inside());
        double expected = call();

        inside = () => throw new InvalidOperationException("the user's function failed");
        var e = Assert.Throws<InvalidOperationException>(() => call());

        Assert.That(e!.Message, Is.EqualTo("the user's function failed"));
        Assert.That(TensorScope.Current, Is.SameAs(outer), "the transformation's scope is closed");
        Assert.That(Functorch.Depth, Is.Zero, "the transformation's functorch layers are popped");
        inside = () => { };
        Assert.That(call(), Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(Transformations))]
    public void AScopeTheFunctionLeftOpenWhenItThrewIsClosedWithTheCall(string name, Func<Action, Func<double>> make)
    {
        using var outer = Torch.Scope();
        Action inside = () => { };
        var call = make(() => inside());
        double expected = call();

        Tensor? madeInLeakedScope = null;
        inside = () =>
        {
            Torch.Scope(); // no `using`: the throw below leaves it open
            madeInLeakedScope = Tensor.Ones([2]);
            throw new InvalidOperationException("the user's function failed");
        };
        var e = Assert.Throws<InvalidOperationException>(() => call());

        Assert.That(e!.Message, Is.EqualTo("the user's function failed"), "not the scopes' order complaint");
        Assert.That(TensorScope.Current, Is.SameAs(outer));
        Assert.That(Functorch.Depth, Is.Zero);
        Assert.That(madeInLeakedScope!.IsDisposed, Is.True, "the abandoned scope belonged to the failed call and is freed with it");
        inside = () => { };
        Assert.That(call(), Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(Transformations))]
    public void AFunctionThatReturnsWithAScopeStillOpenIsAnError(string name, Func<Action, Func<double>> make)
    {
        using var outer = Torch.Scope();
        Action inside = () => { };
        var call = make(() => inside());
        double expected = call();

        inside = () => Torch.Scope();
        var e = Assert.Throws<InvalidOperationException>(() => call());

        Assert.That(e!.Message, Is.EqualTo(
            $"{name}: the function opened a TensorScope (Torch.Scope()) and returned without disposing it, so that scope " +
            "would free the tensors it returned. Open scopes inside the function with `using var scope = Torch.Scope();`, " +
            "which disposes them when the function returns."));
        Assert.That(TensorScope.Current, Is.SameAs(outer));
        Assert.That(Functorch.Depth, Is.Zero);
        inside = () => { };
        Assert.That(call(), Is.EqualTo(expected));
    }
}
