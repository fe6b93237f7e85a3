using Equinox.Tensors;

namespace Equinox.Transforms;

/// <summary>
/// What the running transformations have installed on this thread: one value, replaced as a whole by
/// <see cref="TransformContext.Install"/> and restored when its scope is disposed. Transformations run start to end on
/// one OS thread (grad mode, vmap layers and CUDA streams are per thread in LibTorch), so this state is too.
/// </summary>
/// <param name="ErrorRecording">
/// Where <see cref="Eqx.ErrorIf"/> records its checks instead of checking eagerly: a CUDA capture's list or the
/// innermost FilterVmap's; null outside both.
/// </param>
/// <param name="VmapRecording">The list the innermost running FilterVmap records into; null outside any FilterVmap.</param>
/// <param name="ScanLowering">The Scan lowering a capturing compiled region installed, if any.</param>
/// <param name="GradDepth">
/// How many FilterGrad forwards are running on this thread: inside one, a gradient is built with create_graph so the
/// enclosing one can differentiate it again.
/// </param>
/// <param name="NamedAxes">
/// The named FilterVmaps running on this thread, innermost first, for the collectives (<see cref="Eqx.Psum(Equinox.Tensors.Tensor, string)"/>)
/// to find their axis by name; null outside any.
/// </param>
/// <param name="JvpLevel">
/// The forward-AD level of the FilterJvp running on this thread (its inputs are dual tensors at it); null outside one.
/// </param>
internal readonly record struct TransformState(
    List<ErrorCheck>? ErrorRecording,
    List<ErrorCheck>? VmapRecording,
    IScanLowering? ScanLowering,
    int GradDepth,
    VmapAxisName? NamedAxes = null,
    DualLevel? JvpLevel = null);

/// <summary>
/// The one per-thread slot for the state transformations install for the length of a call (<see cref="TransformState"/>),
/// and the one way to install it: <c>using (TransformContext.Install(TransformContext.Current with { ... }))</c>, which
/// restores the previous state on every exit, a throw included.
/// </summary>
internal static class TransformContext
{
    [ThreadStatic] private static TransformState current;

    /// <summary>The state in force on this thread.</summary>
    internal static TransformState Current => current;

    /// <summary>Makes <paramref name="state"/> this thread's state until the result is disposed.</summary>
    internal static Scope Install(TransformState state)
    {
        var previous = current;
        current = state;
        return new Scope(previous);
    }

    /// <summary>
    /// Replaces the state without a scope to restore it. Only for tests that set a field by hand and clear it in a
    /// <c>finally</c>; the runtime installs with <see cref="Install"/>.
    /// </summary>
    internal static void Set(TransformState state) => current = state;

    /// <summary>Restores the state that <see cref="Install"/> replaced.</summary>
    internal readonly struct Scope(TransformState previous) : IDisposable
    {
        public void Dispose() => current = previous;
    }
}
