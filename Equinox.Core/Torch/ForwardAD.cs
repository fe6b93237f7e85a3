using Equinox.Tensors.Interop;

namespace Equinox.Tensors;

/// <summary>
/// LibTorch's forward-mode AD (Python's <c>torch.autograd.forward_ad</c>): a dual level, and dual tensors that carry a
/// tangent at that level through every op with a forward formula. The transformations build <c>Eqx.FilterJvp</c> on it.
/// </summary>
internal static class ForwardAD
{
    /// <summary>Enters a new dual level; disposing the result exits it, turning its dual tensors into plain ones.</summary>
    internal static DualLevel Enter()
    {
        long level = NativeMethods.eqx_enter_dual_level();
        if (level < 0) throw new TorchException("enter_dual_level", [], NativeMethods.LastError());
        return new DualLevel(level);
    }

    /// <summary>A view of <paramref name="primal"/> carrying <paramref name="tangent"/> at <paramref name="level"/>.</summary>
    internal static Tensor MakeDual(Tensor primal, Tensor tangent, DualLevel level) =>
        Tensor.Wrap(NativeMethods.eqx_make_dual(primal, tangent, level.Index), "make_dual", primal, tangent);

    /// <summary>The primal (without tangent) and the tangent at <paramref name="level"/>, null when it has none.</summary>
    internal static (Tensor Primal, Tensor? Tangent) UnpackDual(Tensor dual, DualLevel level)
    {
        int status = NativeMethods.eqx_unpack_dual(dual, level.Index, out var primal, out var tangent);
        Tensor.Check(status, "unpack_dual", dual);
        return (Tensor.Wrap(primal, "unpack_dual", dual), Tensor.WrapOptional(tangent));
    }
}

/// <summary>A forward-AD level, exited when disposed (on every exit path, a throw included).</summary>
internal sealed class DualLevel : IDisposable
{
    private bool exited;

    internal DualLevel(long index) => Index = index;

    /// <summary>LibTorch's index of the level.</summary>
    internal long Index { get; }

    /// <summary>Exits the level.</summary>
    public void Dispose()
    {
        if (exited) return;
        exited = true;
        if (NativeMethods.eqx_exit_dual_level(Index) < 0)
            throw new TorchException("exit_dual_level", [], NativeMethods.LastError());
    }
}
