using System.Runtime.CompilerServices;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>
/// Who frees a native tensor: its scope, an explicit Dispose, or (for a tensor no scope owns) the GC's finalizer.
/// Each test compares the process-wide live count with the count before it, after letting pending finalizers run.
/// </summary>
[NonParallelizable]
public class TensorLifetimeTests
{
    private static long SettledLiveTensors()
    {
        Finalizers.RunPending();
        return Torch.LiveTensors;
    }

    [Test]
    public void ScopeFreesWhatItCreatedExceptWhatIsMovedOut()
    {
        long before = SettledLiveTensors();
        Tensor inner, kept;
        using (var scope = Torch.Scope())
        {
            inner = Tensor.Zeros(2);
            kept = scope.MoveOut(Tensor.Zeros(3));
            Assert.That(scope.Count, Is.EqualTo(1));
            Assert.That(Torch.LiveTensors, Is.EqualTo(before + 2));
        }
        Assert.That(inner.IsDisposed, Is.True);
        Assert.That(kept.IsDisposed, Is.False);
        Assert.That(Torch.LiveTensors, Is.EqualTo(before + 1));
        kept.Dispose();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void MovingOutOfAnInnerScopeHandsTheTensorToTheEnclosingOne()
    {
        long before = SettledLiveTensors();
        Tensor moved;
        using (Torch.Scope())
        {
            using (var inner = Torch.Scope()) moved = inner.MoveOut(Tensor.Zeros(2));
            Assert.That(moved.IsDisposed, Is.False);
        }
        Assert.That(moved.IsDisposed, Is.True);
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void DisposingTwiceIsHarmlessAndUsingADisposedTensorThrows()
    {
        long before = SettledLiveTensors();
        var t = Tensor.Zeros(2);
        t.Dispose();
        t.Dispose();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
        var error = Assert.Throws<ObjectDisposedException>(() => _ = t.Sum());
        Assert.That(error!.Message, Does.Contain("MoveOut"));
        Assert.That(t.ToString(), Is.EqualTo("<disposed tensor>"));
    }

    [Test]
    public void ATensorNoScopeOwnsIsFreedByTheFinalizerWhenDropped()
    {
        long before = SettledLiveTensors();
        CreateAndDrop();
        Assert.That(SettledLiveTensors(), Is.EqualTo(before));
    }

    [Test]
    public void ATensorMovedOutOfItsLastScopeIsFreedByTheFinalizerWhenDropped()
    {
        long before = SettledLiveTensors();
        MoveOutAndDrop();
        Assert.That(SettledLiveTensors(), Is.EqualTo(before));
    }

    [Test]
    public void AThreadThatEndsWithAScopeOpenHasItsTensorsFreed()
    {
        long before = SettledLiveTensors();
        var thread = new Thread(() =>
        {
            var forgotten = Torch.Scope(); // never disposed: the mistake this backstop covers
            _ = Tensor.Zeros(4) + Tensor.Zeros(4);
        });
        thread.Start();
        thread.Join();
        Assert.That(SettledLiveTensors(), Is.EqualTo(before));
    }

    [Test]
    public void TheLiveCountAddsUpTensorsOfEveryThread()
    {
        long before = SettledLiveTensors();
        Tensor? made = null;
        var thread = new Thread(() => made = Tensor.Zeros(2));
        thread.Start();
        thread.Join();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before + 1));
        made!.Dispose(); // freed on this thread: the count still comes back
        Assert.That(SettledLiveTensors(), Is.EqualTo(before));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateAndDrop() => _ = Tensor.Zeros(1000);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MoveOutAndDrop()
    {
        using var scope = Torch.Scope();
        _ = scope.MoveOut(Tensor.Zeros(3) * 2);
    }
}
