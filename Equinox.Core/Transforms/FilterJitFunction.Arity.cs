using Equinox.Transforms;

namespace Equinox;

/// <summary>A function of 1 argument compiled by <see cref="Eqx.FilterJit{T1, TResult}(Func{T1, TResult}, Donate, string?)"/>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="TResult">The result type.</typeparam>
public sealed class FilterJitFunction<T1, TResult> : FilterJitFunction
{
    private readonly Func<ValueTuple<T1>, TResult> call;

    internal FilterJitFunction(Func<T1, TResult> function, Donate donate, string? name) : base(function, name, donate)
    {
        call = a => function(a.Item1);
    }

    /// <summary>
    /// Calls the function: a cache hit runs only the compiled work; a miss compiles first and raises
    /// <see cref="FilterJitFunction.Compiled"/> with the reason.
    /// </summary>
    public TResult Invoke(T1 arg1)
    {
        var key = JitKeyBuilder.Rent();
        try
        {
            key.Add(0, arg1);
            var entry = Lookup(key, out bool compiled);
            return Execute(entry, key, compiled, new ValueTuple<T1>(arg1), call, Rebind);
        }
        finally
        {
            key.Return();
        }
    }

    private static ValueTuple<T1> Rebind(ValueTuple<T1> a, JitBinder b) => new(b.Bind(0, a.Item1));
}

/// <summary>A function of 2 arguments compiled by <see cref="Eqx.FilterJit{T1, TResult}(Func{T1, TResult}, Donate, string?)"/>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="T2">The type of argument 2.</typeparam>
/// <typeparam name="TResult">The result type.</typeparam>
public sealed class FilterJitFunction<T1, T2, TResult> : FilterJitFunction
{
    private readonly Func<ValueTuple<T1, T2>, TResult> call;

    internal FilterJitFunction(Func<T1, T2, TResult> function, Donate donate, string? name) : base(function, name, donate)
    {
        call = a => function(a.Item1, a.Item2);
    }

    /// <summary>
    /// Calls the function: a cache hit runs only the compiled work; a miss compiles first and raises
    /// <see cref="FilterJitFunction.Compiled"/> with the reason.
    /// </summary>
    public TResult Invoke(T1 arg1, T2 arg2)
    {
        var key = JitKeyBuilder.Rent();
        try
        {
            key.Add(0, arg1);
            key.Add(1, arg2);
            var entry = Lookup(key, out bool compiled);
            return Execute(entry, key, compiled, new ValueTuple<T1, T2>(arg1, arg2), call, Rebind);
        }
        finally
        {
            key.Return();
        }
    }

    private static ValueTuple<T1, T2> Rebind(ValueTuple<T1, T2> a, JitBinder b) => new(b.Bind(0, a.Item1), b.Bind(1, a.Item2));
}

/// <summary>A function of 3 arguments compiled by <see cref="Eqx.FilterJit{T1, TResult}(Func{T1, TResult}, Donate, string?)"/>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="T2">The type of argument 2.</typeparam>
/// <typeparam name="T3">The type of argument 3.</typeparam>
/// <typeparam name="TResult">The result type.</typeparam>
public sealed class FilterJitFunction<T1, T2, T3, TResult> : FilterJitFunction
{
    private readonly Func<ValueTuple<T1, T2, T3>, TResult> call;

    internal FilterJitFunction(Func<T1, T2, T3, TResult> function, Donate donate, string? name) : base(function, name, donate)
    {
        call = a => function(a.Item1, a.Item2, a.Item3);
    }

    /// <summary>
    /// Calls the function: a cache hit runs only the compiled work; a miss compiles first and raises
    /// <see cref="FilterJitFunction.Compiled"/> with the reason.
    /// </summary>
    public TResult Invoke(T1 arg1, T2 arg2, T3 arg3)
    {
        var key = JitKeyBuilder.Rent();
        try
        {
            key.Add(0, arg1);
            key.Add(1, arg2);
            key.Add(2, arg3);
            var entry = Lookup(key, out bool compiled);
            return Execute(entry, key, compiled, new ValueTuple<T1, T2, T3>(arg1, arg2, arg3), call, Rebind);
        }
        finally
        {
            key.Return();
        }
    }

    private static ValueTuple<T1, T2, T3> Rebind(ValueTuple<T1, T2, T3> a, JitBinder b) => new(b.Bind(0, a.Item1), b.Bind(1, a.Item2), b.Bind(2, a.Item3));
}

/// <summary>A function of 4 arguments compiled by <see cref="Eqx.FilterJit{T1, TResult}(Func{T1, TResult}, Donate, string?)"/>.</summary>
/// <typeparam name="T1">The type of argument 1.</typeparam>
/// <typeparam name="T2">The type of argument 2.</typeparam>
/// <typeparam name="T3">The type of argument 3.</typeparam>
/// <typeparam name="T4">The type of argument 4.</typeparam>
/// <typeparam name="TResult">The result type.</typeparam>
public sealed class FilterJitFunction<T1, T2, T3, T4, TResult> : FilterJitFunction
{
    private readonly Func<ValueTuple<T1, T2, T3, T4>, TResult> call;

    internal FilterJitFunction(Func<T1, T2, T3, T4, TResult> function, Donate donate, string? name) : base(function, name, donate)
    {
        call = a => function(a.Item1, a.Item2, a.Item3, a.Item4);
    }

    /// <summary>
    /// Calls the function: a cache hit runs only the compiled work; a miss compiles first and raises
    /// <see cref="FilterJitFunction.Compiled"/> with the reason.
    /// </summary>
    public TResult Invoke(T1 arg1, T2 arg2, T3 arg3, T4 arg4)
    {
        var key = JitKeyBuilder.Rent();
        try
        {
            key.Add(0, arg1);
            key.Add(1, arg2);
            key.Add(2, arg3);
            key.Add(3, arg4);
            var entry = Lookup(key, out bool compiled);
            return Execute(entry, key, compiled, new ValueTuple<T1, T2, T3, T4>(arg1, arg2, arg3, arg4), call, Rebind);
        }
        finally
        {
            key.Return();
        }
    }

    private static ValueTuple<T1, T2, T3, T4> Rebind(ValueTuple<T1, T2, T3, T4> a, JitBinder b) => new(b.Bind(0, a.Item1), b.Bind(1, a.Item2), b.Bind(2, a.Item3), b.Bind(3, a.Item4));
}
