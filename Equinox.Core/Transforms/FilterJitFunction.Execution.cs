using System.Runtime.CompilerServices;
using Equinox.Transforms;

namespace Equinox;

// One call of a cached entry: eagerly in a scope or through its CUDA graph, then the donated arguments released.
public abstract partial class FilterJitFunction
{
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
        if (donate != Donate.None) Donation.Release(result, (ITuple)arguments!, donate, entry.Graph);
        return result;
    }

    /// <summary>
    /// The first run of a new entry, for <c>Compile</c>: like <see cref="Execute"/> but nothing is donated and an eager
    /// result's tensors that the arguments do not hold are freed (a captured graph's outputs are its own buffers).
    /// </summary>
    private protected void Warm<TArguments, TResult>(JitEntry entry, JitKeyBuilder key, TArguments arguments,
        Func<TArguments, TResult> call, Func<TArguments, JitBinder, TArguments> rebind)
    {
        try
        {
            if (entry.FallbackReason is null && CapturedGraph.IsCandidate(key))
                CapturedGraph.Run(entry, key, true, arguments, call, rebind);
            else
                FreeNewTensors(RunEager(arguments, call), arguments);
            entry.Ready = true;
        }
        catch (Exception e) when (!entry.Ready && e is not EquinoxRuntimeException)
        {
            Forget(entry);
            throw;
        }
    }

    private static void FreeNewTensors<TResult, TArguments>(TResult result, TArguments arguments)
    {
        var held = JitResults.Collect(arguments);
        try
        {
            JitResults.ForEachTensor(result, tensor =>
            {
                if (!held.Contains(tensor)) tensor.Dispose();
            });
        }
        finally
        {
            held.Clear();
        }
    }

    /// <summary>Runs the function eagerly in a scope, moving the result's tensors out of it.</summary>
    internal static TResult RunEager<TArguments, TResult>(TArguments arguments, Func<TArguments, TResult> call)
    {
        using var scope = CallScope.Open();
        var result = call(arguments);
        scope.CheckFunctionClosedItsScopes("FilterJit");
        JitResults.MoveOut(scope.Tensors, result, "FilterJit: the function's result");
        return result;
    }
}
