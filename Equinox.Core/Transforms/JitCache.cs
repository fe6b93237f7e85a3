using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Equinox.Transforms;

/// <summary>
/// The compiled entries of one function, shared by every FilterJit wrapper made of it, as Equinox keeps one cache per
/// function: <c>Eqx.FilterJit(model.Loss)</c> written twice, or inside a loop, compiles once. The cache belongs to the
/// delegate's method and target (and the donation, which changes how an entry runs); the target is held weakly, so
/// the cache of a jitted closure or a bound method does not keep its model alive.
/// </summary>
internal sealed class JitCache
{
    internal readonly object Gate = new();
    internal readonly List<JitEntry> Entries = new();
    internal volatile JitEntry? LastHit;
    internal int CompileCount;
    internal long Calls;
    // Per argument, how many compiles it caused; the churn warning names the largest.
    internal readonly int[] Changes;
    internal int CompilesInWindow;
    internal bool Warned;
    internal string? LastReason;

    private JitCache(int arguments) => Changes = new int[arguments];

    private readonly record struct Owner(MethodInfo Method, Type DelegateType, Donate Donate);

    private static readonly ConditionalWeakTable<object, ConcurrentDictionary<Owner, JitCache>> ByTarget = new();
    private static readonly ConcurrentDictionary<Owner, JitCache> ForStaticMethods = new();

    /// <summary>The cache of <paramref name="function"/> with <paramref name="donate"/>, made on first use.</summary>
    internal static JitCache For(Delegate function, Donate donate, int arguments)
    {
        // A multicast delegate is not one function: it gets a cache of its own.
        if (function.HasSingleTarget is false) return new JitCache(arguments);
        var owner = new Owner(function.Method, function.GetType(), donate);
        var caches = function.Target is { } target ? ByTarget.GetValue(target, _ => new()) : ForStaticMethods;
        return caches.GetOrAdd(owner, _ => new JitCache(arguments));
    }
}
