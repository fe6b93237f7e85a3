using Equinox.Transforms;

namespace Equinox;

/// <summary>
/// A function compiled by <see cref="Eqx.FilterJit{T1, TResult}"/>: a cache of specialisations keyed by the static
/// parts of its arguments (compared with <c>Equals</c>) and the shape, dtype and device of each tensor. The typed
/// subclasses add <c>Invoke</c>.
/// </summary>
/// <remarks>
/// Calls may come from several threads: the cache is shared and locked only on a miss. Each call runs start to end on
/// its calling thread (grad mode, scopes and CUDA streams are per thread), so do not await inside the function.
/// </remarks>
public abstract partial class FilterJitFunction
{
    private readonly string[] names;
    private readonly Donate donate;
    private readonly JitCache cache;

    private protected FilterJitFunction(Delegate function, string? name, Donate donate)
    {
        ArgumentNullException.ThrowIfNull(function);
        Name = name ?? FunctionName(function);
        names = ParameterNames(function);
        this.donate = donate;
        cache = JitCache.For(function, donate, names.Length);
    }

    /// <summary>The name used in messages.</summary>
    public string Name { get; }

    /// <summary>
    /// How many times the function has compiled (a new specialisation added to the cache). The cache belongs to the
    /// function (the delegate's method and target, and the donation), so every FilterJit of the same function shares it.
    /// </summary>
    public int CompileCount => Volatile.Read(ref cache.CompileCount);

    /// <summary>How many specialisations the cache holds.</summary>
    public int CacheSize
    {
        get
        {
            lock (cache.Gate) return cache.Entries.Count;
        }
    }

    /// <summary>Raised on the calling thread each time a call compiles, with the reason.</summary>
    public event EventHandler<FilterJitCompiledEventArgs>? Compiled;

    /// <summary>Raised once when more than half of a window of 8 calls compiled, naming the argument that changes.</summary>
    public event EventHandler<RecompilationWarningEventArgs>? RecompilationWarning;

    // The name used in messages: the method's, or "lambda".
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
