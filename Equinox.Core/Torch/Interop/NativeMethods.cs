using System.Reflection;
using System.Runtime.InteropServices;

namespace Equinox.Tensors.Interop;

/// <summary>
/// Entry points of the C shim over LibTorch (Equinox.Core/Native). Tensor arguments are declared as
/// <see cref="Tensor"/> and cross as their <c>at::Tensor*</c> through <see cref="TensorMarshaller"/>, which holds a use
/// of each for the length of the call; arrays of handles are built under <see cref="TensorUses"/>. Results come back as
/// raw pointers for <see cref="Tensor"/> to own. One partial file per area, mirroring the shim's source files.
/// </summary>
internal static partial class NativeMethods
{
    internal const string Library = "equinox_native";

    // Runs before the first native call of any area.
    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);

    // The shim is copied next to Equinox.Core.dll by the build; LibTorch is found through the shim's RPATH or the
    // system loader path. A failure names what to install instead of a bare DllNotFoundException.
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library) return IntPtr.Zero;
        var path = Path.Combine(AppContext.BaseDirectory, "libequinox_native.so");
        if (NativeLibrary.TryLoad(path, out var handle)) return Loaded(handle);
        if (NativeLibrary.TryLoad(Library, assembly, searchPath, out handle)) return Loaded(handle);
        try
        {
            return NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException(
                $"Equinox could not load its LibTorch shim from '{path}': {e.Message} " +
                "The shim is built by `dotnet build` and needs LibTorch at run time: sudo apt-get install libtorch-dev libopenblas0-openmp.", e);
        }
    }

    private static int blasChecked;

    // The shim and LibTorch (with the libblas.so.3 it links to) are mapped now: warn once, off every op's path, if
    // that BLAS is the slow reference one. The resolver may run once per entry point; the check runs once.
    private static IntPtr Loaded(IntPtr handle)
    {
        if (Interlocked.Exchange(ref blasChecked, 1) == 0) BlasLibrary.WarnIfReference();
        return handle;
    }

    [LibraryImport(Library)] internal static partial IntPtr eqx_last_error();
    [LibraryImport(Library)] internal static partial IntPtr eqx_torch_version();
    [LibraryImport(Library)] internal static partial int eqx_cuda_device_count();

    internal static string LastError() => Marshal.PtrToStringUTF8(eqx_last_error()) ?? "";
}
