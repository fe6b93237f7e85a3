using Microsoft.CodeAnalysis;

namespace Equinox.Generators;

/// <summary>
/// How many argument-count variants Equinox.Core asks for, read from its
/// <c>[assembly: Equinox.Transforms.ArityVariants(...)]</c>. Equatable; holds no symbols.
/// </summary>
/// <param name="FilterJitArguments">FilterJitFunction classes are written for 1 up to this many arguments.</param>
/// <param name="FilterGradExtraArguments">
/// FilterValueAndGrad, FilterGrad and their WithAux forms are written for 1 up to this many arguments after the model
/// (the forms of the model alone are hand-written: they carry the documentation the variants point to).
/// </param>
internal sealed record ArityModel(int FilterJitArguments, int FilterGradExtraArguments)
{
    public const string Attribute = "Equinox.Transforms.ArityVariantsAttribute";

    /// <summary>Only Equinox.Core gets the variants: the attribute is internal to it, and users' projects never name it.</summary>
    public const string Assembly = "Equinox.Core";

    public static ArityModel? Parse(GeneratorAttributeSyntaxContext context)
    {
        var compilation = context.SemanticModel.Compilation;
        if (compilation.AssemblyName != Assembly || context.Attributes.Length == 0) return null;
        var attribute = context.Attributes[0];
        if (!SymbolEqualityComparer.Default.Equals(attribute.AttributeClass?.ContainingAssembly, compilation.Assembly)) return null;

        int jit = 0, grad = 0;
        foreach (var argument in attribute.NamedArguments)
        {
            if (argument.Value.Value is not int count) continue;
            if (argument.Key == "FilterJitArguments") jit = count;
            else if (argument.Key == "FilterGradExtraArguments") grad = count;
        }
        return new ArityModel(jit, grad);
    }
}
