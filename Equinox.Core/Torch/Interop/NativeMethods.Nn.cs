using System.Runtime.InteropServices;

namespace Equinox.Torch.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_convolution(IntPtr input, IntPtr weight, IntPtr bias, long* stride, int nstride,
        long* padding, int npadding, long* dilation, int ndilation, int transposed, long* outputPadding,
        int noutputPadding, long groups);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_max_pool(IntPtr x, long* kernel, int nkernel, long* stride, int nstride,
        long* padding, int npadding, long* dilation, int ndilation, int ceilMode);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_avg_pool(IntPtr x, long* kernel, int nkernel, long* stride, int nstride,
        long* padding, int npadding, int ceilMode, int countIncludePad);
    [LibraryImport(Library)] internal static partial IntPtr eqx_adaptive_pool(IntPtr x, long* output, int noutput, int max);
    [LibraryImport(Library)] internal static partial IntPtr eqx_layer_norm(IntPtr x, long* shape, int nshape, IntPtr weight, IntPtr bias, double eps);
    [LibraryImport(Library)] internal static partial IntPtr eqx_group_norm(IntPtr x, long groups, IntPtr weight, IntPtr bias, double eps);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_batch_norm(IntPtr x, IntPtr weight, IntPtr bias, IntPtr runningMean,
        IntPtr runningVar, int training, double momentum, double eps);
    [LibraryImport(Library)] internal static partial IntPtr eqx_dropout(IntPtr x, double p, ulong seed);
    [LibraryImport(Library)] internal static partial IntPtr eqx_embedding(IntPtr weight, IntPtr indices, long paddingIdx);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_cross_entropy(IntPtr logits, IntPtr target, IntPtr weight, long reduction,
        long ignoreIndex, double labelSmoothing);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mse_loss(IntPtr input, IntPtr target, long reduction);
    [LibraryImport(Library)] internal static partial IntPtr eqx_binary_cross_entropy_with_logits(IntPtr input, IntPtr target, long reduction);
}
