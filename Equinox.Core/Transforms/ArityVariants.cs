using Equinox.Transforms;

// FilterJitFunction<T1, ..., TResult> and the FilterValueAndGrad / FilterGrad / ...WithAux forms with more arguments
// than the model are not written by hand: Equinox.Generators' ArityGenerator writes them from one template per family
// (Equinox.Generators/FilterJitArityTemplate.cs, FilterGradArityTemplate.cs). These numbers say how many.
[assembly: ArityVariants(FilterJitArguments = 4, FilterGradExtraArguments = 3)]

namespace Equinox.Transforms;

/// <summary>
/// Asks Equinox.Generators for Equinox.Core's argument-count variants, up to the counts given. Internal, and read only
/// in an assembly named Equinox.Core, so projects that use Equinox get no such code.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
internal sealed class ArityVariantsAttribute : Attribute
{
    /// <summary>FilterJitFunction classes are generated for 1 up to this many arguments.</summary>
    public int FilterJitArguments { get; set; }

    /// <summary>FilterValueAndGrad, FilterGrad and their WithAux forms are generated for the model and 1 up to this many more arguments.</summary>
    public int FilterGradExtraArguments { get; set; }
}
