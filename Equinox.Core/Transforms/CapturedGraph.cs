using Equinox.Tensors;
using Equinox.Tensors.Interop;

namespace Equinox.Transforms;

/// <summary>Puts the graph's static input tensors in place of an argument's tensors, for the captured call.</summary>
internal sealed class JitBinder(JitKeyBuilder key, Tensor?[] leaves)
{
    /// <summary>Argument <paramref name="argument"/> with its tensors replaced by the static inputs.</summary>
    public T Bind<T>(int argument, T value)
    {
        for (int i = 0; i < key.ItemCount; i++)
        {
            var item = key.Items[i];
            if (item.Argument != argument || item.Parent >= 0) continue;
            switch (item.Kind)
            {
                case JitItemKind.Tensor:
                    return (T)(object)leaves[item.LeafStart]!;
                case JitItemKind.Node:
                    return (T)(object)Eqx.Unflatten((ITreeNode)value!, leaves.AsSpan(item.LeafStart, item.LeafCount));
                default:
                    return value;
            }
        }
        return value;
    }
}

/// <summary>
/// A captured CUDA graph: static input buffers the arguments are copied into, the graph, and the outputs it writes.
/// Captured on an entry's first call: warm-up on a side stream, then capture; when capture fails the entry falls back
/// to eager execution and says why. Compiled only where the native shim has CUDA (<c>EQX_WITH_CUDA</c>).
/// </summary>
internal sealed class CapturedGraph : IDisposable
{
    // Warm-up calls before capture, so lazy initialisation (cuBLAS handles, allocator pools) happens outside it.
    internal const int WarmupCalls = 3;

    private IntPtr graph;
    private readonly Tensor?[] inputs;
    private readonly HashSet<Tensor> outputs = new(ReferenceEqualityComparer.Instance);
    private object? result;
    private List<ErrorCheck> checks = new();
    // Scan body graphs the graph launches as child nodes, and their memory pools: freed after the graph.
    private readonly List<IDisposable> bodies = new();

    private CapturedGraph(IntPtr graph, Tensor?[] inputs)
    {
        this.graph = graph;
        this.inputs = inputs;
    }

    /// <summary>Whether the native shim was built with CUDA graph support.</summary>
    internal static bool Available => NativeMethods.eqx_cuda_graph_available() != 0;

    internal const string NotAvailable = "CUDA graph capture is not available in this LibTorch build";

    /// <summary>Whether this key's tensors all live on CUDA devices (so capture is the plan).</summary>
    internal static bool IsCandidate(JitKeyBuilder key) => OnCuda(key, out _, out _);

    /// <summary>
    /// Why a key with CUDA tensors cannot be captured, or null when it can (or when its tensors are on the CPU, where
    /// eager execution is the plan rather than a fallback).
    /// </summary>
    internal static string? WhyNotCapture(JitKeyBuilder key, out int device)
    {
        if (!OnCuda(key, out device, out var mixed)) return mixed;
        if (!Available) return NotAvailable;
        for (int i = 0; i < key.ItemCount; i++)
        {
            if (key.Items[i].Kind == JitItemKind.Tuple)
                return $"argument {key.Items[i].Argument + 1} is a tuple; tuples of tensors are not captured yet (pass their parts as separate arguments)";
        }
        return null;
    }

    // Reads devices from the signature words (JitSignature): every leaf on one CUDA device.
    private static bool OnCuda(JitKeyBuilder key, out int device, out string? mixed)
    {
        device = -1;
        mixed = null;
        var signature = key.SignatureSpan;
        bool anyCpu = false, anyCuda = false;
        for (int position = 0; position < signature.Length;)
        {
            long head = signature[position];
            position += JitSignature.LeafLength(signature, position);
            if (JitSignature.IsNull(head)) continue;
            int index = JitSignature.DeviceIndexOf(head);
            if (JitSignature.DeviceTypeOf(head) == DeviceType.Cuda)
            {
                anyCuda = true;
                if (device >= 0 && device != index) mixed = $"the tensors live on several CUDA devices (cuda:{device}, cuda:{index})";
                device = index;
            }
            else anyCpu = true;
        }
        if (anyCuda && anyCpu) mixed = "the tensors live on both the CPU and a CUDA device; a captured graph needs them on one CUDA device";
        return anyCuda && mixed is null;
    }

    /// <summary>Whether <paramref name="tensor"/> is one of the graph's buffers (never donated away).</summary>
    internal bool Owns(Tensor tensor) => outputs.Contains(tensor) || Array.IndexOf(inputs, tensor) >= 0;

    /// <summary>One call through the entry's graph: captured on the first call, replayed on every call.</summary>
    internal static TResult Run<TArguments, TResult>(JitEntry entry, JitKeyBuilder key, bool compiled, TArguments arguments,
        Func<TArguments, TResult> call, Func<TArguments, JitBinder, TArguments> rebind)
    {
        if (entry.Graph is null)
        {
            try
            {
                entry.Graph = Capture(key, arguments, call, rebind);
            }
            catch (EquinoxRuntimeException)
            {
                throw; // an ErrorIf check failed on these inputs during warm-up: the caller's error
            }
            catch (Exception e)
            {
                entry.FallbackReason = $"CUDA graph capture failed: {e.Message}";
                CompileLog.Write($"equinox: FilterJit: running eagerly: {entry.FallbackReason}");
                return FilterJitFunction.RunEager(arguments, call);
            }
        }
        return entry.Graph.Replay<TResult>(key);
    }

    private static CapturedGraph Capture<TArguments, TResult>(JitKeyBuilder key, TArguments arguments,
        Func<TArguments, TResult> call, Func<TArguments, JitBinder, TArguments> rebind)
    {
        WhyNotCapture(key, out int device);
        var handle = NativeMethods.eqx_cuda_graph_new(device);
        if (handle == IntPtr.Zero) throw Tensor.Failure("cuda_graph_new", [], $"device={device}");
        var inputs = new Tensor?[key.LeafCount];
        var captured = new CapturedGraph(handle, inputs);
        try
        {
            using (Torch.NoGrad())
            {
                for (int i = 0; i < inputs.Length; i++)
                {
                    if (key.Leaves[i] is not { } leaf) continue;
                    var buffer = leaf.Detach().Clone();
                    TensorScope.Escape(buffer);
                    inputs[i] = buffer;
                }
            }
            var bound = rebind(arguments, new JitBinder(key, inputs));
            Tensor.Check(NativeMethods.eqx_cuda_graph_side_stream_begin(handle), "cuda_graph_side_stream_begin");
            try
            {
                for (int i = 0; i < WarmupCalls; i++)
                {
                    using var scope = CallScope.Open();
                    call(bound);
                }
            }
            finally
            {
                Tensor.Check(NativeMethods.eqx_cuda_graph_side_stream_end(handle), "cuda_graph_side_stream_end");
            }
            using var recording = ErrorChecks.Record(captured.checks);
            // Installed for the captured call only (warm-up runs Scan eagerly): a Scan's body is captured once.
            var lowering = new CudaScanLowering(_ => new CudaBodyGraph(device), captured.bodies);
            Tensor.Check(NativeMethods.eqx_cuda_graph_capture_begin(handle), "cuda_graph_capture_begin");
            Exception? failure = null;
            try
            {
                using var scope = CallScope.Open();
                using (ScanTransform.Install(lowering)) captured.result = call(bound);
                scope.CheckFunctionClosedItsScopes("FilterJit");
                JitResults.ForEachResultTensor(captured.result, tensor =>
                {
                    TensorScope.Escape(tensor);
                    captured.outputs.Add(tensor);
                }, "FilterJit: the function's result");
                foreach (var check in captured.checks) TensorScope.Escape(check.Code);
            }
            catch (Exception e)
            {
                failure = e;
            }
            // Always end the capture, so the stream leaves capture mode even when the call failed.
            int ended = NativeMethods.eqx_cuda_graph_capture_end(handle);
            if (failure is not null) throw failure;
            Tensor.Check(ended, "cuda_graph_capture_end");
            return captured;
        }
        catch
        {
            captured.Dispose();
            throw;
        }
    }

    // Copies the call's tensors into the static inputs, replays, raises any recorded ErrorIf, returns the outputs.
    private TResult Replay<TResult>(JitKeyBuilder key)
    {
        using (Torch.NoGrad())
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                if (inputs[i] is { } buffer && key.Leaves[i] is { } leaf && !ReferenceEquals(buffer, leaf))
                    buffer.CopyInPlace(leaf);
            }
        }
        Tensor.Check(NativeMethods.eqx_cuda_graph_replay(graph), "cuda_graph_replay");
        ErrorChecks.Raise(checks);
        return (TResult)result!;
    }

    public void Dispose()
    {
        if (graph != IntPtr.Zero) NativeMethods.eqx_cuda_graph_free(graph);
        graph = IntPtr.Zero;
        foreach (var body in bodies) body.Dispose();
        bodies.Clear();
        foreach (var input in inputs) input?.Dispose();
        foreach (var output in outputs) output.Dispose();
        foreach (var check in checks) check.Code.Dispose();
        outputs.Clear();
        checks = new();
    }
}
