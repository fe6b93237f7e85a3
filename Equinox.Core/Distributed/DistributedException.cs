namespace Equinox.Distributed;

/// <summary>
/// A collective, the store or the group setup failed: a peer exited, a timeout passed, ranks passed trees of different
/// structures, or the store could not be hosted or reached. The message names this process's rank and the collective.
/// </summary>
public sealed class DistributedException : Exception
{
    /// <summary>Creates the exception for <paramref name="collective"/> on rank <paramref name="rank"/> of <paramref name="worldSize"/>.</summary>
    public DistributedException(int rank, int worldSize, string collective, string message, Exception? inner = null)
        : base($"rank {rank} of {worldSize}: {collective}: {message}", inner)
    {
        Rank = rank;
        WorldSize = worldSize;
        Collective = collective;
    }

    /// <summary>The rank of the process that raised it.</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the group.</summary>
    public int WorldSize { get; }

    /// <summary>What was running: <c>AllReduceMean</c>, <c>Broadcast</c>, <c>Init</c>, ...</summary>
    public string Collective { get; }
}
