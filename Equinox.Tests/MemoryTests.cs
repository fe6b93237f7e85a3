using System.Runtime.InteropServices;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

// Deterministic release: a TensorScope frees what was made inside it, so a long loop of small ops stays flat.
public class MemoryTests
{
    private const long MiB = 1024 * 1024;

    private static long LiveAfterCollecting()
    {
        Finalizers.RunPending();
        return Torch.LiveTensors;
    }

    // Resident memory of this process, after the GC has run every pending finalizer.
    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("/proc/self/status has no VmRSS line.");
    }

    // glibc's own count of the bytes its heap has handed out and not had back (small chunks plus mmapped ones). Unlike
    // the resident size it does not move with the managed heap, whose young generation grows and shrinks as the GC
    // tunes itself; a native handle or buffer leaked per op shows up here byte for byte.
    private static long NativeHeapInUse()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var info = MallInfo2();
        return (long)(info.InUseChunks + info.MappedBytes);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallocInfo
    {
        public nuint Arena, FreeChunks, FastBins, MappedRegions, MappedBytes, MaxTotalAllocated, FastBinBytes, InUseChunks, FreeBytes, KeepCost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallocInfo MallInfo2();

    // Two ops per iteration, each batch in its own scope; returns the last result's values.
    private static float[] RunBatches(Tensor a, Tensor b, int batches, int iterationsPerBatch)
    {
        float[] last = [];
        for (int batch = 0; batch < batches; batch++)
        {
            using var scope = Torch.Scope();
            Tensor? result = null;
            for (int i = 0; i < iterationsPerBatch; i++) result = (a + b).Relu();
            last = result!.ToArray<float>();
        }
        return last;
    }

    [Test]
    public void OneAndAHalfMillionSmallOpsInScopedBatchesKeepMemoryFlat()
    {
        Assume.That(File.Exists("/proc/self/status"), "reads resident memory from Linux's /proc");
        // A scope per 200 ops, like a scope per training step: few tensors are alive at once, so the native heap
        // measures leaks rather than how the allocator keeps a large batch's freed memory.
        const int iterationsPerBatch = 100;
        // The native heap is sampled every 100,000 ops after a warm-up. A leak grows it in every segment, while other
        // threads of the test process (the oracle's reader, the finalizer) can make a one-off jump of a few MiB: the
        // test is the median segment's growth, where a leak of 16 bytes per op (one tensor handle) would add 1.5 MiB.
        // The resident size is printed beside it for information: it also moves with the managed heap.
        const int warmUpBatches = 1_000;
        const int segments = 14, batchesPerSegment = 500; // 100 × 2 × 500 = 100,000 ops per segment

        using var a = Tensor.FromArray(new float[] { -1, 2, -3, 4 });
        using var b = Tensor.FromArray(new float[] { 0.5f, 0.5f, 0.5f, 0.5f });
        long liveBefore = LiveAfterCollecting();
        long nativeBefore = Torch.MemoryAllocated(Device.Cpu);

        RunBatches(a, b, warmUpBatches, iterationsPerBatch);
        var heapGrowth = new double[segments];
        var residentGrowth = new double[segments];
        long heap = NativeHeapInUse(), resident = ResidentBytes();
        float[] last = [];
        for (int i = 0; i < segments; i++)
        {
            last = RunBatches(a, b, batchesPerSegment, iterationsPerBatch);
            long heapNow = NativeHeapInUse(), residentNow = ResidentBytes();
            heapGrowth[i] = (heapNow - heap) / (double)MiB;
            residentGrowth[i] = (residentNow - resident) / (double)MiB;
            (heap, resident) = (heapNow, residentNow);
        }
        double median = heapGrowth.Order().ElementAt(segments / 2);
        string Show(double[] growth) => string.Join(" ", growth.Select(g => g.ToString("F2")));

        TestContext.Out.WriteLine($"native heap growth per 100,000 ops, MiB: {Show(heapGrowth)}");
        TestContext.Out.WriteLine($"resident memory growth per 100,000 ops, MiB: {Show(residentGrowth)}");
        Assert.That(last, Is.EqualTo(new float[] { 0, 2.5f, 0, 4.5f }));
        Assert.That(Torch.LiveTensors, Is.EqualTo(liveBefore), "every tensor made in a scope is freed with it");
        Assert.That(Torch.MemoryAllocated(Device.Cpu), Is.EqualTo(nativeBefore), "and so is every byte LibTorch allocated");
        Assert.That(median, Is.LessThan(0.5),
            $"the native heap grew in most 100,000-op segments (MiB: {Show(heapGrowth)}), as a leak does");
    }

    [Test]
    public void TensorsCreatedInsideAScopeAreDisposedWhenItEnds()
    {
        long before = LiveAfterCollecting();
        Tensor x, y;
        using (var scope = Torch.Scope())
        {
            x = Tensor.Ones(3);
            y = (x * 2.0).Exp();
            Assert.That(scope.Count, Is.EqualTo(3), "x, x * 2 and its exp");
            Assert.That(Torch.LiveTensors, Is.EqualTo(before + 3));
            Assert.That(x.IsDisposed || y.IsDisposed, Is.False);
        }
        Assert.That(x.IsDisposed && y.IsDisposed, Is.True);
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void MoveOutKeepsATensorAliveIntoTheParentScopeWhichThenDisposesIt()
    {
        long before = LiveAfterCollecting();
        Tensor kept, dropped;
        using (var outer = Torch.Scope())
        {
            using (var inner = Torch.Scope())
            {
                dropped = Tensor.Ones(2);
                kept = inner.MoveOut(dropped + 1.0);
                Assert.That(inner.Count, Is.EqualTo(1));
                Assert.That(outer.Count, Is.EqualTo(1));
            }
            Assert.That(dropped.IsDisposed, Is.True);
            Assert.That(kept.IsDisposed, Is.False);
            Assert.That(kept.ToArray<float>(), Is.EqualTo(new float[] { 2, 2 }));
        }
        Assert.That(kept.IsDisposed, Is.True, "the parent scope disposes what was moved into it");
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void MoveOutOfTheOutermostScopeHandsTheTensorToTheCaller()
    {
        long before = LiveAfterCollecting();
        Tensor kept;
        using (var scope = Torch.Scope())
        {
            kept = scope.MoveOut(Tensor.Full([2], 7.0));
        }
        Assert.That(kept.IsDisposed, Is.False);
        Assert.That(kept.ToArray<float>(), Is.EqualTo(new float[] { 7, 7 }));
        kept.Dispose();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void MoveOutOfATensorTheScopeDoesNotOwnChangesNothing()
    {
        using var outside = Tensor.Ones(1);
        Tensor fromOuter;
        using (var outer = Torch.Scope())
        {
            fromOuter = Tensor.Ones(1);
            using (var inner = Torch.Scope())
            {
                Assert.That(inner.MoveOut(outside), Is.SameAs(outside));
                Assert.That(inner.MoveOut(fromOuter), Is.SameAs(fromOuter));
                Assert.That(inner.MoveOut((Tensor?)null), Is.Null);
                Assert.That(inner.Count, Is.Zero);
            }
            Assert.That(fromOuter.IsDisposed, Is.False, "an inner scope never disposes its parent's tensors");
        }
        Assert.That(fromOuter.IsDisposed, Is.True);
        Assert.That(outside.IsDisposed, Is.False);
    }

    [Test]
    public void NestedScopesDisposeInnermostFirstAndRestoreTheCurrentScope()
    {
        Assert.That(TensorScope.Current, Is.Null);
        using (var outer = Torch.Scope())
        {
            Assert.That(TensorScope.Current, Is.SameAs(outer));
            var a = Tensor.Ones(1);
            Tensor b;
            using (var inner = Torch.Scope())
            {
                Assert.That(TensorScope.Current, Is.SameAs(inner));
                b = a + a;
                Assert.That(inner.Count, Is.EqualTo(1));
                Assert.That(outer.Count, Is.EqualTo(1));
            }
            Assert.That(TensorScope.Current, Is.SameAs(outer));
            Assert.That(b.IsDisposed, Is.True);
            Assert.That(a.IsDisposed, Is.False);
            var c = a * 3.0;
            Assert.That(outer.Count, Is.EqualTo(2), "tensors made after the inner scope closed belong to the outer one");
            Assert.That(c.Item<float>(), Is.EqualTo(3f));
        }
        Assert.That(TensorScope.Current, Is.Null);
    }

    [Test]
    public void DisposingAnOuterScopeBeforeAnInnerOneThrows()
    {
        var outer = Torch.Scope();
        var inner = Torch.Scope();
        var a = Tensor.Ones(1);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(outer.Dispose)!;
            Assert.That(e.Message, Does.Contain("innermost first"));
            Assert.That(TensorScope.Current, Is.SameAs(inner), "the failed dispose changes nothing");
            Assert.That(a.IsDisposed, Is.False);
        }
        finally
        {
            inner.Dispose();
            outer.Dispose();
        }
        Assert.That(a.IsDisposed, Is.True);
        Assert.That(TensorScope.Current, Is.Null);
        Assert.DoesNotThrow(outer.Dispose, "disposing a scope twice is harmless");
    }

    [Test]
    public void DisposingAScopeOnAnotherThreadThrows()
    {
        using var scope = Torch.Scope();
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { scope.Dispose(); }
            catch (Exception e) { error = e; }
        });
        thread.Start();
        thread.Join();
        Assert.That(error, Is.InstanceOf<InvalidOperationException>());
        Assert.That(error!.Message, Does.Contain("thread that opened it"));
    }

    [Test]
    public void TensorsCreatedOutsideAnyScopeAreNotDisposedByOne()
    {
        using var outside = Tensor.Ones(2);
        Tensor inside;
        using (Torch.Scope())
        {
            inside = outside + outside;
            outside.AddInPlace(inside);
        }
        Assert.That(inside.IsDisposed, Is.True);
        Assert.That(outside.IsDisposed, Is.False);
        Assert.That(outside.ToArray<float>(), Is.EqualTo(new float[] { 3, 3 }));
    }

    [Test]
    public void ScopesAreThreadLocal()
    {
        using var scope = Torch.Scope();
        Tensor? madeElsewhere = null;
        var thread = new Thread(() =>
        {
            madeElsewhere = Tensor.Ones(2);
        });
        thread.Start();
        thread.Join();
        Assert.That(scope.Count, Is.Zero, "another thread's tensor is not adopted by this thread's scope");
        scope.Dispose();
        Assert.That(madeElsewhere!.IsDisposed, Is.False);
        madeElsewhere.Dispose();
    }

    [Test]
    public void DisposeReleasesTheNativeTensorAtOnce()
    {
        long before = LiveAfterCollecting();
        var t = Tensor.Ones(4);
        var view = t.Alias();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before + 2));
        t.Dispose();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before + 1));
        Assert.That(view.ToArray<float>(), Is.EqualTo(new float[] { 1, 1, 1, 1 }), "an alias keeps the data alive on its own");
        view.Dispose();
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }
}

/// <summary>The GC backstop: tensors no scope owns and nobody disposes are freed by the GC, whatever their size.</summary>
[NonParallelizable]
public class UnscopedMemoryTests
{
    private const long MiB = 1024 * 1024;

    [Test]
    public void SmallUnscopedTensorsLeftToTheGcDoNotPileUp()
    {
        // 60 KB results, below any "large tensor" threshold: the GC must still hear of their native bytes, or it
        // sees only ~100 managed bytes per tensor and lets gigabytes of native memory wait for a collection.
        const int iterations = 20_000; // 1.2 GB of results in all
        using var a = Tensor.Ones(15_000);
        Finalizers.RunPending();
        long before = Torch.MemoryAllocated(Device.Cpu);
        long peak = 0;
        for (int i = 0; i < iterations; i++)
        {
            var half = a * 0.5; // neither scoped nor disposed
            if (i % 1000 == 999) peak = Math.Max(peak, Torch.MemoryAllocated(Device.Cpu) - before);
            GC.KeepAlive(half);
        }
        TestContext.Out.WriteLine($"native bytes held at most {peak / (double)MiB:F1} MiB above the start");
        // Without the GC hearing of them, all 1.2 GB stay allocated. With it, the GC collects when the native bytes
        // added since its last collection pass its budget, which grows with the managed heap: about 10 MiB in a
        // small program, about 150 MiB in this test host after the rest of the suite.
        Assert.That(peak, Is.LessThan(384 * MiB));
    }
}
