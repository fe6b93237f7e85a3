using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

public class BlasTests
{
    [TestCase("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", BlasKind.Reference)]
    [TestCase("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0", BlasKind.Reference)]
    [TestCase("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", BlasKind.OpenBlas)]
    [TestCase("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", BlasKind.OpenBlas)]
    [TestCase("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so", BlasKind.OpenBlas)]
    [TestCase("/opt/intel/oneapi/mkl/latest/lib/intel64/libmkl_rt.so.2", BlasKind.Mkl)]
    [TestCase("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3", BlasKind.Blis)]
    [TestCase("/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3", BlasKind.Atlas)]
    [TestCase("/opt/vendor/lib/libblas.so.3", BlasKind.Unknown)]
    public void ALibraryPathIsClassifiedByItsName(string path, BlasKind expected) =>
        Assert.That(BlasLibrary.Classify(path), Is.EqualTo(expected));

    [Test]
    public void TheReferenceBlasIsTheOnlyOneThatWarrantsTheWarning()
    {
        Assert.That(new BlasLibrary(BlasKind.Reference, "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3").IsReference);
        Assert.That(new BlasLibrary(BlasKind.OpenBlas, "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3").IsReference,
            Is.False);
    }

    [Test]
    public void TheWarningIsOneLineNamingThePackageAndTheSwitch()
    {
        var text = BlasLibrary.ReferenceWarning("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3");
        Assert.That(text, Does.Not.Contain('\n'));
        Assert.That(text, Does.Contain("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"));
        Assert.That(text, Does.Contain("sudo apt-get install libopenblas0-openmp"));
        Assert.That(text, Does.Contain("EQUINOX_NO_BLAS_WARNING=1"));
    }

    [Test]
    public void MapsListingsGiveTheFileNamedLibblasFirst()
    {
        string[] maps =
        [
            "7f00 r--p 00000000 08:01 11 /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so",
            "7f10 r-xp 00000000 08:01 12 /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3",
            "7f20 rw-p 00000000 00:00 0 ",
            "7f30 rw-p 00000000 00:00 0 [heap]",
        ];
        Assert.That(BlasLibrary.FindInMaps(maps), Is.EqualTo("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"));
        Assert.That(BlasLibrary.FindInMaps(maps[..1]),
            Is.EqualTo("/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so"));
        Assert.That(BlasLibrary.FindInMaps(maps[2..]), Is.Null);
    }

    [Test]
    public void TheBlasDetectedIsTheOneMappedIntoThisProcessOnceLibTorchIsLoaded()
    {
        _ = Torch.Version;   // loads the shim, LibTorch and the libblas.so.3 it links to
        var mapped = BlasLibrary.FindInMaps(File.ReadAllLines("/proc/self/maps"));
        Assert.That(mapped, Is.Not.Null, "LibTorch is loaded, so its libblas.so.3 should be mapped.");
        var blas = BlasLibrary.Detect();
        Assert.That(blas.Path, Is.EqualTo(mapped));
        Assert.That(blas.Kind, Is.EqualTo(BlasLibrary.Classify(mapped!)));
        Assert.That(File.Exists(blas.Path));
    }

    [Test]
    public void ConfigAgreesWithTheProcess()
    {
        var config = Torch.Config;
        Assert.That(config.LibTorchVersion, Is.EqualTo(Torch.Version));
        Assert.That(config.LibTorchVersion, Does.Match(@"^\d+\.\d+"));
        Assert.That(config.IntraOpThreads, Is.EqualTo(Torch.NumThreads));
        Assert.That(config.CudaDeviceCount, Is.EqualTo(Torch.CudaDeviceCount));
        Assert.That(config.Blas, Is.EqualTo(BlasLibrary.Detect()));
    }

    [Test]
    public void ConfigPrintsOneLine()
    {
        var blas = new BlasLibrary(BlasKind.OpenBlas, "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3");
        Assert.That(new TorchConfig("1.13.0", blas, 1, 0).ToString(), Is.EqualTo(
            "LibTorch 1.13.0 · BLAS OpenBLAS (/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3) · " +
            "1 intra-op thread · no CUDA"));
        Assert.That(new TorchConfig("2.4.0", blas, 8, 2).ToString(), Does.EndWith("8 intra-op threads · 2 CUDA devices"));
        Assert.That(Torch.Config.ToString(), Does.Not.Contain('\n'));
    }
}
