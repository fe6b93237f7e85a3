namespace Equinox.Tensors;

/// <summary>
/// How the tensor engine of this process is set up, as <see cref="Torch.Config"/> reads it. Its
/// <see cref="ToString"/> is one line for a program's header, e.g.
/// <c>LibTorch 1.13.0 · BLAS OpenBLAS (/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3) · 1 intra-op thread · no CUDA</c>.
/// </summary>
/// <param name="LibTorchVersion">The LibTorch version the shim was built against (<see cref="Torch.Version"/>).</param>
/// <param name="Blas">The BLAS library LibTorch's matrix multiplications run on.</param>
/// <param name="IntraOpThreads">Threads LibTorch uses for one op on the CPU (<see cref="Torch.NumThreads"/>).</param>
/// <param name="CudaDeviceCount">CUDA devices LibTorch can use (<see cref="Torch.CudaDeviceCount"/>).</param>
public sealed record TorchConfig(string LibTorchVersion, BlasLibrary Blas, int IntraOpThreads, int CudaDeviceCount)
{
    /// <summary>The configuration in one line.</summary>
    public override string ToString()
    {
        var threads = IntraOpThreads == 1 ? "1 intra-op thread" : $"{IntraOpThreads} intra-op threads";
        var cuda = CudaDeviceCount switch
        {
            0 => "no CUDA",
            1 => "1 CUDA device",
            _ => $"{CudaDeviceCount} CUDA devices",
        };
        return $"LibTorch {LibTorchVersion} · BLAS {Blas} · {threads} · {cuda}";
    }
}
