using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

public sealed partial class Tensor
{
    /// <summary>Whether autograd records operations on this tensor.</summary>
    public bool RequiresGrad
    {
        get
        {
            bool requires = NativeMethods.eqx_tensor_requires_grad(this) != 0;
            GC.KeepAlive(this);
            return requires;
        }
    }

    /// <summary>Whether this tensor is a leaf of the autograd graph (created by the user, not by a recorded op).</summary>
    public bool IsLeaf
    {
        get
        {
            bool leaf = NativeMethods.eqx_tensor_is_leaf(this) != 0;
            GC.KeepAlive(this);
            return leaf;
        }
    }

    /// <summary>
    /// A new leaf sharing this tensor's memory with the requires-grad flag set (this tensor is unchanged): the inputs
    /// you take gradients with respect to.
    /// </summary>
    public Tensor WithRequiresGrad(bool requiresGrad = true) =>
        Wrap(NativeMethods.eqx_with_requires_grad(this, requiresGrad ? 1 : 0), "requires_grad", this);

    /// <summary>The same values cut from the autograd graph (shares memory).</summary>
    public Tensor Detach() => Wrap(NativeMethods.eqx_detach(this), "detach", this);

    /// <summary>Equinox's name for <see cref="Detach"/>: gradients do not flow back through the result.</summary>
    public Tensor StopGradient() => Detach();
}

/// <summary>Reverse-mode gradients through LibTorch's autograd.</summary>
public static class Autograd
{
    /// <summary>
    /// The gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/>; an input the outputs do
    /// not depend on gets null. Scalar outputs need no <paramref name="gradOutputs"/>; others need one seed each.
    /// <paramref name="createGraph"/> records the gradient computation so it can be differentiated again.
    /// </summary>
    public static unsafe Tensor?[] Grad(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?>? gradOutputs = null,
        bool retainGraph = false, bool createGraph = false)
    {
        if (gradOutputs is not null && gradOutputs.Count != outputs.Count)
            throw new ArgumentException($"Grad got {outputs.Count} outputs but {gradOutputs.Count} gradOutputs; give one seed per output.");
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(inputs);
        Tensor?[] outputArray = [.. outputs], inputArray = [.. inputs], seedArray = gradOutputs is null ? new Tensor?[outputs.Count] : [.. gradOutputs];
        for (int i = 0; i < inputArray.Length; i++)
        {
            if (inputArray[i] is { RequiresGrad: false } input)
                throw new ArgumentException(
                    $"Grad input {i} ({input.Describe()}) does not require grad, so nothing was recorded for it. " +
                    "Create it with .WithRequiresGrad() before computing the outputs.");
        }
        var outs = new IntPtr[outputArray.Length];
        var seeds = new IntPtr[outputArray.Length];
        var ins = new IntPtr[inputArray.Length];
        var results = new IntPtr[inputArray.Length];
        int status;
        using (new TensorUses(outputArray, outs, nameof(outputs)))
        using (new TensorUses(seedArray, seeds))
        using (new TensorUses(inputArray, ins, nameof(inputs)))
        fixed (IntPtr* o = outs) fixed (IntPtr* s = seeds) fixed (IntPtr* x = ins) fixed (IntPtr* r = results)
            status = NativeMethods.eqx_grad(o, s, outs.Length, x, ins.Length, retainGraph || createGraph ? 1 : 0, createGraph ? 1 : 0, r);
        if (status < 0)
        {
            CustomBackward.RethrowFailure(); // a C# backward rule's own exception, as it was thrown
            throw Tensor.Failure("grad", [.. outputs, .. inputs]);
        }
        var grads = new Tensor?[inputs.Count];
        for (int i = 0; i < grads.Length; i++) grads[i] = Tensor.WrapOptional(results[i]);
        return grads;
    }

    /// <summary>The gradient of a scalar <paramref name="output"/> with respect to each input (null where unused).</summary>
    public static Tensor?[] Grad(Tensor output, params Tensor[] inputs) => Grad([output], inputs);
}
