using Equinox.Transforms;

namespace Equinox;

// The specialisation cache: the key's lookup, compiling on a miss (with the reason), and the churn warning.
public abstract partial class FilterJitFunction
{
    // The churn warning looks at windows of this many calls.
    private const int ChurnWindow = 8;

    private readonly object gate = new();
    private readonly List<JitEntry> entries = new();
    private volatile JitEntry? lastHit;
    private int compileCount;
    private long calls;
    // Per argument, how many compiles it caused; the churn warning names the largest.
    private readonly int[] changes;
    private int compilesInWindow;
    private bool warned;
    private string? lastReason;

    /// <summary>The entry for the key in <paramref name="key"/>, compiling (and reporting why) on a miss.</summary>
    private protected JitEntry Lookup(JitKeyBuilder key, out bool compiled)
    {
        key.ComputeSignature();
        compiled = false;
        long call = Interlocked.Increment(ref calls);
        var last = lastHit;
        JitEntry entry;
        if (last is not null && key.Matches(last))
        {
            entry = last;
        }
        else
        {
            entry = LookupSlow(key, out compiled);
        }
        if (call % ChurnWindow == 0) CheckChurn();
        return entry;
    }

    private JitEntry LookupSlow(JitKeyBuilder key, out bool compiled)
    {
        int hash = key.ComputeHash();
        FilterJitCompiledEventArgs report;
        JitEntry entry;
        lock (gate)
        {
            foreach (var candidate in entries)
            {
                if (candidate.Hash == hash && key.Matches(candidate))
                {
                    lastHit = candidate;
                    compiled = false;
                    return candidate;
                }
            }
            var (differences, arguments) = JitDiagnostics.Explain(key, entries, names);
            foreach (var argument in arguments) changes[argument]++;
            entry = key.ToEntry(hash);
            entries.Add(entry);
            lastHit = entry;
            int count = Interlocked.Increment(ref compileCount);
            Interlocked.Increment(ref compilesInWindow);
            lastReason = differences[0];
            PlanExecution(entry, key);
            report = new FilterJitCompiledEventArgs(Name, differences[0], differences, count,
                entry.Graph is null ? JitMode.Eager : JitMode.CudaGraph, entry.FallbackReason);
        }
        compiled = true;
        if (CompileLog.Enabled) Console.Error.WriteLine(CompileLog.Format(report));
        Compiled?.Invoke(this, report);
        return entry;
    }

    private void CheckChurn()
    {
        int compiles = Interlocked.Exchange(ref compilesInWindow, 0);
        if (compiles <= ChurnWindow / 2) return;
        RecompilationWarningEventArgs warning;
        lock (gate)
        {
            if (warned) return;
            warned = true;
            int most = 0;
            for (int i = 1; i < changes.Length; i++) if (changes[i] > changes[most]) most = i;
            warning = new RecompilationWarningEventArgs(
                $"equinox: warning: FilterJit {Name} compiled on {compiles} of its last {ChurnWindow} calls; argument " +
                $"'{names[most]}' changed most often ({changes[most]} times; last change: {lastReason}). Every new shape, " +
                "dtype, device or static value compiles again: pad inputs to a few fixed shapes, and pass numbers that " +
                "change every call (step counts, learning rates) as tensors rather than as plain values.",
                names[most]);
        }
        Console.Error.WriteLine(warning.Message);
        RecompilationWarning?.Invoke(this, warning);
    }

    /// <summary>The first call of an entry failed for a reason other than an ErrorIf check: forget it.</summary>
    private protected void Forget(JitEntry entry)
    {
        lock (gate)
        {
            entries.Remove(entry);
            if (ReferenceEquals(lastHit, entry)) lastHit = null;
        }
        entry.Graph?.Dispose();
        entry.Graph = null;
    }

    // On the CPU the entry runs eagerly; with every leaf on one CUDA device it is captured on its first call.
    private static void PlanExecution(JitEntry entry, JitKeyBuilder key)
    {
        var reason = CapturedGraph.WhyNotCapture(key, out _);
        entry.FallbackReason = reason;
    }
}
