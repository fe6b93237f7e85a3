using System.Runtime.CompilerServices;
using Equinox.Torch;
using Equinox.Transforms;
using TorchSwitches = Equinox.Torch.Torch;

namespace Equinox;

/// <summary>Which arguments of a FilterJit step give their tensors up to the call (see <see cref="Eqx.FilterJit{T1, TResult}"/>).</summary>
[Flags]
public enum Donate
{
    /// <summary>No argument is donated: the caller's tensors are left alone.</summary>
    None = 0,

    /// <summary>The first argument (usually the model).</summary>
    Arg1 = 1,

    /// <summary>The second argument (an optimiser state, say).</summary>
    Arg2 = 2,

    /// <summary>The third argument.</summary>
    Arg3 = 4,

    /// <summary>The fourth argument.</summary>
    Arg4 = 8,

    /// <summary>Every argument.</summary>
    All = Arg1 | Arg2 | Arg3 | Arg4,
}

/// <summary>How a compiled FilterJit entry runs.</summary>
public enum JitMode
{
    /// <summary>The function runs eagerly under the cache (always on the CPU, and on CUDA when capture failed).</summary>
    Eager,

    /// <summary>A captured CUDA graph is replayed.</summary>
    CudaGraph,
}

/// <summary>Tells why a FilterJit function compiled (see <see cref="FilterJitFunction.Compiled"/>).</summary>
public sealed class FilterJitCompiledEventArgs : EventArgs
{
    internal FilterJitCompiledEventArgs(string function, string reason, IReadOnlyList<string> differences, int compileCount,
        JitMode mode, string? fallbackReason)
    {
        Function = function;
        Reason = reason;
        Differences = differences;
        CompileCount = compileCount;
        Mode = mode;
        FallbackReason = fallbackReason;
    }

    /// <summary>The function's name, as given to FilterJit or taken from its method.</summary>
    public string Function { get; }

    /// <summary>
    /// The first difference from the nearest cached entry: <c>x: f32[32,2] -> f32[31,2]</c>,
    /// <c>model.Layers[0].Weight: f32[8,2] -> f64[8,2]</c>, <c>model.Activation changed</c>, <c>n (int): 3 -> 4</c>;
    /// <c>first call</c> when the cache was empty.
    /// </summary>
    public string Reason { get; }

    /// <summary>Every difference from the nearest cached entry, in argument order (the first is <see cref="Reason"/>).</summary>
    public IReadOnlyList<string> Differences { get; }

    /// <summary>How many compiles the function has made, this one included.</summary>
    public int CompileCount { get; }

    /// <summary>How the new entry runs.</summary>
    public JitMode Mode { get; }

    /// <summary>Why tensors on a CUDA device run eagerly instead of as a captured graph; null otherwise.</summary>
    public string? FallbackReason { get; }
}

/// <summary>Warns that a FilterJit function compiles on most calls (see <see cref="FilterJitFunction.RecompilationWarning"/>).</summary>
public sealed class RecompilationWarningEventArgs : EventArgs
{
    internal RecompilationWarningEventArgs(string message, string argument)
    {
        Message = message;
        Argument = argument;
    }

    /// <summary>The warning, with the argument that keeps changing and how to stop it.</summary>
    public string Message { get; }

    /// <summary>The argument that changed most often.</summary>
    public string Argument { get; }
}

/// <summary>
/// A function compiled by <see cref="Eqx.FilterJit{T1, TResult}"/>: a cache of specialisations keyed by the static
/// parts of its arguments (compared with <c>Equals</c>) and the shape, dtype and device of each tensor. The typed
/// subclasses add <c>Invoke</c>.
/// </summary>
/// <remarks>
/// Calls may come from several threads: the cache is shared and locked only on a miss. Each call runs start to end on
/// its calling thread (grad mode, scopes and CUDA streams are per thread), so do not await inside the function.
/// </remarks>
public abstract class FilterJitFunction
{
    // The churn warning looks at windows of this many calls.
    private const int ChurnWindow = 8;

    private readonly object gate = new();
    private readonly List<JitEntry> entries = new();
    private readonly string[] names;
    private readonly int[] changes;
    private readonly Donate donate;
    private volatile JitEntry? lastHit;
    private int compileCount;
    private long calls;
    private int compilesInWindow;
    private bool warned;
    private string? lastReason;

    private protected FilterJitFunction(Delegate function, string? name, Donate donate)
    {
        ArgumentNullException.ThrowIfNull(function);
        Name = name ?? FunctionName(function);
        names = ParameterNames(function);
        changes = new int[names.Length];
        this.donate = donate;
    }

    /// <summary>The name used in messages.</summary>
    public string Name { get; }

    /// <summary>How many times the function has compiled (a new specialisation added to the cache).</summary>
    public int CompileCount => Volatile.Read(ref compileCount);

    /// <summary>How many specialisations the cache holds.</summary>
    public int CacheSize
    {
        get
        {
            lock (gate) return entries.Count;
        }
    }

    /// <summary>Raised on the calling thread each time a call compiles, with the reason.</summary>
    public event EventHandler<FilterJitCompiledEventArgs>? Compiled;

    /// <summary>Raised once when more than half of a window of 8 calls compiled, naming the argument that changes.</summary>
    public event EventHandler<RecompilationWarningEventArgs>? RecompilationWarning;

    // ---- one call: key, lookup, run ----------------------------------------------------------------------

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
        if (Environment.GetEnvironmentVariable("EQUINOX_LOG_COMPILES") is "1" or "true")
            Console.Error.WriteLine(FormatLog(report));
        Compiled?.Invoke(this, report);
        return entry;
    }

    /// <summary>The line <c>EQUINOX_LOG_COMPILES=1</c> prints to standard error for a compile.</summary>
    internal static string FormatLog(FilterJitCompiledEventArgs e)
    {
        var line = $"equinox: FilterJit {e.Function}: compile #{e.CompileCount}: {e.Reason}";
        if (e.Differences.Count > 1) line += $" (and {e.Differences.Count - 1} more: {string.Join("; ", e.Differences.Skip(1).Take(3))})";
        if (e.FallbackReason is not null) line += $"; running eagerly: {e.FallbackReason}";
        return line;
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

    /// <summary>
    /// Runs one call of <paramref name="call"/> on <paramref name="arguments"/>: eagerly in a scope (the result's
    /// tensors moved out), or through the entry's CUDA graph; then donates.
    /// </summary>
    private protected TResult Execute<TArguments, TResult>(JitEntry entry, JitKeyBuilder key, bool compiled, TArguments arguments,
        Func<TArguments, TResult> call, Func<TArguments, JitBinder, TArguments> rebind)
    {
        TResult result;
        try
        {
            if (entry.Graph is not null || (compiled && entry.FallbackReason is null && CapturedGraph.IsCandidate(key)))
                result = CapturedGraph.Run(entry, key, compiled, arguments, call, rebind);
            else
            {
                // Donated tensors may take their updates in place (Eqx.ApplyUpdates); the captured path has its own
                // static buffers, so donation there only frees at the call boundary.
                using (Donation.Enter(donate == Donate.None ? null : (ITuple)arguments!, donate))
                    result = RunEager(arguments, call);
            }
            entry.Ready = true;
        }
        catch (Exception e) when (!entry.Ready && e is not EquinoxRuntimeException)
        {
            Forget(entry);
            throw;
        }
        if (donate != Donate.None) DonateArguments(result, arguments, entry);
        return result;
    }

    internal static TResult RunEager<TArguments, TResult>(TArguments arguments, Func<TArguments, TResult> call)
    {
        using var scope = CallScope.Open();
        var result = call(arguments);
        scope.CheckFunctionClosedItsScopes("FilterJit");
        JitResults.MoveOut(scope.Tensors, result, "FilterJit: the function's result");
        return result;
    }

    /// <summary>Whether argument <paramref name="index"/> (0-based) is donated.</summary>
    private protected bool Donates(int index) => Donation.Donates(donate, index);

    // Disposes every tensor of the donated arguments that neither the result nor an undonated argument holds (by
    // identity): the caller still owns a tensor it also passed without donating.
    private void DonateArguments<TArguments, TResult>(TResult result, TArguments arguments, JitEntry entry)
    {
        var keep = JitResults.Collect(result);
        var tuple = (ITuple)arguments!;
        for (int i = 0; i < tuple.Length; i++)
            if (!Donates(i)) JitResults.ForEachTensor(tuple[i], tensor => keep.Add(tensor));
        for (int i = 0; i < tuple.Length; i++)
        {
            if (!Donates(i)) continue;
            JitResults.ForEachTensor(tuple[i], tensor =>
            {
                if (!keep.Contains(tensor) && (entry.Graph is null || !entry.Graph.Owns(tensor))) tensor.Dispose();
            });
        }
        keep.Clear();
    }

    // ---- names -------------------------------------------------------------------------------------------

    private static string FunctionName(Delegate function)
    {
        var name = function.Method.Name;
        return name.Contains('<') ? "lambda" : name;
    }

    private static string[] ParameterNames(Delegate function)
    {
        var parameters = function.Method.GetParameters();
        var result = new string[parameters.Length];
        for (int i = 0; i < result.Length; i++)
        {
            var name = parameters[i].Name;
            result[i] = string.IsNullOrEmpty(name) || name == "_" ? $"arg {i + 1}" : name;
        }
        return result;
    }
}
