using Equinox.Transforms;

namespace Equinox;

// The specialisation cache (shared by the wrappers of one function, see JitCache): the key's lookup, compiling on a miss (with the reason), and the churn warning.
public abstract partial class FilterJitFunction
{
    // The churn warning looks at windows of this many calls.
    private const int ChurnWindow = 8;


    /// <summary>
    /// The entry for the key in <paramref name="key"/>, compiling (and reporting why, in <paramref name="compiled"/>)
    /// on a miss.
    /// </summary>
    private protected JitEntry Lookup(JitKeyBuilder key, out FilterJitCompiledEventArgs? compiled)
    {
        key.ComputeSignature();
        compiled = null;
        long call = Interlocked.Increment(ref cache.Calls);
        var last = cache.LastHit;
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

    private JitEntry LookupSlow(JitKeyBuilder key, out FilterJitCompiledEventArgs? compiled)
    {
        int hash = key.ComputeHash();
        FilterJitCompiledEventArgs report;
        JitEntry entry;
        lock (cache.Gate)
        {
            foreach (var candidate in cache.Entries)
            {
                if (candidate.Hash == hash && key.Matches(candidate))
                {
                    cache.LastHit = candidate;
                    compiled = null;
                    return candidate;
                }
            }
            var (differences, arguments) = JitDiagnostics.Explain(key, cache.Entries, names);
            foreach (var argument in arguments) cache.Changes[argument]++;
            entry = key.ToEntry(hash);
            cache.Entries.Add(entry);
            cache.LastHit = entry;
            int count = Interlocked.Increment(ref cache.CompileCount);
            Interlocked.Increment(ref cache.CompilesInWindow);
            cache.LastReason = differences[0];
            PlanExecution(entry, key);
            report = new FilterJitCompiledEventArgs(Name, differences[0], differences, count,
                entry.Graph is null ? JitMode.Eager : JitMode.CudaGraph, entry.FallbackReason);
        }
        compiled = report;
        if (CompileLog.Enabled) Console.Error.WriteLine(CompileLog.Format(report));
        Compiled?.Invoke(this, report);
        return entry;
    }

    private void CheckChurn()
    {
        int compiles = Interlocked.Exchange(ref cache.CompilesInWindow, 0);
        if (compiles <= ChurnWindow / 2) return;
        RecompilationWarningEventArgs warning;
        lock (cache.Gate)
        {
            if (cache.Warned) return;
            cache.Warned = true;
            int most = 0;
            for (int i = 1; i < cache.Changes.Length; i++) if (cache.Changes[i] > cache.Changes[most]) most = i;
            warning = new RecompilationWarningEventArgs(
                $"equinox: warning: FilterJit {Name} compiled on {compiles} of its last {ChurnWindow} calls; argument " +
                $"'{names[most]}' changed most often ({cache.Changes[most]} times; last change: {cache.LastReason}). Every new shape, " +
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
        lock (cache.Gate)
        {
            cache.Entries.Remove(entry);
            if (ReferenceEquals(cache.LastHit, entry)) cache.LastHit = null;
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
