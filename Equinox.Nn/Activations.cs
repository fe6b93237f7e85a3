using Equinox.Torch;

namespace Equinox.Nn;

/// <summary>
/// Activation functions as shared delegate instances. Store these (not fresh lambdas) in a module's static part so two
/// models built the same way compare equal, which keeps FilterJit's cache hitting.
/// </summary>
public static class Activations
{
    /// <summary>max(x, 0).</summary>
    public static readonly Func<Tensor, Tensor> Relu = static x => x.Relu();

    /// <summary>The hyperbolic tangent.</summary>
    public static readonly Func<Tensor, Tensor> Tanh = static x => x.Tanh();

    /// <summary>The logistic sigmoid.</summary>
    public static readonly Func<Tensor, Tensor> Sigmoid = static x => x.Sigmoid();

    /// <summary>GELU (exact, erf-based).</summary>
    public static readonly Func<Tensor, Tensor> Gelu = static x => x.Gelu();

    /// <summary>x * sigmoid(x).</summary>
    public static readonly Func<Tensor, Tensor> Silu = static x => x.Silu();

    /// <summary>The input itself, as a new handle (so callers may dispose results uniformly).</summary>
    public static readonly Func<Tensor, Tensor> Identity = static x => x.Alias();
}
