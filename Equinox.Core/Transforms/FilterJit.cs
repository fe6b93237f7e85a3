namespace Equinox;

public static partial class Eqx
{
    /// <summary>
    /// Compiles <paramref name="function"/> for reuse: its tensor arguments (tensors, and the tensors inside modules and
    /// tuples) are dynamic, everything else is static. A call whose static parts equal (by <c>Equals</c>) and whose
    /// tensors have the shapes, dtypes and devices of an earlier call reuses that call's compiled work; any other call
    /// compiles again and raises <see cref="FilterJitFunction.Compiled"/> with the argument that changed and how.
    /// </summary>
    /// <remarks>
    /// On a CUDA device the function is captured as one CUDA graph (forward, backward and update together) and replayed
    /// on later calls; its outputs are then the graph's static buffers, overwritten by the next call. On the CPU it runs
    /// eagerly under the same cache, inside a <see cref="Tensors.TensorScope"/>: every tensor it creates is disposed
    /// except those reachable from the result. <c>EQUINOX_LOG_COMPILES=1</c> prints every compile to standard error.
    /// </remarks>
    /// <param name="function">The step to compile. It returns tensors, [Module] trees, tuples, collections and
    /// dictionaries of those, or plain values (numbers, strings, enums, keys); any other type (a plain record, say) is
    /// rejected with <see cref="NotSupportedException"/> on the first call, since its tensors would be freed.</param>
    /// <param name="donate">
    /// Arguments whose tensors the call may release: after the call, their tensors that the result does not hold are
    /// disposed, so <c>model = step.Invoke(model, ...)</c> never keeps two models alive. Do not use a donated argument
    /// after the call.
    /// </param>
    /// <param name="name">A name for messages; the method's name by default.</param>
    /// <typeparam name="T1">The type of argument 1.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public static FilterJitFunction<T1, TResult> FilterJit<T1, TResult>(Func<T1, TResult> function,
        Donate donate = Donate.None, string? name = null) => new(function, donate, name);

    /// <summary>Compiles a function of 2 arguments; see <see cref="FilterJit{T1, TResult}(Func{T1, TResult}, Donate, string?)"/>.</summary>
    /// <param name="function">The step to compile.</param>
    /// <param name="donate">Arguments whose tensors the call may release.</param>
    /// <param name="name">A name for messages.</param>
    /// <typeparam name="T1">The type of argument 1.</typeparam>
    /// <typeparam name="T2">The type of argument 2.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public static FilterJitFunction<T1, T2, TResult> FilterJit<T1, T2, TResult>(Func<T1, T2, TResult> function,
        Donate donate = Donate.None, string? name = null) => new(function, donate, name);

    /// <summary>Compiles a function of 3 arguments; see <see cref="FilterJit{T1, TResult}(Func{T1, TResult}, Donate, string?)"/>.</summary>
    /// <param name="function">The step to compile.</param>
    /// <param name="donate">Arguments whose tensors the call may release.</param>
    /// <param name="name">A name for messages.</param>
    /// <typeparam name="T1">The type of argument 1.</typeparam>
    /// <typeparam name="T2">The type of argument 2.</typeparam>
    /// <typeparam name="T3">The type of argument 3.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public static FilterJitFunction<T1, T2, T3, TResult> FilterJit<T1, T2, T3, TResult>(Func<T1, T2, T3, TResult> function,
        Donate donate = Donate.None, string? name = null) => new(function, donate, name);

    /// <summary>Compiles a function of 4 arguments; see <see cref="FilterJit{T1, TResult}(Func{T1, TResult}, Donate, string?)"/>.</summary>
    /// <param name="function">The step to compile.</param>
    /// <param name="donate">Arguments whose tensors the call may release.</param>
    /// <param name="name">A name for messages.</param>
    /// <typeparam name="T1">The type of argument 1.</typeparam>
    /// <typeparam name="T2">The type of argument 2.</typeparam>
    /// <typeparam name="T3">The type of argument 3.</typeparam>
    /// <typeparam name="T4">The type of argument 4.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    public static FilterJitFunction<T1, T2, T3, T4, TResult> FilterJit<T1, T2, T3, T4, TResult>(Func<T1, T2, T3, T4, TResult> function,
        Donate donate = Donate.None, string? name = null) => new(function, donate, name);
}
