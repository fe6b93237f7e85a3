using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Equinox.Generators;

/// <summary>
/// Reports the mistakes in module declarations (EQX0001–EQX0007, EQX0009, EQX0010) and, through
/// <see cref="SharedObjectWalker"/>, the same object stored twice (EQX0008) and a module that stores itself (EQX0011).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ModuleAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.All);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterSymbolAction(AnalyzeType, SymbolKind.NamedType);
        context.RegisterSyntaxNodeAction(SharedObjectWalker.AnalyzeConstructor, SyntaxKind.ConstructorDeclaration);
        context.RegisterSyntaxNodeAction(SharedObjectWalker.AnalyzeInitializer, SyntaxKind.ObjectInitializerExpression);
    }

    private static void AnalyzeType(SymbolAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (!TreeTypes.HasModuleAttribute(type))
        {
            var moduleBase = TreeTypes.ModuleBase(type);
            if (moduleBase is not null && type.DeclaringSyntaxReferences.Length > 0)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.DerivedTypeNotModule, type.Locations[0], type.Name, moduleBase.Name));
            return;
        }

        foreach (var broken in ModuleRules.Check(type)) context.ReportDiagnostic(broken);

        var location = type.Locations.FirstOrDefault() ?? Location.None;
        foreach (var (name, fieldType, declared, backing) in TreeTypes.DeclaredFields(type))
        {
            var fieldLocation = declared.Locations.FirstOrDefault() ?? location;
            bool isStatic = TreeTypes.HasStaticAttribute(declared) || TreeTypes.HasStaticAttribute(backing);
            if (isStatic)
            {
                if (TreeTypes.IsTensor(fieldType))
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StaticTensor, fieldLocation, name));
                continue;
            }
            var classification = TreeTypes.Classify(fieldType);
            if (classification.Problem is { } problem)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnsupportedChildType, fieldLocation, name, type.Name, problem));
                continue;
            }
            if (classification.Role == FieldRole.Static) continue;

            if (declared is IPropertySymbol property)
            {
                if (property.SetMethod is { IsInitOnly: false })
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.SettableChildProperty, fieldLocation, name, type.Name));
            }
            else if (!backing.IsReadOnly)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.MutableChildField, fieldLocation, name, type.Name,
                    fieldType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)));
            }

            if (classification.Role == FieldRole.Module && fieldType.NullableAnnotation == NullableAnnotation.NotAnnotated &&
                FindSelf(type, fieldType, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), depth: 0) is { } chain)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ModuleContainsItself, fieldLocation,
                    type.Name, name, fieldType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat), chain));
            }
        }
    }

    // Follows non-nullable module fields from `current`; returns the chain of fields that leads back to `target`.
    private static string? FindSelf(INamedTypeSymbol target, ITypeSymbol current, HashSet<ITypeSymbol> seen, int depth)
    {
        if (SymbolEqualityComparer.Default.Equals(current.WithNullableAnnotation(NullableAnnotation.None), target.WithNullableAnnotation(NullableAnnotation.None)))
            return "itself";
        if (depth > 16 || current is not INamedTypeSymbol named || !TreeTypes.HasModuleAttribute(named) || !seen.Add(named)) return null;
        for (INamedTypeSymbol? t = named; t is not null && TreeTypes.HasModuleAttribute(t); t = t.BaseType)
        {
            foreach (var (name, fieldType, declared, backing) in TreeTypes.DeclaredFields(t))
            {
                if (fieldType.NullableAnnotation != NullableAnnotation.NotAnnotated || TreeTypes.HasStaticAttribute(declared)) continue;
                if (TreeTypes.Classify(fieldType).Role != FieldRole.Module) continue;
                if (FindSelf(target, fieldType, seen, depth + 1) is { } rest)
                    return rest == "itself" ? $"{named.Name}.{name}" : $"{named.Name}.{name}, {rest}";
            }
        }
        return null;
    }
}
