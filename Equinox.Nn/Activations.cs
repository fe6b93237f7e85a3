using Equinox.Tensors;

namespace Equinox.Nn;

/// <summary>
/// Activation functions as shared delegate instances. Store these (not fresh lambdas) in a module's static part so two
/// models built the same way compare equal, which keeps FilterJit's cache hitting; they print as <c>&lt;function Relu&gt;</c>.
/// </summary>
public static class Activations
{
    /// <summary>max(x, 0).</summary>
    public static readonly Func<Tensor, Tensor> Relu = Functions.Relu;

    /// <summary>The hyperbolic tangent.</summary>
    public static readonly Func<Tensor, Tensor> Tanh = Functions.Tanh;

    /// <summary>The logistic sigmoid.</summary>
    public static readonly Func<Tensor, Tensor> Sigmoid = Functions.Sigmoid;

    /// <summary>GELU (exact, erf-based).</summary>
    public static readonly Func<Tensor, Tensor> Gelu = Functions.Gelu;

    /// <summary>x * sigmoid(x).</summary>
    public static readonly Func<Tensor, Tensor> Silu = Functions.Silu;

    /// <summary>The input itself, as a new handle (so callers may dispose results uniformly).</summary>
    public static readonly Func<Tensor, Tensor> Identity = Functions.Identity;

    // Named methods, so a printed module shows the activation's name rather than a compiler-generated lambda name.
    private static class Functions
    {
        public static Tensor Relu(Tensor x) => x.Relu();
        public static Tensor Tanh(Tensor x) => x.Tanh();
        public static Tensor Sigmoid(Tensor x) => x.Sigmoid();
        public static Tensor Gelu(Tensor x) => x.Gelu();
        public static Tensor Silu(Tensor x) => x.Silu();
        public static Tensor Identity(Tensor x) => x.Alias();
    }
}
