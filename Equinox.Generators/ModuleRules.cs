using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Equinox.Generators;

/// <summary>
/// The rules a [Module] declaration must follow for code to be generated at all: partial itself and in every containing
/// type, and no primary constructor except on a positional record at the root of a hierarchy. The one place they are
/// written: the analyzer reports what <see cref="Check"/> returns and the parser generates nothing when it returns
/// anything, so the two cannot disagree.
/// </summary>
internal static class ModuleRules
{
    /// <summary>The broken rules of <paramref name="type"/>'s declaration, lazily (the parser stops at the first).</summary>
    public static IEnumerable<Diagnostic> Check(INamedTypeSymbol type)
    {
        var location = type.Locations.FirstOrDefault() ?? Location.None;
        if (!IsPartial(type))
            yield return Diagnostic.Create(DiagnosticDescriptors.ModuleNotPartial, location, type.Name, type.IsRecord ? "record" : "class");
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            if (!IsPartial(outer))
                yield return Diagnostic.Create(DiagnosticDescriptors.ContainingTypeNotPartial, outer.Locations[0], outer.Name, type.Name, TreeTypes.Keyword(outer));
        }
        if (HasParameterList(type))
        {
            if (!type.IsRecord)
                yield return Diagnostic.Create(DiagnosticDescriptors.PrimaryConstructorNotSupported, location, type.Name, "is a class with a primary constructor");
            else if (TreeTypes.ModuleBase(type) is { } moduleBase)
                yield return Diagnostic.Create(DiagnosticDescriptors.PrimaryConstructorNotSupported, location, type.Name, $"is a positional record deriving from the module '{moduleBase.Name}'");
        }
    }

    /// <summary>Whether code can be generated for <paramref name="type"/>: a class or record that breaks no rule.</summary>
    /// <remarks>[Module] on anything but a class is the compiler's error (the attribute targets classes only).</remarks>
    public static bool CanGenerate(INamedTypeSymbol type) => type.TypeKind == TypeKind.Class && !Check(type).Any();

    /// <summary>A positional record: its generated constructors chain to the record's copy constructor.</summary>
    public static bool IsPositionalRecord(INamedTypeSymbol type) => type.IsRecord && HasParameterList(type);

    private static bool IsPartial(INamedTypeSymbol type) =>
        type.DeclaringSyntaxReferences.Length > 0 &&
        type.DeclaringSyntaxReferences.All(r => r.GetSyntax() is TypeDeclarationSyntax t && t.Modifiers.Any(SyntaxKind.PartialKeyword));

    private static bool HasParameterList(INamedTypeSymbol type) =>
        type.DeclaringSyntaxReferences.Any(r => r.GetSyntax() is TypeDeclarationSyntax { ParameterList: not null });
}
