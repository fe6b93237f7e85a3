using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>The shim's whole-list optimiser updates (optim.cpp), for Equinox.Optim: one native call per step.</summary>
internal static class OptimizerKernels
{
    /// <summary>The update rules optim.cpp knows, by its numbering.</summary>
    internal enum Rule { Sgd = 0, Adam = 1, RmsProp = 2, Adagrad = 3, Lion = 4 }

    /// <summary>The length of the hyperparameter block the shim reads (kMaxHyper in optim.cpp).</summary>
    private const int MaxHyperparameters = 8;

    /// <summary>
    /// One step of <paramref name="rule"/> over the leaves: <paramref name="slots"/>[j][i] is slot j of leaf i, a null
    /// gradient skips its leaf. Returns the updates (null where skipped) and the new slots, null where the leaf was
    /// skipped or <paramref name="overwrite"/> wrote them in place, and the count plus one (null when
    /// <paramref name="overwriteCount"/> added it in place).
    /// </summary>
    internal static unsafe (Tensor?[] Updates, Tensor?[][] Slots, Tensor? Count) Step(Rule rule, ReadOnlySpan<double> hyper,
        Tensor?[] grads, Tensor?[]? parameters, Tensor?[][] slots, Tensor count, Tensor? learningRate,
        double learningRateValue, bool[] overwrite, bool overwriteCount, bool fused)
    {
        // The shim reads a fixed number of hyperparameters (it converts them to the leaves' type before its loop).
        if (hyper.Length > MaxHyperparameters) throw new ArgumentException($"at most {MaxHyperparameters} hyperparameters", nameof(hyper));
        Span<double> padded = stackalloc double[MaxHyperparameters];
        hyper.CopyTo(padded);
        int n = grads.Length, k = slots.Length;
        var slotLeaves = new Tensor?[n * k];
        for (int j = 0; j < k; j++) slots[j].CopyTo(slotLeaves, j * n);
        var g = new IntPtr[n];
        var p = new IntPtr[parameters is null ? 0 : n];
        var s = new IntPtr[n * k];
        var updates = new IntPtr[n];
        var slotsOut = new IntPtr[n * k];
        var flags = new byte[n];
        for (int i = 0; i < n; i++) flags[i] = overwrite[i] ? (byte)1 : (byte)0;
        var scalars = new IntPtr[2];
        Tensor?[] scalarTensors = [count, learningRate];
        int status;
        IntPtr countOut;
        using (new TensorUses(grads, g))
        using (new TensorUses(parameters ?? [], p))
        using (new TensorUses(slotLeaves, s))
        using (new TensorUses(scalarTensors, scalars))
        fixed (double* h = padded) fixed (IntPtr* pg = g, pp = p, ps = s, pu = updates, pso = slotsOut) fixed (byte* pf = flags)
            status = NativeMethods.eqx_optim_step((int)rule, h, n, pg, parameters is null ? null : pp, k, ps, scalars[0],
                scalars[1], learningRateValue, pf, overwriteCount ? 1 : 0, fused ? 1 : 0, pu, pso, out countOut);
        if (status < 0) throw Tensor.Failure($"optimiser step ({rule})", [.. grads, count]);
        var newSlots = new Tensor?[k][];
        for (int j = 0; j < k; j++)
        {
            newSlots[j] = new Tensor?[n];
            for (int i = 0; i < n; i++) newSlots[j][i] = Tensor.WrapOptional(slotsOut[j * n + i]);
        }
        var result = new Tensor?[n];
        for (int i = 0; i < n; i++) result[i] = Tensor.WrapOptional(updates[i]);
        return (result, newSlots, Tensor.WrapOptional(countOut));
    }

    /// <summary>
    /// The gradients scaled by <c>min(1, maxNorm / (norm + 1e-6))</c> (null entries stay null), and the global L2
    /// norm they had, as an f64 0-dim tensor on the first gradient's device.
    /// </summary>
    internal static unsafe (Tensor?[] Clipped, Tensor Norm) ClipByGlobalNorm(Tensor?[] grads, double maxNorm)
    {
        int n = grads.Length;
        var g = new IntPtr[n];
        var output = new IntPtr[n];
        IntPtr norm;
        int status;
        using (new TensorUses(grads, g))
        fixed (IntPtr* pg = g, po = output)
            status = NativeMethods.eqx_clip_by_global_norm(n, pg, maxNorm, po, out norm);
        if (status < 0) throw Tensor.Failure("clip_by_global_norm", grads, $"max_norm={maxNorm}");
        var clipped = new Tensor?[n];
        for (int i = 0; i < n; i++) clipped[i] = Tensor.WrapOptional(output[i]);
        return (clipped, Tensor.WrapOptional(norm)!);
    }
}
