using System.Runtime.ConstrainedExecution;
using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>
/// The finalizer backstop for a native <c>at::Tensor*</c> that no <see cref="TensorScope"/> owns: it frees the tensor
/// if its <see cref="Tensor"/> is collected undisposed, and tells the GC about the native bytes it holds, whatever
/// their size, so that a loop making small unscoped tensors triggers collections (and so these finalizers) long
/// before their native memory piles up. A tensor created inside a scope gets none, because the scope
/// frees it (and <see cref="TensorScope"/>'s per-thread state frees what a thread left open when it ended); one is
/// attached when a tensor leaves its last scope through <see cref="TensorScope.MoveOut(Tensor)"/>.
/// </summary>
/// <remarks>
/// Why not one per tensor: an object with a finalizer is allocated on the runtime's slow path and registered with the
/// finalization queue; for the small tensors of an op-by-op loop that was about a third of the binding's cost per op.
/// Why not a SafeHandle: <see cref="Tensor.Dispose"/> already claims the pointer with one interlocked exchange, so
/// the SafeHandle's own interlocked reference count would only add a second one. Like a SafeHandle, this is a
/// critical finalizer: it runs after the ordinary finalizers of objects collected at the same time.
/// </remarks>
internal sealed class TensorHandle : CriticalFinalizerObject
{
    private readonly IntPtr pointer;
    private readonly long memoryPressure;

    internal TensorHandle(IntPtr pointer, long memoryPressure)
    {
        this.pointer = pointer;
        this.memoryPressure = memoryPressure;
        Pressure.Add(memoryPressure);
    }

    ~TensorHandle()
    {
        Free(pointer);
        Pressure.Remove(memoryPressure);
    }

    // GC.AddMemoryPressure costs an interlocked update and a check of the GC's budget per call, a large share of an
    // op on a small tensor; so each thread adds (and removes) in steps of at least `Step` bytes. What is still pending
    // is at most one step per thread: the GC hears of every byte but the last megabyte.
    private static class Pressure
    {
        private const long Step = 1 << 20;
        [ThreadStatic] private static long added, removed;

        public static void Add(long bytes)
        {
            if ((added += bytes) < Step) return;
            GC.AddMemoryPressure(added);
            added = 0;
        }

        public static void Remove(long bytes)
        {
            if ((removed += bytes) < Step) return;
            GC.RemoveMemoryPressure(removed);
            removed = 0;
        }
    }

    // ---- the live-tensor count ------------------------------------------------------------------------------------
    // Kept per thread, so that creating and freeing a tensor costs a plain increment rather than an interlocked one
    // (about 10 ns of the binding's ~45 ns per op): each thread counts in its own cell, which only it writes (frees by
    // the finalizer thread land in that thread's cell, so a cell can go negative), and Live adds the cells up. The
    // cells of threads that have ended are folded into `retired` when a new thread registers, so they do not pile up.

    private sealed class Counter
    {
        public long Value;
        public readonly Thread Owner = Thread.CurrentThread;
    }

    [ThreadStatic] private static Counter? counter;
    private static Counter[] counters = [];
    private static long retired;
    private static readonly Lock gate = new();

    /// <summary>Native tensors created and not yet freed, process-wide.</summary>
    internal static long Live
    {
        get
        {
            lock (gate)
            {
                long sum = retired;
                foreach (var c in counters) sum += Volatile.Read(ref c.Value);
                return sum;
            }
        }
    }

    /// <summary>Counts a native tensor that a <see cref="Tensor"/> now owns.</summary>
    internal static void Created() => (counter ?? Register()).Value++;

    /// <summary>Frees a native tensor counted by <see cref="Created"/>. Call once per pointer.</summary>
    internal static void Free(IntPtr pointer)
    {
        NativeMethods.eqx_tensor_free(pointer);
        (counter ?? Register()).Value--;
    }

    private static Counter Register()
    {
        var mine = new Counter();
        lock (gate)
        {
            var kept = new List<Counter>(counters.Length + 1);
            foreach (var c in counters)
            {
                if (c.Owner.IsAlive) kept.Add(c);
                else retired += c.Value; // an ended thread writes its cell no more
            }
            kept.Add(mine);
            counters = [.. kept];
        }
        return counter = mine;
    }

    /// <summary>Frees the tensor now, instead of at finalization. The caller guarantees a single call.</summary>
    internal void Release()
    {
        GC.SuppressFinalize(this);
        Free(pointer);
        Withdraw();
    }

    /// <summary>
    /// Stands down without freeing: the tensor was freed by other means. A backstop published while its tensor was
    /// being disposed on another thread can see both this and <see cref="Release"/>.
    /// </summary>
    internal void Cancel()
    {
        GC.SuppressFinalize(this);
        Withdraw();
    }

    private int withdrawn;

    private void Withdraw()
    {
        if (Interlocked.Exchange(ref withdrawn, 1) == 0) Pressure.Remove(memoryPressure);
    }
}
