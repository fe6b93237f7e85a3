using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>
/// A backward rule written in C#: given the gradients of a custom op's outputs (zeros for outputs nobody used) and the
/// residual tensors kept for it, returns one gradient per input (null for none).
/// </summary>
internal delegate Tensor?[] BackwardRule(Tensor?[] outputGrads, Tensor?[] saved);

/// <summary>
/// Custom autograd ops whose backward is C# code (Python's <c>torch.autograd.Function</c>): the outputs get an autograd
/// node (Native/src/custom_function.cpp) that calls back into <see cref="BackwardRule"/> when a backward pass reaches it.
/// </summary>
/// <remarks>
/// <para>The rule lives in a <see cref="GCHandle"/> the node owns and frees when it is destroyed (with the last output
/// that refers to it), so nothing is kept per call: <see cref="LiveRules"/> counts the handles held.</para>
/// <para>An exception in the rule never crosses into native code: it is caught, kept here under an id, and reported as
/// a failure that LibTorch's engine carries back to <see cref="Autograd.Grad(IReadOnlyList{Tensor}, IReadOnlyList{Tensor}, IReadOnlyList{Tensor?}?, bool, bool)"/>,
/// which rethrows the original exception (<see cref="RethrowFailure"/>).</para>
/// </remarks>
internal static unsafe class CustomBackward
{
    private sealed class Rule(BackwardRule backward, int inputCount)
    {
        public readonly BackwardRule Backward = backward;
        public readonly int InputCount = inputCount;
    }

    private static long liveRules;
    private static long nextFailure;
    private static readonly ConcurrentDictionary<long, ExceptionDispatchInfo> failures = new();

    /// <summary>The rules whose autograd nodes are alive, process-wide.</summary>
    internal static long LiveRules => Interlocked.Read(ref liveRules);

    /// <summary>
    /// The outputs to return from a custom op: <paramref name="outputs"/> (computed without grad from
    /// <paramref name="inputs"/>) with an autograd node running <paramref name="backward"/> attached to every
    /// differentiable one, or the outputs unchanged when grad mode is off or no input requires grad. The node keeps
    /// <paramref name="saved"/> (detached) for the rule; <paramref name="name"/> names it in autograd's messages.
    /// </summary>
    internal static Tensor?[] Attach(ReadOnlySpan<Tensor?> inputs, ReadOnlySpan<Tensor?> outputs, ReadOnlySpan<Tensor?> saved,
        BackwardRule backward, string name)
    {
        var handle = GCHandle.Alloc(new Rule(backward, inputs.Length));
        var ins = new IntPtr[inputs.Length];
        var outs = new IntPtr[outputs.Length];
        var kept = new IntPtr[saved.Length];
        var results = new IntPtr[outputs.Length];
        int status;
        try
        {
            using (new TensorUses(inputs, ins))
            using (new TensorUses(outputs, outs))
            using (new TensorUses(saved, kept))
            fixed (IntPtr* i = ins) fixed (IntPtr* o = outs) fixed (IntPtr* s = kept) fixed (IntPtr* r = results)
            {
                delegate* unmanaged<IntPtr, IntPtr*, int, IntPtr*, int, IntPtr*, int, int> run = &RunBackward;
                delegate* unmanaged<IntPtr, void> release = &Release;
                status = NativeMethods.eqx_custom_backward_attach(i, ins.Length, o, outs.Length, s, kept.Length,
                    (IntPtr)run, (IntPtr)release, GCHandle.ToIntPtr(handle), name, r);
            }
        }
        catch
        {
            handle.Free();
            throw;
        }
        if (status == 1) Interlocked.Increment(ref liveRules); // the node owns the handle now
        else handle.Free();
        if (status < 0) throw Tensor.Failure("custom_backward", [.. inputs, .. outputs], detail: name);
        var wrapped = new Tensor?[results.Length];
        for (int k = 0; k < results.Length; k++) wrapped[k] = Tensor.WrapOptional(results[k]);
        return wrapped;
    }

    /// <summary>
    /// After a failed backward pass: rethrows the exception a rule raised in it, if that is why it failed (the id the
    /// shim recorded for the call); returns otherwise.
    /// </summary>
    internal static void RethrowFailure()
    {
        long id = NativeMethods.eqx_take_failure_id();
        if (id != 0 && failures.TryRemove(id, out var failure)) failure.Throw();
    }

    [UnmanagedCallersOnly]
    private static int RunBackward(IntPtr state, IntPtr* grads, int ngrads, IntPtr* saved, int nsaved, IntPtr* output, int noutput)
    {
        try
        {
            using var scope = Torch.Scope();
            // Own every handle first: the scope frees them however the rule ends.
            var gradTensors = new Tensor?[ngrads];
            for (int i = 0; i < ngrads; i++) gradTensors[i] = Tensor.WrapOptional(grads[i]);
            var savedTensors = new Tensor?[nsaved];
            for (int i = 0; i < nsaved; i++) savedTensors[i] = Tensor.WrapOptional(saved[i]);

            var rule = (Rule)GCHandle.FromIntPtr(state).Target!;
            var result = rule.Backward(gradTensors, savedTensors);
            if (result.Length != rule.InputCount || result.Length != noutput)
                throw new InvalidOperationException(
                    $"A custom backward rule returned {result.Length} gradients for {rule.InputCount} inputs.");
            // The native node takes new handles (and frees them); this scope disposes the rule's own tensors.
            for (int i = 0; i < noutput; i++)
                output[i] = result[i] is { } g ? NewHandle(g) : IntPtr.Zero;
            return 0;
        }
        catch (Exception e)
        {
            long id = Interlocked.Increment(ref nextFailure);
            failures[id] = ExceptionDispatchInfo.Capture(e);
            Trim();
            NativeMethods.eqx_callback_failed($"{e.GetType().Name}: {e.Message}", id);
            return -1;
        }
    }

    private static IntPtr NewHandle(Tensor tensor)
    {
        var handle = NativeMethods.eqx_tensor_new_handle(tensor);
        if (handle == IntPtr.Zero) throw Tensor.Failure("new_handle", [tensor]);
        return handle;
    }

    [UnmanagedCallersOnly]
    private static void Release(IntPtr state)
    {
        try
        {
            GCHandle.FromIntPtr(state).Free();
            Interlocked.Decrement(ref liveRules);
        }
        catch (InvalidOperationException)
        {
            // Not a handle of ours: nothing to free. Nothing may propagate into native code.
        }
    }

    // A failure nobody collects (a backward pass started by a native path that does not report ids) must not pile up.
    private static void Trim()
    {
        if (failures.Count <= 64) return;
        foreach (var id in failures.Keys.Order().Take(failures.Count - 64)) failures.TryRemove(id, out _);
    }
}
