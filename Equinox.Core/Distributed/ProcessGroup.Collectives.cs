using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Equinox.Tensors;
using Equinox.Tensors.Interop;

namespace Equinox.Distributed;

public sealed partial class ProcessGroup
{
    private const int KindAllReduce = 0;
    private const int KindBroadcast = 1;

    // Per collective name, the structure hash every rank agreed on last time: the check runs again only when it changes.
    private readonly Dictionary<string, long> verified = new(StringComparer.Ordinal);

    /// <summary>
    /// The most bytes of leaves packed into one flat buffer (one collective call) per dtype; 25 MiB, as PyTorch's
    /// DistributedDataParallel. A leaf larger than this gets a buffer of its own.
    /// </summary>
    public long BucketSizeBytes { get; set; } = 25L << 20;

    /// <summary>
    /// Whether tree collectives first check that every rank passes a tree of the same structure (true by default). The
    /// check is one extra all-gather of 16 bytes per rank, made again only when a rank's tree changes; turn it off
    /// when the other ranks are Python processes, which issue only the bucketed collectives themselves.
    /// </summary>
    public bool StructureChecks { get; set; } = true;

    /// <summary>How many buffers (collective calls) the last tree collective made: a handful, not one per leaf.</summary>
    public int LastBucketCount { get; private set; }

    /// <summary>
    /// Combines every rank's <paramref name="tree"/> leaf by leaf with <paramref name="op"/> and returns the result
    /// (the same on every rank) as a new tree; null slots stay null. The leaves travel in a few flat buffers per dtype.
    /// </summary>
    /// <exception cref="DistributedException">
    /// The ranks' trees differ (the message names the first differing path), a peer failed, or the timeout passed.
    /// </exception>
    public T AllReduce<T>(T tree, ReduceOp op = ReduceOp.Sum) where T : ITreeNode =>
        TreeCollective(tree, "AllReduce", KindAllReduce, (int)op, 1.0);

    /// <summary>
    /// The mean over ranks of every leaf of <paramref name="grads"/>: the gradient of the mean loss over all ranks'
    /// batches when each rank passes the gradient of its own batch's mean loss (batches of equal size).
    /// </summary>
    /// <exception cref="DistributedException">As <see cref="AllReduce{T}"/>.</exception>
    public T AllReduceMean<T>(T grads) where T : ITreeNode =>
        TreeCollective(grads, "AllReduceMean", KindAllReduce, (int)ReduceOp.Sum, 1.0 / WorldSize);

    /// <summary>
    /// Rank <paramref name="root"/>'s <paramref name="tree"/> on every rank (the others' leaves supply only structure,
    /// dtypes and shapes): how every rank starts from the same initial weights.
    /// </summary>
    /// <exception cref="DistributedException">As <see cref="AllReduce{T}"/>.</exception>
    public T Broadcast<T>(T tree, int root = 0) where T : ITreeNode
    {
        CheckRoot(root);
        return TreeCollective(tree, "Broadcast", KindBroadcast, root, 1.0);
    }

    /// <summary>
    /// One tensor combined over ranks with <paramref name="op"/>, as a new tensor: exactly one
    /// <c>torch.distributed.all_reduce</c> (no structure check), so Python ranks can take part.
    /// </summary>
    public Tensor AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) =>
        TensorCollective(tensor, "AllReduce", KindAllReduce, (int)op);

    /// <summary>
    /// Combines <paramref name="buffer"/> over ranks in place, with no copy: for a buffer this code owns (a gradient
    /// accumulator, a statistics counter). Trees and tensors that other code may hold go through
    /// <see cref="AllReduce(Tensor, ReduceOp)"/>, which leaves its input unchanged.
    /// </summary>
    /// <exception cref="DistributedException">The buffer is not contiguous, a peer failed, or the timeout passed.</exception>
    public unsafe void AllReduceInPlace(Tensor buffer, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var handle = buffer.AcquireUse();
        int status;
        try
        {
            status = NativeMethods.eqx_dist_allreduce(Handle(), &handle, 1, (int)op, TimeoutMs);
        }
        finally
        {
            buffer.ReleaseUse();
        }
        if (status < 0) throw Failed("AllReduceInPlace", $"all-reduce ({op}) of {buffer.Describe()}");
    }

    /// <summary>Rank <paramref name="root"/>'s <paramref name="tensor"/>, as a new tensor on every rank: one <c>torch.distributed.broadcast</c>.</summary>
    public Tensor Broadcast(Tensor tensor, int root = 0)
    {
        CheckRoot(root);
        return TensorCollective(tensor, "Broadcast", KindBroadcast, root);
    }

    /// <summary>
    /// Every rank's <paramref name="tensor"/> (all of one dtype and shape), in rank order: one
    /// <c>torch.distributed.all_gather</c>.
    /// </summary>
    /// <exception cref="DistributedException">A peer failed or the timeout passed.</exception>
    public Tensor[] AllGather(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return RawAllGather(tensor, "AllGather");
    }

    private unsafe Tensor[] RawAllGather(Tensor tensor, string collective)
    {
        var output = new IntPtr[WorldSize];
        int status;
        var input = tensor.AcquireUse();
        try
        {
            fixed (IntPtr* o = output) status = NativeMethods.eqx_dist_allgather(Handle(), input, o, WorldSize, TimeoutMs);
        }
        finally
        {
            tensor.ReleaseUse();
        }
        if (status < 0) throw Failed(collective, $"all-gather of {tensor.Describe()}");
        var result = new Tensor[WorldSize];
        for (int i = 0; i < WorldSize; i++) result[i] = Tensor.Wrap(output[i], "allgather", tensor);
        return result;
    }

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be a rank in [0, {WorldSize}).");
    }

    private Tensor TensorCollective(Tensor tensor, string collective, int kind, int opOrRoot)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return RunBucketed([tensor], collective, kind, opOrRoot, 1.0)[0];
    }

    private T TreeCollective<T>(T tree, string collective, int kind, int opOrRoot, double scale) where T : ITreeNode
    {
        ArgumentNullException.ThrowIfNull(tree);
        var slots = Eqx.LeavesWithPaths(tree);
        var lines = new string[slots.Count + 1];
        lines[0] = "tree\t" + TypeNames.CSharp(tree.GetType());
        int present = 0;
        for (int i = 0; i < slots.Count; i++)
        {
            var (path, leaf) = slots[i];
            lines[i + 1] = path + "\t" + (leaf?.Describe() ?? "null");
            if (leaf is not null) present++;
        }
        if (StructureChecks) CheckStructure(collective, lines);
        var leaves = new Tensor[present];
        present = 0;
        foreach (var (_, leaf) in slots) if (leaf is not null) leaves[present++] = leaf;
        var results = RunBucketed(leaves, collective, kind, opOrRoot, scale);
        var newSlots = new Tensor?[slots.Count];
        present = 0;
        for (int i = 0; i < slots.Count; i++) if (slots[i].Leaf is not null) newSlots[i] = results[present++];
        return Eqx.Unflatten(tree, newSlots);
    }

    private unsafe Tensor[] RunBucketed(Tensor[] leaves, string collective, int kind, int opOrRoot, double scale)
    {
        if (leaves.Length == 0)
        {
            LastBucketCount = 0;
            return [];
        }
        var handles = new IntPtr[leaves.Length];
        var output = new IntPtr[leaves.Length];
        int buckets;
        using (new TensorUses(leaves!, handles, "leaves"))
        fixed (IntPtr* h = handles) fixed (IntPtr* o = output)
            buckets = NativeMethods.eqx_dist_bucketed(Handle(), h, leaves.Length, kind, opOrRoot, scale, BucketSizeBytes, TimeoutMs, o);
        if (buckets < 0)
        {
            var what = kind == KindAllReduce ? $"all-reduce ({(ReduceOp)opOrRoot})" : $"broadcast from rank {opOrRoot}";
            throw Failed(collective, $"{what} of {leaves.Length} leaves");
        }
        LastBucketCount = buckets;
        var results = new Tensor[leaves.Length];
        for (int i = 0; i < leaves.Length; i++) results[i] = Tensor.Wrap(output[i], collective, leaves[i]);
        return results;
    }

    // Every rank describes what it passes (one line per slot: path, dtype and shape) and the ranks compare an 8-byte
    // hash of it plus its length in one tiny all-gather; only on a mismatch do they exchange the descriptions, so the
    // error can name the first path that differs. Skipped while the description stays the one all ranks agreed on.
    private void CheckStructure(string collective, string[] lines)
    {
        var text = string.Join("\n", lines);
        var bytes = Encoding.UTF8.GetBytes(text);
        long hash = BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(bytes));
        if (verified.TryGetValue(collective, out var agreed) && agreed == hash) return;
        if (WorldSize == 1)
        {
            verified[collective] = hash;
            return;
        }
        long[] all;
        using (var mine = Tensor.FromArray(new[] { hash, bytes.Length }))
        {
            var gathered = RawAllGather(mine, collective + " (structure check)");
            all = new long[WorldSize * 2];
            for (int r = 0; r < WorldSize; r++)
            {
                gathered[r].ToArray<long>().CopyTo(all, 2 * r);
                gathered[r].Dispose();
            }
        }
        bool same = true;
        long longest = 0;
        for (int r = 0; r < WorldSize; r++)
        {
            same &= all[2 * r] == all[0] && all[2 * r + 1] == all[1];
            longest = Math.Max(longest, all[2 * r + 1]);
        }
        if (same)
        {
            verified[collective] = hash;
            return;
        }
        var padded = new byte[longest];
        bytes.CopyTo(padded, 0);
        var texts = new string[WorldSize];
        using (var mine = Tensor.FromArray(padded))
        {
            var gathered = RawAllGather(mine, collective + " (structure check)");
            for (int r = 0; r < WorldSize; r++)
            {
                texts[r] = Encoding.UTF8.GetString(gathered[r].ToArray<byte>(), 0, (int)all[2 * r + 1]);
                gathered[r].Dispose();
            }
        }
        throw new DistributedException(Rank, WorldSize, collective, DescribeDifference(texts));
    }

    private static string DescribeDifference(string[] texts)
    {
        var lines = texts.Select(t => t.Split('\n')).ToArray();
        int other = Array.FindIndex(lines, l => !l.SequenceEqual(lines[0]));
        var a = lines[0];
        var b = lines[other];
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        static (string Where, string What) Split(string[] l, int i)
        {
            if (i >= l.Length) return ("", "no leaf");
            var parts = l[i].Split('\t');
            return (parts[0], parts[1]);
        }
        var (whereA, whatA) = Split(a, i);
        var (whereB, whatB) = Split(b, i);
        string where = i == 0 ? "the root" : whereA.Length > 0 ? whereA : whereB;
        if (whereA.Length > 0 && whereB.Length > 0 && whereA != whereB) where = $"{whereA} (rank {other} has {whereB} there)";
        return $"the ranks passed trees of different structure: they first differ at {where}: rank 0 has {whatA}, " +
               $"rank {other} has {whatB}. Every rank must pass a tree of the same structure, dtypes and shapes.";
    }
}
