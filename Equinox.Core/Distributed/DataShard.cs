using Equinox.Tensors;

namespace Equinox.Distributed;

/// <summary>
/// One rank's share of a data set, epoch by epoch: every rank shuffles the indices 0..n-1 the same way (from a shared
/// <see cref="Key"/> and the epoch number) and takes every <c>worldSize</c>-th one starting at its rank, as PyTorch's
/// <c>DistributedSampler</c> does. The ranks' shares are disjoint and equally long, so every rank makes the same
/// number of steps (and of collective calls).
/// </summary>
public sealed class DataShard
{
    /// <summary>The share of rank <paramref name="rank"/> of <paramref name="worldSize"/> in a data set of <paramref name="datasetSize"/> examples.</summary>
    /// <param name="datasetSize">The number of examples.</param>
    /// <param name="rank">This rank.</param>
    /// <param name="worldSize">The number of ranks.</param>
    /// <param name="key">The shuffling key; the same on every rank.</param>
    /// <param name="dropLast">
    /// Drop the examples past the last multiple of <paramref name="worldSize"/> (true), or repeat the first ones so every
    /// example is seen (false), as <c>DistributedSampler</c>'s <c>drop_last</c>.
    /// </param>
    public DataShard(long datasetSize, int rank, int worldSize, Key key, bool dropLast = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize}).");
        ArgumentOutOfRangeException.ThrowIfNegative(datasetSize);
        DatasetSize = datasetSize;
        Rank = rank;
        WorldSize = worldSize;
        Key = key;
        DropLast = dropLast;
        Count = dropLast ? datasetSize / worldSize : (datasetSize + worldSize - 1) / worldSize;
    }

    /// <summary>This process's share in <paramref name="group"/>.</summary>
    public static DataShard For(ProcessGroup group, long datasetSize, Key key, bool dropLast = true)
    {
        ArgumentNullException.ThrowIfNull(group);
        return new DataShard(datasetSize, group.Rank, group.WorldSize, key, dropLast);
    }

    /// <summary>The number of examples in the data set.</summary>
    public long DatasetSize { get; }

    /// <summary>The rank whose share this is.</summary>
    public int Rank { get; }

    /// <summary>The number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>The key every rank shuffles with.</summary>
    public Key Key { get; }

    /// <summary>Whether the remainder is dropped rather than padded.</summary>
    public bool DropLast { get; }

    /// <summary>The number of examples in each rank's share of an epoch.</summary>
    public long Count { get; }

    /// <summary>This rank's indices for <paramref name="epoch"/>, in the order to visit them.</summary>
    public long[] Indices(int epoch)
    {
        var order = Permutation(DatasetSize, Key.FoldIn((uint)epoch));
        var mine = new long[Count];
        for (long i = 0; i < Count; i++) mine[i] = order[(Rank + i * WorldSize) % DatasetSize];
        return mine;
    }

    /// <summary>
    /// This rank's indices for <paramref name="epoch"/> in batches of <paramref name="batchSize"/>; a last, shorter
    /// batch is dropped so that every rank makes the same number of steps.
    /// </summary>
    public IEnumerable<long[]> Batches(int epoch, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var indices = Indices(epoch);
        for (long start = 0; start + batchSize <= indices.Length; start += batchSize)
            yield return indices[(int)start..(int)(start + batchSize)];
    }

    /// <summary>The number of full batches of <paramref name="batchSize"/> per epoch, the same on every rank.</summary>
    public long BatchCount(int batchSize) => Count / Math.Max(1, batchSize);

    // Fisher-Yates driven by SplitMix64 seeded from the key: the same permutation on every machine and runtime.
    private static long[] Permutation(long n, Key key)
    {
        var order = new long[n];
        for (long i = 0; i < n; i++) order[i] = i;
        ulong state = ((ulong)key.Hi << 32) | key.Lo;
        for (long i = n - 1; i > 0; i--)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            long j = (long)(z % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
