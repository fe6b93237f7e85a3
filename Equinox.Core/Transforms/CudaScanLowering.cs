using System.Diagnostics.CodeAnalysis;
using Equinox.Tensors;
using Equinox.Tensors.Interop;

namespace Equinox.Transforms;

/// <summary>
/// A Scan body captured once, on its own, inside an enclosing capture, and appended to that capture once per step.
/// </summary>
internal interface IScanBodyGraph : IDisposable
{
    /// <summary>From here on the thread's CUDA work goes into the body graph, on a stream of its own.</summary>
    void BeginCapture();

    /// <summary>Ends the body's capture; called whenever <see cref="BeginCapture"/> succeeded. Throws if it failed.</summary>
    void EndCapture();

    /// <summary>Appends one run of the body to the enclosing capture, after what is already there.</summary>
    void Launch();
}

/// <summary>The body graph of scan_graph.cpp: a child-graph node of the enclosing CUDA graph per step.</summary>
internal sealed class CudaBodyGraph : IScanBodyGraph
{
    private IntPtr handle;

    internal CudaBodyGraph(int device)
    {
        handle = NativeMethods.eqx_scan_body_new(device);
        if (handle == IntPtr.Zero) throw Tensor.Failure("scan_body_new", [], $"device={device}");
    }

    public void BeginCapture() => Tensor.Check(NativeMethods.eqx_scan_body_capture_begin(handle), "scan_body_capture_begin");

    public void EndCapture() => Tensor.Check(NativeMethods.eqx_scan_body_capture_end(handle), "scan_body_capture_end");

    public void Launch() => Tensor.Check(NativeMethods.eqx_scan_body_launch(handle), "scan_body_launch");

    public void Dispose()
    {
        if (handle != IntPtr.Zero) NativeMethods.eqx_scan_body_free(handle);
        handle = IntPtr.Zero;
    }
}

/// <summary>
/// FilterJit's lowering of <c>Eqx.Scan</c> while it captures a CUDA graph: the body runs once, under a capture of its
/// own, into a body graph; each step then adds to the enclosing graph a copy of <c>xs[t]</c> into a static x buffer,
/// one launch of the body graph, and copies of its outputs into row t of the stacked outputs and into the carry
/// buffers. The C# body therefore runs once whatever the length. It declines (Scan then unrolls into the enclosing
/// graph, as eagerly) where that would be wrong; <see cref="WhyNotLower"/> and <see cref="TryRun"/> list when.
/// </summary>
internal sealed class CudaScanLowering(Func<Action, IScanBodyGraph> newBodyGraph, List<IDisposable> keep) : IScanLowering
{
    /// <summary>Why each declined Scan was unrolled, in call order.</summary>
    internal List<string> Declines { get; } = new();

    /// <summary>How many Scans were lowered to a body graph.</summary>
    internal int Lowered { get; private set; }

    public bool TryRun(ScanProgram program, [NotNullWhen(true)] out Tensor?[]? carry, [NotNullWhen(true)] out Tensor?[]? stackedOutputs)
    {
        carry = stackedOutputs = null;
        if (WhyNotLower(program) is { } before) return Decline(before);

        using var scope = CallScope.Open();
        var capture = new BodyCapture(program);
        var checks = new List<ErrorCheck>();
        IScanBodyGraph? body = null;
        string? failure = null;
        // A Scan inside the body unrolls into the body graph rather than nesting a third capture.
        using (ScanTransform.Install(null))
        {
            try
            {
                body = newBodyGraph(capture.ReplayEagerly);
                using var recording = ErrorChecks.Record(checks);
                using var bodyScope = CallScope.Open();
                body.BeginCapture();
                try
                {
                    var (next, output) = program.Step(capture.CarryBuffers, capture.XBuffer);
                    bodyScope.CheckFunctionClosedItsScopes("Scan");
                    capture.CarryOut = Unalias(next, capture.CarryBuffers);
                    capture.Outputs = output;
                }
                catch (Exception e)
                {
                    failure = Reason(e);
                }
                finally
                {
                    // Always end the body's capture, so its stream leaves capture mode even when the body failed.
                    try
                    {
                        body.EndCapture();
                    }
                    catch (Exception e)
                    {
                        failure ??= Reason(e);
                    }
                }
                if (failure is null)
                {
                    bodyScope.MoveOut(capture.CarryOut);
                    bodyScope.MoveOut(capture.Outputs);
                }
            }
            catch (Exception e)
            {
                failure ??= Reason(e); // the body graph could not be made, or its capture could not begin
            }
        }

        var reason = failure is not null ? $"its body could not be captured on its own: {failure}"
            : checks.Count > 0 ? "its body calls ErrorIf, and a check inside the replayed body graph would only report on the last step"
            : Torch.IsGradEnabled && (AnyRequiresGrad(capture.CarryOut!) || AnyRequiresGrad(capture.Outputs!))
                ? "gradients must flow through it (its body's outputs require grad, e.g. through parameters it closes over), " +
                  "and autograd cannot see through a replayed body graph"
                : null;
        if (reason is not null)
        {
            scope.Dispose(); // the body's tensors first, then the body graph and the memory pool they came from
            body?.Dispose();
            return Decline(reason);
        }

        keep.Add(body!); // the enclosing graph launches it: it is freed with that graph, even if a launch below fails
        var carryOut = capture.CarryOut!;
        var outputs = capture.Outputs!;
        var stacked = new Tensor?[outputs.Length];
        using (Torch.NoGrad())
        {
            for (int j = 0; j < outputs.Length; j++)
                if (outputs[j] is { } y) stacked[j] = Tensor.Empty([program.Length, .. y.Shape], y.DType, y.Device);
            for (long t = 0; t < program.Length; t++)
            {
                using var step = Torch.Scope();
                if (capture.XBuffer is { } x) x.CopyInPlace(program.Xs!.Select(0, t));
                body!.Launch();
                // Outputs before the carry: an output may be a carry buffer itself, which must still hold step t's carry.
                for (int j = 0; j < outputs.Length; j++)
                    if (stacked[j] is { } rows) rows.Select(0, t).CopyInPlace(outputs[j]!);
                for (int k = 0; k < carryOut.Length; k++)
                    if (carryOut[k] is { } next && !ReferenceEquals(next, capture.CarryBuffers[k])) capture.CarryBuffers[k]!.CopyInPlace(next);
            }
            carry = Array.ConvertAll(capture.CarryBuffers, b => b?.Clone());
        }
        scope.MoveOut(carry);
        scope.MoveOut(stacked);
        stackedOutputs = stacked;
        Lowered++;
        return true;
    }

    /// <summary>Why a Scan cannot be lowered, known before its body runs; null when it can be tried.</summary>
    internal static string? WhyNotLower(ScanProgram program)
    {
        if (Functorch.Depth > 0)
            return "it runs inside FilterVmap, whose batched tensors cannot be captured apart from the enclosing graph";
        if (Torch.IsGradEnabled && (AnyRequiresGrad(program.InitCarry) || program.Xs is { RequiresGrad: true }))
            return "gradients must flow through it (its carry or xs requires grad), and autograd cannot see through a replayed body graph";
        return null;
    }

    // A decline's reason is the native message itself (the body graph's ops are ours, not the user's to read about).
    private static string Reason(Exception e) => e is TorchException native ? native.NativeMessage : e.Message;

    private bool Decline(string reason)
    {
        Declines.Add(reason);
        CompileLog.Write($"equinox: Scan: unrolled into the graph: {reason}");
        return false;
    }

    private static bool AnyRequiresGrad(Tensor?[] leaves)
    {
        foreach (var leaf in leaves) if (leaf is { RequiresGrad: true }) return true;
        return false;
    }

    // Inside the body's capture: a next-carry leaf that views another carry buffer (a swap, say) would be overwritten
    // by the per-step carry copies before it is read, so the body graph copies it into a buffer of its own.
    private static Tensor?[] Unalias(Tensor?[] next, Tensor?[] buffers)
    {
        var result = (Tensor?[])next.Clone();
        for (int k = 0; k < result.Length; k++)
        {
            if (result[k] is not { } leaf || ReferenceEquals(leaf, buffers[k])) continue;
            foreach (var buffer in buffers)
            {
                if (buffer is null || !leaf.SharesStorageWith(buffer)) continue;
                result[k] = leaf.Clone();
                break;
            }
        }
        return result;
    }

    /// <summary>The static tensors of one body graph: what it reads (carry buffers, x buffer) and what it writes.</summary>
    private sealed class BodyCapture
    {
        internal BodyCapture(ScanProgram program)
        {
            Program = program;
            using (Torch.NoGrad())
            {
                CarryBuffers = Array.ConvertAll(program.InitCarry, leaf => leaf?.Detach().Clone());
                XBuffer = program.Xs?.Select(0, 0).Clone();
            }
        }

        internal ScanProgram Program { get; }

        internal Tensor?[] CarryBuffers { get; }

        internal Tensor? XBuffer { get; }

        internal Tensor?[]? CarryOut { get; set; }

        internal Tensor?[]? Outputs { get; set; }

        /// <summary>
        /// What one launch of the body graph does, done eagerly: run the body on the buffers and write its results
        /// into the captured outputs. The CUDA body graph ignores it; a test double without a device stands in with it.
        /// </summary>
        internal void ReplayEagerly()
        {
            using var scope = CallScope.Open();
            using var noGrad = Torch.NoGrad();
            var (next, output) = Program.Step(CarryBuffers, XBuffer);
            Refresh(CarryOut!, next);
            Refresh(Outputs!, output);
        }

        private static void Refresh(Tensor?[] captured, Tensor?[] fresh)
        {
            for (int i = 0; i < captured.Length; i++)
                if (captured[i] is { } target && fresh[i] is { } value && !ReferenceEquals(target, value)) target.CopyInPlace(value);
        }
    }
}
