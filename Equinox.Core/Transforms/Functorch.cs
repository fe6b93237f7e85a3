using Equinox.Tensors;
using Equinox.Tensors.Interop;

namespace Equinox;

/// <summary>
/// RAII over functorch's dynamic layer stack (thread-local in LibTorch): a layer is pushed by the constructor and
/// popped by <c>Dispose</c>, so a throw inside a transformation never leaves a layer behind.
/// </summary>
internal static class Functorch
{
    /// <summary>How many functorch layers (vmap or grad) are open on this thread.</summary>
    internal static int Depth
    {
        get
        {
            int depth = NativeMethods.eqx_functorch_depth();
            if (depth < 0) throw Tensor.Failure("functorch_depth", []);
            return depth;
        }
    }

    /// <summary>A Vmap layer: tensors get a batch dimension at its level, results lose it.</summary>
    internal sealed class VmapLayer : IDisposable
    {
        private readonly int threadId = Environment.CurrentManagedThreadId;
        private bool closed;

        internal VmapLayer(long batchSize, VmapRandomness randomness)
        {
            BatchSize = batchSize;
            Level = NativeMethods.eqx_vmap_enter(batchSize, (int)randomness);
            if (Level < 0) throw Tensor.Failure("vmap", [], $"batch_size={batchSize}");
        }

        internal long Level { get; }

        internal long BatchSize { get; }

        internal Tensor AddBatchDim(Tensor t, int axis) =>
            Tensor.Wrap(NativeMethods.eqx_vmap_add_batch_dim(t, axis, Level), "vmap_add_batch_dim", t);

        internal Tensor RemoveBatchDim(Tensor t, int axis) =>
            Tensor.Wrap(NativeMethods.eqx_vmap_remove_batch_dim(t, Level, BatchSize, axis), "vmap_remove_batch_dim", t);

        internal bool IsBatched(Tensor t)
        {
            int batched = NativeMethods.eqx_vmap_is_batched(t, Level);
            GC.KeepAlive(t);
            if (batched < 0) throw Tensor.Failure("vmap_is_batched", [t]);
            return batched != 0;
        }

        public void Dispose()
        {
            if (closed) return;
            closed = true;
            if (Environment.CurrentManagedThreadId != threadId)
                throw new InvalidOperationException("A vmap must end on the thread that started it: functorch's layers are per thread.");
            if (NativeMethods.eqx_vmap_exit(Level) < 0) throw Tensor.Failure("vmap_exit", []);
        }
    }

    /// <summary>A Grad layer: inputs wrapped at its level record a graph of their own, inside any vmap.</summary>
    internal sealed class GradLayer : IDisposable
    {
        private readonly int threadId = Environment.CurrentManagedThreadId;
        private readonly bool previousGradMode;
        private bool closed;

        internal GradLayer()
        {
            previousGradMode = Torch.IsGradEnabled;
            Level = NativeMethods.eqx_grad_layer_enter();
            if (Level < 0) throw Tensor.Failure("grad_layer", []);
        }

        internal long Level { get; }

        internal Tensor Wrap(Tensor t, bool requiresGrad) =>
            Tensor.Wrap(NativeMethods.eqx_grad_layer_wrap(t, Level, requiresGrad ? 1 : 0), "grad_layer_wrap", t);

        internal Tensor Unwrap(Tensor t) => Tensor.Wrap(NativeMethods.eqx_grad_layer_unwrap(t, Level), "grad_layer_unwrap", t);

        /// <summary>Gradients of a scalar output with respect to wrapped inputs; zeros for inputs it does not use.</summary>
        internal unsafe Tensor[] Grad(Tensor output, Tensor[] inputs)
        {
            var ins = new IntPtr[inputs.Length];
            var outs = new IntPtr[inputs.Length];
            int status;
            using (new TensorUses(inputs, ins, nameof(inputs)))
            fixed (IntPtr* x = ins) fixed (IntPtr* g = outs)
                status = NativeMethods.eqx_grad_layer_grad(output, x, ins.Length, g);
            if (status < 0) throw Tensor.Failure("grad", [output, .. inputs]);
            var grads = new Tensor[outs.Length];
            for (int i = 0; i < grads.Length; i++) grads[i] = Tensor.Wrap(outs[i], "grad", output);
            return grads;
        }

        public void Dispose()
        {
            if (closed) return;
            closed = true;
            if (Environment.CurrentManagedThreadId != threadId)
                throw new InvalidOperationException("A gradient transform must end on the thread that started it: functorch's layers are per thread.");
            if (NativeMethods.eqx_grad_layer_exit(Level, previousGradMode ? 1 : 0) < 0)
                throw Tensor.Failure("grad_layer_exit", []);
        }
    }
}
