using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>The CPU memory statistics the shim's counting allocator keeps (CUDA's come from LibTorch).</summary>
[NonParallelizable]
public class MemoryStatsTests
{
    private const long MiB = 1 << 20;

    private static long Settled()
    {
        Finalizers.RunPending();
        return Torch.MemoryAllocated(Device.Cpu);
    }

    [Test]
    public void AllocatedBytesRiseByATensorsSizeAndFallWhenItIsDisposed()
    {
        long before = Settled();
        var tensor = Tensor.Zeros(256, 1024); // f32: exactly 1 MiB
        Assert.That(Torch.MemoryAllocated(Device.Cpu) - before, Is.EqualTo(MiB));
        var alias = tensor.Alias();
        Assert.That(Torch.MemoryAllocated(Device.Cpu) - before, Is.EqualTo(MiB), "an alias shares the memory");
        tensor.Dispose();
        Assert.That(Torch.MemoryAllocated(Device.Cpu) - before, Is.EqualTo(MiB), "the alias still holds it");
        alias.Dispose();
        Assert.That(Torch.MemoryAllocated(Device.Cpu), Is.EqualTo(before));
    }

    [Test]
    public void AFreedLargeBlockIsKeptForTheNextTensorOfItsSizeUntilTheCacheIsEmptied()
    {
        Settled();
        Torch.EmptyCache(Device.Cpu);
        long Cached() => Torch.MemoryReserved(Device.Cpu) - Torch.MemoryAllocated(Device.Cpu);
        Assert.That(Cached(), Is.Zero);

        Tensor.Zeros(256, 1024).Dispose(); // 1 MiB: kept, with its 64-byte header rounded up to a page
        Assert.That(Cached(), Is.EqualTo(MiB + 4096));
        using (var again = Tensor.Ones(1024, 256)) // the same bytes, another shape: takes the kept block
        {
            Assert.That(Cached(), Is.Zero);
            Assert.That(again.Sum().Item<float>(), Is.EqualTo(262144f), "a reused block holds the new tensor's values");
        }
        Tensor.Zeros(1000).Dispose(); // 4 KB: below the cache's threshold, returned to malloc at once
        Assert.That(Cached(), Is.EqualTo(MiB + 4096));

        Torch.EmptyCache(Device.Cpu);
        Assert.That(Cached(), Is.Zero);
    }

    [Test]
    public void PeakRemembersTheHighestFigureUntilReset()
    {
        long before = Settled();
        Torch.ResetPeakMemoryStats(Device.Cpu);
        Assert.That(Torch.MaxMemoryAllocated(Device.Cpu), Is.EqualTo(before));
        using (var scope = Torch.Scope())
        {
            var big = Tensor.Zeros([4 * MiB / 8], DType.Float64);
            var small = Tensor.Zeros(64, 1024);
        }
        Assert.That(Torch.MaxMemoryAllocated(Device.Cpu) - before, Is.EqualTo(4 * MiB + MiB / 4));
        Assert.That(Torch.MemoryAllocated(Device.Cpu), Is.EqualTo(before), "the scope freed both");
        Torch.ResetPeakMemoryStats(Device.Cpu);
        Assert.That(Torch.MaxMemoryAllocated(Device.Cpu), Is.EqualTo(before));
    }

    [Test]
    public void OpsCountTheirResultsAndEmptyTensorsCountNothing()
    {
        long before = Settled();
        using var scope = Torch.Scope();
        var a = Tensor.Ones(512, 512);
        var b = a * 2.0;
        Assert.That(Torch.MemoryAllocated(Device.Cpu) - before, Is.EqualTo(2 * MiB));
        _ = Tensor.Zeros(0, 16);
        Assert.That(Torch.MemoryAllocated(Device.Cpu) - before, Is.EqualTo(2 * MiB));
        Assert.That(b.Sum().Item<float>(), Is.EqualTo(2f * 512 * 512), "tensors from the counting allocator hold real data");
    }

    [Test]
    public void ACudaDeviceWithoutCudaIsAClearError()
    {
        if (Torch.IsCudaAvailable) Assert.Ignore("this build has CUDA, whose statistics are LibTorch's own");
        var e = Assert.Throws<InvalidOperationException>(() => Torch.MemoryAllocated(Device.Cuda()));
        Assert.That(e!.Message, Is.EqualTo("memory statistics for cuda:0: this LibTorch build has no CUDA"));
    }
}
