using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace Equinox.Generators;

/// <summary>Turns a [Module] type symbol into an equatable <see cref="ModuleModel"/>; the only place symbols are read.</summary>
internal static class ModuleParser
{
    private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>The model, or null when no code can be generated (the analyzer reports why).</summary>
    public static ModuleModel? Parse(INamedTypeSymbol type, CancellationToken cancellation)
    {
        if (!ModuleRules.CanGenerate(type)) return null;
        bool positional = ModuleRules.IsPositionalRecord(type);

        cancellation.ThrowIfCancellationRequested();
        var fields = new List<FieldModel>();
        foreach (var (name, fieldType, declared, backing) in TreeTypes.DeclaredFields(type))
        {
            var classification = TreeTypes.HasStaticAttribute(declared) || TreeTypes.HasStaticAttribute(backing)
                ? new Classification(FieldRole.Static)
                : TreeTypes.Classify(fieldType);
            fields.Add(ToField(name, fieldType, classification));
        }

        var moduleBase = TreeTypes.ModuleBase(type);
        var containing = new List<ContainingTypeModel>();
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            containing.Insert(0, new ContainingTypeModel(TreeTypes.Keyword(outer), NameWithTypeParameters(outer)));

        var ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
        var nameWithParameters = NameWithTypeParameters(type);
        return new ModuleModel(
            Namespace: ns,
            Name: type.Name,
            NameWithTypeParameters: nameWithParameters,
            FullyQualifiedName: type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
            HintName: HintName(type),
            Keyword: type.IsRecord ? "record" : "class",
            ContainingTypes: containing.ToEquatableArray(),
            IsSealed: type.IsSealed,
            IsAbstract: type.IsAbstract,
            HasModuleBase: moduleBase is not null,
            BaseIsAbstractModule: moduleBase?.IsAbstract ?? false,
            Construction: positional ? ConstructionKind.RecordCopy : ConstructionKind.Constructor,
            DeclaresToString: type.GetMembers("ToString").OfType<IMethodSymbol>().Any(m => m.Parameters.Length == 0 && !m.IsImplicitlyDeclared),
            // The generated constructors would hide the implicit parameterless one, so it is written out.
            NeedsDefaultConstructor: !positional && type.InstanceConstructors.All(c => c.IsImplicitlyDeclared),
            ExistingMemberNames: type.GetMembers().Where(m => !m.IsImplicitlyDeclared).Select(m => m.Name).Distinct().OrderBy(n => n, System.StringComparer.Ordinal).ToEquatableArray(),
            Fields: fields.ToEquatableArray());
    }

    private static FieldModel ToField(string name, ITypeSymbol type, Classification classification) =>
        new(name, type.ToDisplayString(TypeFormat), classification.Role);

    private static string NameWithTypeParameters(INamedTypeSymbol type) =>
        type.TypeParameters.Length == 0 ? type.Name : $"{type.Name}<{string.Join(", ", type.TypeParameters.Select(p => p.Name))}>";

    private static string HintName(INamedTypeSymbol type)
    {
        var parts = new List<string>();
        for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
            parts.Insert(0, t.TypeParameters.Length == 0 ? t.Name : $"{t.Name}`{t.TypeParameters.Length}");
        if (!type.ContainingNamespace.IsGlobalNamespace) parts.Insert(0, type.ContainingNamespace.ToDisplayString());
        return string.Join(".", parts) + ".g.cs";
    }
}
