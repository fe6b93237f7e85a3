using System.Runtime.InteropServices;
using System.Runtime.InteropServices.Marshalling;

namespace Equinox.Tensors.Interop;

internal static unsafe partial class NativeMethods
{
    [LibraryImport(Library)] internal static partial IntPtr eqx_linear(Tensor input, Tensor weight, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? bias);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_convolution(Tensor input, Tensor weight, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? bias, long* stride, int nstride,
        long* padding, int npadding, long* dilation, int ndilation, int transposed, long* outputPadding,
        int noutputPadding, long groups);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_max_pool(Tensor x, long* kernel, int nkernel, long* stride, int nstride,
        long* padding, int npadding, long* dilation, int ndilation, int ceilMode);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_avg_pool(Tensor x, long* kernel, int nkernel, long* stride, int nstride,
        long* padding, int npadding, int ceilMode, int countIncludePad);
    [LibraryImport(Library)] internal static partial IntPtr eqx_adaptive_pool(Tensor x, long* output, int noutput, int max);
    [LibraryImport(Library)] internal static partial IntPtr eqx_pad(Tensor x, long* pad, int npad, int mode, double value);
    [LibraryImport(Library)] internal static partial IntPtr eqx_layer_norm(Tensor x, long* shape, int nshape, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? weight, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? bias, double eps);
    [LibraryImport(Library)] internal static partial IntPtr eqx_group_norm(Tensor x, long groups, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? weight, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? bias, double eps);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_batch_norm(Tensor x, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? weight, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? bias, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? runningMean,
        [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? runningVar, int training, double momentum, double eps);
    [LibraryImport(Library)] internal static partial IntPtr eqx_dropout(Tensor x, double p, ulong seed);
    [LibraryImport(Library)] internal static partial IntPtr eqx_embedding(Tensor weight, Tensor indices, long paddingIdx);
    [LibraryImport(Library)]
    internal static partial IntPtr eqx_cross_entropy(Tensor logits, Tensor target, [MarshalUsing(typeof(OptionalTensorMarshaller))] Tensor? weight, long reduction,
        long ignoreIndex, double labelSmoothing);
    [LibraryImport(Library)] internal static partial IntPtr eqx_mse_loss(Tensor input, Tensor target, long reduction);
    [LibraryImport(Library)] internal static partial IntPtr eqx_binary_cross_entropy_with_logits(Tensor input, Tensor target, long reduction);
}
