using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Equinox.Generators;

/// <summary>The result of classifying a field's type: its role, or why the generator cannot handle it.</summary>
internal readonly record struct Classification(FieldRole Role, string? Problem = null);

/// <summary>
/// The field rules of a module (docs/trees.md, "Modules and trees"): tensors, modules and the collections of them that
/// <c>Equinox.TreeChildren</c> takes are children; everything else is static; a type that holds tensors without being
/// a module cannot be handled. Shared by the generator and the analyzer.
/// </summary>
internal static class TreeTypes
{
    /// <summary>The keyword that declares <paramref name="type"/>, for partial declarations and messages.</summary>
    public static string Keyword(INamedTypeSymbol type) => type switch
    {
        { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
        { IsRecord: true } => "record",
        { TypeKind: TypeKind.Struct } => "struct",
        { TypeKind: TypeKind.Interface } => "interface",
        _ => "class",
    };

    public const string ModuleAttribute = "Equinox.ModuleAttribute";
    public const string StaticAttribute = "Equinox.StaticAttribute";

    public static bool IsTensor(ITypeSymbol type) =>
        type.Name == "Tensor" && type.ContainingNamespace?.ToDisplayString() == "Equinox.Tensors";

    public static bool IsTreeNodeInterface(ITypeSymbol type) =>
        type.Name == "ITreeNode" && type.TypeKind == TypeKind.Interface && type.ContainingNamespace?.ToDisplayString() == "Equinox";

    public static bool HasModuleAttribute(ITypeSymbol type) =>
        type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == ModuleAttribute);

    public static bool HasStaticAttribute(ISymbol symbol) =>
        symbol.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == StaticAttribute);

    /// <summary>A module: marked [Module] (itself or a base), or implementing ITreeNode, or a type parameter constrained to one.</summary>
    public static bool IsModule(ITypeSymbol type)
    {
        if (type is ITypeParameterSymbol parameter)
            return parameter.ConstraintTypes.Any(IsModule);
        if (IsTreeNodeInterface(type) || type.AllInterfaces.Any(IsTreeNodeInterface)) return true;
        for (var t = type; t is not null; t = t.BaseType)
            if (HasModuleAttribute(t)) return true;
        return false;
    }

    public static Classification Classify(ITypeSymbol type)
    {
        if (type.TypeKind == TypeKind.Dynamic || type.SpecialType == SpecialType.System_Object)
            return Problem($"its type '{type.ToDisplayString()}' could hold anything, so the generator cannot tell whether it is a child");
        if (IsTensor(type)) return new(FieldRole.Tensor);
        if (IsModule(type)) return new(FieldRole.Module);
        if (type is ITypeParameterSymbol)
            return Problem($"its type is the type parameter '{type.Name}', which could be a tensor, a module or neither; constrain it with 'where {type.Name} : ITreeNode'");

        if (type is IArrayTypeSymbol array)
            return Collection(array.ElementType, array.Rank == 1 ? null : "a multi-dimensional array");

        if (type is INamedTypeSymbol { IsGenericType: true } named)
        {
            var definition = named.OriginalDefinition.ToDisplayString();
            switch (definition)
            {
                case "System.Collections.Immutable.ImmutableArray<T>":
                case "System.Collections.Generic.IReadOnlyList<T>":
                    return Collection(named.TypeArguments[0], null);
                case "System.Collections.Immutable.ImmutableDictionary<TKey, TValue>":
                    return named.TypeArguments[0].SpecialType == SpecialType.System_String
                        ? Collection(named.TypeArguments[1], null)
                        : Collection(named.TypeArguments[1], "a dictionary whose keys are not strings");
            }
        }

        if (type.TypeKind == TypeKind.Delegate || type.TypeKind == TypeKind.Enum || type.SpecialType != SpecialType.None)
            return new(FieldRole.Static);

        // A collection type the generator does not take (List<T>, Dictionary<K,V>, ImmutableList<T>, ...).
        foreach (var face in type.AllInterfaces.Concat(type is INamedTypeSymbol { TypeKind: TypeKind.Interface } self ? new[] { self } : new INamedTypeSymbol[0]))
        {
            if (face.OriginalDefinition.ToDisplayString() == "System.Collections.Generic.IEnumerable<T>" && HoldsTree(face.TypeArguments[0]))
                return Problem($"its type '{type.ToDisplayString()}' is a collection of tensors or modules that the generator does not take; " +
                               "use T[], ImmutableArray<T>, IReadOnlyList<T> or ImmutableDictionary<string, T>");
        }

        if (HoldsTensorFields(type))
            return Problem($"its type '{type.ToDisplayString()}' holds tensors or modules but is not a module, so they would be invisible to the tree; " +
                           "mark that type [Module] and partial");
        return new(FieldRole.Static);
    }

    private static Classification Collection(ITypeSymbol element, string? unsupported)
    {
        bool tensor = IsTensor(element);
        bool module = !tensor && IsModule(element);
        if (!tensor && !module)
        {
            if (HoldsTree(element) || element.SpecialType == SpecialType.System_Object || element.TypeKind == TypeKind.Dynamic)
                return Problem($"its elements ('{element.ToDisplayString()}') are not tensors or modules; nested collections and " +
                               "object elements cannot be children: wrap the inner collection in a [Module]");
            return new(FieldRole.Static);
        }
        if (unsupported is not null)
            return Problem($"it is {unsupported}; use T[], ImmutableArray<T>, IReadOnlyList<T> or ImmutableDictionary<string, T>");
        return new(FieldRole.Collection);
    }

    private static Classification Problem(string text) => new(FieldRole.Static, Problem: text);

    /// <summary>Whether a type is or contains (as a collection or via its fields) tensors or modules.</summary>
    private static bool HoldsTree(ITypeSymbol type)
    {
        if (IsTensor(type) || IsModule(type)) return true;
        if (type is IArrayTypeSymbol array) return HoldsTree(array.ElementType);
        if (type is INamedTypeSymbol named && named.TypeArguments.Any(HoldsTree)) return true;
        return false;
    }

    // One level deep: the instance fields of a class or struct (as far as they are visible).
    private static bool HoldsTensorFields(ITypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class && type.TypeKind != TypeKind.Struct) return false;
        if (type is INamedTypeSymbol { IsGenericType: true } named && named.TypeArguments.Any(HoldsTree)) return true;
        for (var t = type; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            foreach (var member in t.GetMembers())
            {
                var memberType = member switch
                {
                    IFieldSymbol { IsStatic: false } f => f.Type,
                    IPropertySymbol { IsStatic: false, IsIndexer: false } p => p.Type,
                    _ => null,
                };
                if (memberType is not null && (IsTensor(memberType) || IsModule(memberType) || memberType is IArrayTypeSymbol a && HoldsTree(a.ElementType)))
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The instance fields and auto-properties a type declares itself, in declaration order, with the symbol that
    /// carries their attributes (the property for an auto-property).
    /// </summary>
    public static IReadOnlyList<(string Name, ITypeSymbol Type, ISymbol Declared, IFieldSymbol Field)> DeclaredFields(INamedTypeSymbol type)
    {
        var result = new List<(string, ITypeSymbol, ISymbol, IFieldSymbol, Location?)>();
        foreach (var member in type.GetMembers())
        {
            if (member is not IFieldSymbol { IsStatic: false, IsConst: false } field) continue;
            switch (field.AssociatedSymbol)
            {
                case IPropertySymbol property:
                    result.Add((property.Name, property.Type, property, field, property.Locations.FirstOrDefault()));
                    break;
                case null when !field.IsImplicitlyDeclared && field.CanBeReferencedByName:
                    result.Add((field.Name, field.Type, field, field, field.Locations.FirstOrDefault()));
                    break;
            }
        }
        return result
            .OrderBy(f => f.Item5?.SourceTree?.FilePath ?? "", System.StringComparer.Ordinal)
            .ThenBy(f => f.Item5?.SourceSpan.Start ?? 0)
            .Select(f => (f.Item1, f.Item2, f.Item3, f.Item4))
            .ToList();
    }

    /// <summary>
    /// Whether no instance of <paramref name="type"/> can hold a tensor: a sealed type whose instance fields, base
    /// classes included, are all static (an activation, say). Equinox counts only nodes with leaves as duplicates, so
    /// such a module may be stored twice; an unsealed one may not, since a subclass could add a tensor.
    /// </summary>
    public static bool CannotHoldTensors(ITypeSymbol type)
    {
        if (type is not INamedTypeSymbol { IsSealed: true } named) return false;
        for (INamedTypeSymbol? t = named; t is not null; t = t.BaseType)
        {
            foreach (var field in DeclaredFields(t))
                if (!HasStaticAttribute(field.Declared) && Classify(field.Type).Role != FieldRole.Static) return false;
        }
        return true;
    }

    /// <summary>The nearest base type that is a module, if any.</summary>
    public static INamedTypeSymbol? ModuleBase(INamedTypeSymbol type)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
            if (HasModuleAttribute(t)) return t;
        return null;
    }
}
