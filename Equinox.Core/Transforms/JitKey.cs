using System.Runtime.CompilerServices;
using Equinox.Tensors;
using Equinox.Tensors.Interop;

namespace Equinox.Transforms;

/// <summary>What one item of a FilterJit key is.</summary>
internal enum JitItemKind : byte
{
    /// <summary>A tensor argument or tuple element: one leaf.</summary>
    Tensor,

    /// <summary>A module: its static part (a skeleton with no tensors in a cache entry) plus its leaves.</summary>
    Node,

    /// <summary>A plain value, compared with Equals.</summary>
    Value,

    /// <summary>A tuple: its type; its elements follow as items of their own.</summary>
    Tuple,

    /// <summary>A null argument or element.</summary>
    Null,
}

/// <summary>
/// One item of a key: where it sits (argument, enclosing tuple item and element) and which leaves it owns.
/// </summary>
internal record struct JitItem(JitItemKind Kind, int Argument, int Parent, int Element, int LeafStart, int LeafCount);

/// <summary>
/// Builds the cache key of one call: the arguments' items and static values, their tensor leaves, and the leaves'
/// signature (dtype, device and shape words from one native call). The buffers are reused call after call, so a
/// cached call allocates only the boxes of plain value arguments.
/// </summary>
internal sealed class JitKeyBuilder
{
    [ThreadStatic] private static JitKeyBuilder? spare;

    internal JitItem[] Items = new JitItem[8];
    internal object?[] Values = new object?[8];
    internal int ItemCount;
    internal Tensor?[] Leaves = new Tensor?[16];
    internal int LeafCount;
    internal long[] Signature = new long[64];
    internal int SignatureLength;
    private IntPtr[] pointers = new IntPtr[16];

    /// <summary>A builder for this thread: nested FilterJit calls (a step calling another) get one each.</summary>
    internal static JitKeyBuilder Rent()
    {
        var builder = spare ?? new JitKeyBuilder();
        spare = null;
        return builder;
    }

    /// <summary>Forgets the call's objects (so no tensor is kept alive by the buffers) and gives the builder back.</summary>
    internal void Return()
    {
        Array.Clear(Values, 0, ItemCount);
        Array.Clear(Leaves, 0, LeafCount);
        ItemCount = LeafCount = SignatureLength = 0;
        spare = this;
    }

    internal Span<long> SignatureSpan => Signature.AsSpan(0, SignatureLength);

    internal void Add<T>(int argument, T value)
    {
        // Tensors and modules are reference types: no box. A tuple is boxed once to be read through ITuple.
        if (value is null) AddItem(JitItemKind.Null, argument, -1, -1, null);
        else if (value is Tensor tensor) AddTensor(argument, -1, -1, tensor);
        else if (value is ITreeNode node) AddNode(argument, -1, -1, node);
        else if (value is ITuple tuple) AddTuple(argument, -1, -1, tuple);
        else AddItem(JitItemKind.Value, argument, -1, -1, value);
    }

    private void AddObject(int argument, int parent, int element, object? value)
    {
        switch (value)
        {
            case null: AddItem(JitItemKind.Null, argument, parent, element, null); break;
            case Tensor tensor: AddTensor(argument, parent, element, tensor); break;
            case ITreeNode node: AddNode(argument, parent, element, node); break;
            case ITuple tuple: AddTuple(argument, parent, element, tuple); break;
            default: AddItem(JitItemKind.Value, argument, parent, element, value); break;
        }
    }

    private int AddItem(JitItemKind kind, int argument, int parent, int element, object? value, int leafCount = 0)
    {
        if (ItemCount == Items.Length)
        {
            Array.Resize(ref Items, Items.Length * 2);
            Array.Resize(ref Values, Values.Length * 2);
        }
        Items[ItemCount] = new JitItem(kind, argument, parent, element, LeafCount, leafCount);
        Values[ItemCount] = value;
        return ItemCount++;
    }

    private void EnsureLeaves(int more)
    {
        if (LeafCount + more > Leaves.Length) Array.Resize(ref Leaves, Math.Max(Leaves.Length * 2, LeafCount + more));
    }

    private void AddTensor(int argument, int parent, int element, Tensor tensor)
    {
        AddItem(JitItemKind.Tensor, argument, parent, element, null, 1);
        EnsureLeaves(1);
        Leaves[LeafCount++] = tensor;
    }

    private void AddNode(int argument, int parent, int element, ITreeNode node)
    {
        int count = node.TreeLeafCount;
        AddItem(JitItemKind.Node, argument, parent, element, node, count);
        EnsureLeaves(count);
        int position = LeafCount;
        node.TreeFlatten(Leaves.AsSpan(0, LeafCount + count), ref position);
        LeafCount = position;
    }

    private void AddTuple(int argument, int parent, int element, ITuple tuple)
    {
        int self = AddItem(JitItemKind.Tuple, argument, parent, element, tuple.GetType());
        for (int i = 0; i < tuple.Length; i++) AddObject(argument, self, i, tuple[i]);
        Items[self].LeafCount = LeafCount - Items[self].LeafStart;
    }

    /// <summary>Reads the dtype, device and shape of every leaf in one native call.</summary>
    internal unsafe void ComputeSignature()
    {
        if (pointers.Length < LeafCount) pointers = new IntPtr[Math.Max(LeafCount, pointers.Length * 2)];
        using var uses = new TensorUses(Leaves.AsSpan(0, LeafCount), pointers);
        while (true)
        {
            long written;
            fixed (IntPtr* p = pointers) fixed (long* s = Signature)
                written = NativeMethods.eqx_tensors_signature(p, LeafCount, s, Signature.Length);
            if (written < 0) throw Tensor.Failure("FilterJit signature", Leaves.AsSpan(0, LeafCount));
            if (written <= Signature.Length)
            {
                SignatureLength = (int)written;
                break;
            }
            Signature = new long[Math.Max(written, Signature.Length * 2L)];
        }
    }

    /// <summary>Whether this call's key is <paramref name="entry"/>'s: same items, equal statics, same signature.</summary>
    internal bool Matches(JitEntry entry)
    {
        if (entry.Items.Length != ItemCount || entry.Signature.Length != SignatureLength) return false;
        if (!SignatureSpan.SequenceEqual(entry.Signature)) return false;
        for (int i = 0; i < ItemCount; i++)
        {
            if (Items[i] != entry.Items[i]) return false;
            // Modules are immutable: the very node that matched last time still has the same static part.
            if (Items[i].Kind == JitItemKind.Node && entry.Seen[i].TryGetTarget(out var seen) && ReferenceEquals(seen, Values[i])) continue;
            if (!StaticEquals(Items[i].Kind, entry.Values[i], Values[i])) return false;
        }
        for (int i = 0; i < ItemCount; i++)
        {
            if (Items[i].Kind == JitItemKind.Node) entry.Seen[i].SetTarget(Values[i]!);
        }
        return true;
    }

    internal static bool StaticEquals(JitItemKind kind, object? cached, object? value) => kind switch
    {
        JitItemKind.Node => ((ITreeNode)cached!).TreeStaticEquals((ITreeNode)value!),
        JitItemKind.Value => Equals(cached, value),
        JitItemKind.Tuple => ReferenceEquals(cached, value),
        _ => true,
    };

    /// <summary>A hash of the key, consistent with <see cref="Matches"/>; computed only when the last hit missed.</summary>
    internal int ComputeHash()
    {
        var hash = new HashCode();
        hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(SignatureSpan));
        for (int i = 0; i < ItemCount; i++)
        {
            hash.Add(Items[i]);
            hash.Add(Hash(Items[i].Kind, Values[i]));
        }
        return hash.ToHashCode();
    }

    internal static int Hash(JitItemKind kind, object? value) => kind switch
    {
        JitItemKind.Node => ((ITreeNode)value!).TreeStaticHashCode(),
        JitItemKind.Value or JitItemKind.Tuple => value?.GetHashCode() ?? 0,
        _ => 0,
    };

    /// <summary>
    /// A cache entry for this key. Modules are kept as skeletons (their static part with every tensor slot null), so
    /// the cache never keeps a model's tensors alive.
    /// </summary>
    internal JitEntry ToEntry(int hash)
    {
        var values = new object?[ItemCount];
        for (int i = 0; i < ItemCount; i++)
        {
            values[i] = Items[i].Kind == JitItemKind.Node ? Skeleton((ITreeNode)Values[i]!) : Values[i];
        }
        return new JitEntry(Items.AsSpan(0, ItemCount).ToArray(), values, SignatureSpan.ToArray(), hash);
    }

    private static ITreeNode Skeleton(ITreeNode node)
    {
        var empty = new Tensor?[node.TreeLeafCount];
        int position = 0;
        return node.TreeUnflatten(empty, ref position);
    }
}

/// <summary>One compiled specialisation of a FilterJit function.</summary>
internal sealed class JitEntry(JitItem[] items, object?[] values, long[] signature, int hash)
{
    internal readonly JitItem[] Items = items;
    internal readonly object?[] Values = values;
    internal readonly long[] Signature = signature;
    internal readonly int Hash = hash;

    /// <summary>Per module item, the node that last matched (weakly held), whose static part need not be compared again.</summary>
    internal readonly WeakReference<object>[] Seen = NewSeen(items.Length);

    private static WeakReference<object>[] NewSeen(int count)
    {
        var seen = new WeakReference<object>[count];
        for (int i = 0; i < count; i++) seen[i] = new WeakReference<object>(seen);
        return seen;
    }

    /// <summary>The captured CUDA graph that replays this entry, or null when it runs eagerly.</summary>
    internal CapturedGraph? Graph;

    /// <summary>Why this entry runs eagerly on CUDA tensors (null on the CPU, where eager is the plan).</summary>
    internal string? FallbackReason;

    /// <summary>Whether the first call has finished: until then a failure removes the entry again.</summary>
    internal volatile bool Ready;
}
