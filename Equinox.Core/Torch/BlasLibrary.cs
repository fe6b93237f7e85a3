namespace Equinox.Tensors;

/// <summary>Which implementation of the BLAS interface LibTorch's matrix multiplications run on.</summary>
public enum BlasKind
{
    /// <summary>No BLAS library was found, or it is not one of the names below.</summary>
    Unknown,

    /// <summary>The Netlib reference BLAS (Debian's <c>libblas3</c>): correct, single-threaded and 15-25x slower.</summary>
    Reference,

    /// <summary>OpenBLAS (Debian's <c>libopenblas0-openmp</c>, <c>-pthread</c> or <c>-serial</c>).</summary>
    OpenBlas,

    /// <summary>Intel's oneAPI Math Kernel Library.</summary>
    Mkl,

    /// <summary>BLIS (Debian's <c>libblis4</c>).</summary>
    Blis,

    /// <summary>ATLAS (Debian's <c>libatlas3-base</c>).</summary>
    Atlas,
}

/// <summary>
/// The BLAS library behind <c>libblas.so.3</c>, which Debian's LibTorch calls for matrix multiplications:
/// <paramref name="Kind"/> says which implementation it is and <paramref name="Path"/> is its file with symlinks
/// resolved (null when none was found).
/// </summary>
/// <param name="Kind">Which implementation the library is.</param>
/// <param name="Path">The library's file, symlinks resolved; null when no BLAS was found.</param>
public sealed record BlasLibrary(BlasKind Kind, string? Path)
{
    /// <summary>The command that installs the optimised BLAS the project uses.</summary>
    public const string InstallCommand = "sudo apt-get install libopenblas0-openmp";

    /// <summary>The environment variable that, set to <c>1</c>, silences the warning about the reference BLAS.</summary>
    public const string SilenceVariable = "EQUINOX_NO_BLAS_WARNING";

    private static BlasLibrary? mapped;

    /// <summary>Whether this is the slow reference BLAS.</summary>
    public bool IsReference => Kind == BlasKind.Reference;

    /// <summary>The implementation's name, e.g. <c>OpenBLAS</c>.</summary>
    public string Name => Kind switch
    {
        BlasKind.Reference => "reference",
        BlasKind.OpenBlas => "OpenBLAS",
        BlasKind.Mkl => "MKL",
        BlasKind.Blis => "BLIS",
        BlasKind.Atlas => "ATLAS",
        _ => "unknown",
    };

    /// <summary>The name and file in one phrase, e.g. <c>OpenBLAS (/usr/lib/.../libblas.so.3)</c>.</summary>
    public override string ToString() => Path is null ? $"{Name} (not found)" : $"{Name} ({Path})";

    /// <summary>
    /// Which BLAS the library file at <paramref name="path"/> is, judged by its name: a path containing
    /// <c>openblas</c>, <c>mkl</c>, <c>blis</c> or <c>atlas</c> names that implementation; <c>/blas/libblas.so</c>
    /// (Debian's <c>libblas3</c>) is the reference one; anything else is <see cref="BlasKind.Unknown"/>. The path is
    /// taken as given: resolve symlinks first (an alternatives link such as <c>/usr/lib/x86_64-linux-gnu/libblas.so.3</c>
    /// says nothing by its name).
    /// </summary>
    public static BlasKind Classify(string path)
    {
        var p = path.ToLowerInvariant();
        if (p.Contains("openblas")) return BlasKind.OpenBlas;
        if (p.Contains("mkl")) return BlasKind.Mkl;
        if (p.Contains("blis")) return BlasKind.Blis;
        if (p.Contains("atlas")) return BlasKind.Atlas;
        if (p.Contains("/blas/libblas.so")) return BlasKind.Reference;
        return BlasKind.Unknown;
    }

    /// <summary>
    /// The BLAS this process uses: the file mapped for <c>libblas.so</c> (or failing that an OpenBLAS, MKL, BLIS or
    /// ATLAS library) in <c>/proc/self/maps</c>, which is there as soon as LibTorch is loaded; before that, the file
    /// the dynamic loader would pick for <c>libblas.so.3</c> from the system library folders.
    /// </summary>
    public static BlasLibrary Detect()
    {
        if (mapped is not null) return mapped;
        var path = FindInMaps(ReadMaps());
        if (path is not null) return mapped = new BlasLibrary(Classify(path), path);
        path = FindOnLoaderPath();
        return new BlasLibrary(path is null ? BlasKind.Unknown : Classify(path), path);
    }

    /// <summary>
    /// The BLAS file among the mapped files of a <c>/proc/&lt;pid&gt;/maps</c> listing: one named <c>libblas.so*</c>
    /// (the name LibTorch links to) first, then one named after an optimised implementation; null if none.
    /// </summary>
    internal static string? FindInMaps(IEnumerable<string> mapsLines)
    {
        string? other = null;
        foreach (var line in mapsLines)
        {
            // "address perms offset dev inode path": the path is the sixth field and may contain spaces.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || !fields[5].StartsWith('/')) continue;
            var file = fields[5].Trim();
            var name = System.IO.Path.GetFileName(file).ToLowerInvariant();
            if (name.StartsWith("libblas.so")) return file;
            if (other is null && name.StartsWith("lib") && name.Contains(".so")
                && (name.Contains("openblas") || name.StartsWith("libmkl_rt") || name.StartsWith("libblis")
                    || name.Contains("atlas")))
                other = file;
        }
        return other;
    }

    private static IEnumerable<string> ReadMaps()
    {
        try
        {
            return File.ReadAllLines("/proc/self/maps");
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }

    // The folders Debian's loader searches for libblas.so.3 (through ld.so.cache, which lists these); the first hit
    // with its symlinks resolved, so that the alternatives link names the library it points at.
    private static string? FindOnLoaderPath()
    {
        var triplet = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "x86_64-linux-gnu",
            System.Runtime.InteropServices.Architecture.Arm64 => "aarch64-linux-gnu",
            _ => null,
        };
        string[] folders = triplet is null
            ? ["/usr/lib", "/lib", "/usr/lib64"]
            : [$"/usr/lib/{triplet}", $"/lib/{triplet}", "/usr/lib", "/lib", "/usr/lib64"];
        foreach (var folder in folders)
        {
            var candidate = System.IO.Path.Combine(folder, "libblas.so.3");
            if (!File.Exists(candidate)) continue;
            try
            {
                return File.ResolveLinkTarget(candidate, returnFinalTarget: true)?.FullName ?? candidate;
            }
            catch (IOException)
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// Writes one warning line to standard error when the BLAS in use is the reference one, unless
    /// <see cref="SilenceVariable"/> is set. Called once, when the LibTorch shim is loaded.
    /// </summary>
    internal static void WarnIfReference()
    {
        var value = Environment.GetEnvironmentVariable(SilenceVariable);
        if (!string.IsNullOrEmpty(value) && value != "0") return;
        var blas = Detect();
        if (blas.IsReference) Console.Error.WriteLine(ReferenceWarning(blas.Path!));
    }

    /// <summary>The warning written when the reference BLAS at <paramref name="path"/> is in use.</summary>
    internal static string ReferenceWarning(string path) =>
        $"Equinox warning: LibTorch is using the reference BLAS ({path}), whose matrix multiplications are 15-25x " +
        $"slower than OpenBLAS's; install OpenBLAS with: {InstallCommand} " +
        $"(or set {SilenceVariable}=1 to silence this warning).";
}
