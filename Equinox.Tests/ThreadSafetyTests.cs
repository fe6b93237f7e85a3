using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>
/// A tensor disposed on one thread while another thread's op reads it: the op completes or throws
/// ObjectDisposedException, and the native tensor is freed exactly once, after the op is done with it.
/// </summary>
[NonParallelizable]
public class ThreadSafetyTests
{
    [Test]
    public void DisposeRacingAnOpOnAnotherThreadNeverFreesMemoryInUse()
    {
        using var expected = Tensor.Ones(2000, 2000).Exp();
        var random = new Random(7);
        int completed = 0, refused = 0;
        for (int i = 0; i < 40; i++)
        {
            var t = Tensor.Ones(2000, 2000);
            Tensor? result = null;
            Exception? error = null;
            var worker = new Thread(() =>
            {
                try { result = t.Exp(); }
                catch (Exception e) { error = e; }
            });
            worker.Start();
            Thread.SpinWait(random.Next(0, 200_000)); // sometimes before the op starts, usually while it runs
            t.Dispose();
            worker.Join();
            if (error is null)
            {
                completed++;
                using (Torch.Scope())
                    Assert.That((result! - expected).Abs().Sum().Item<float>(), Is.Zero, "an op that completed must have read live memory");
                result!.Dispose();
            }
            else
            {
                refused++;
                Assert.That(error, Is.TypeOf<ObjectDisposedException>());
            }
        }
        Assert.That(completed + refused, Is.EqualTo(40));
    }

    [Test]
    public void ADisposeDuringANativeCallFreesTheTensorWhenTheCallReturns()
    {
        Finalizers.RunPending();
        long before = Torch.LiveTensors;
        var t = Tensor.Zeros(3);
        t.AcquireUse(); // what the marshaller does for the length of a call
        t.Dispose();
        Assert.That(t.IsDisposed, Is.True);
        Assert.That(Torch.LiveTensors, Is.EqualTo(before + 1), "freed while a call still reads it");
        Assert.Throws<ObjectDisposedException>(() => t.Exp());
        t.ReleaseUse();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
        t.Dispose();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void ADisposedSecondArgumentGivesBackTheUseOfTheFirst()
    {
        Finalizers.RunPending();
        long before = Torch.LiveTensors;
        var a = Tensor.Ones(2);
        var b = Tensor.Ones(2);
        b.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.Add(b));
        a.Dispose(); // frees at once: the failed call holds no use of a
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }
}
