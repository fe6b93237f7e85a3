using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

public class SmokeTests
{
    [Test]
    public void MatmulOfKnownMatricesGivesKnownProduct()
    {
        using var scope = Torch.Scope();
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = Tensor.FromArray(new float[] { 1, 0, 0, 1, 1, 1 }, 3, 2);
        var c = a.Matmul(b);
        Assert.That(c.Shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(c.ToArray<float>(), Is.EqualTo(new float[] { 4, 5, 10, 11 }));
        Assert.That(c.ToString(), Is.EqualTo("f32[2,2] [[4, 5], [10, 11]]"));
    }
}
