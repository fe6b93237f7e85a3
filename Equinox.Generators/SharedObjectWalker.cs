using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Equinox.Generators;

/// <summary>
/// EQX0008: in a module's constructor (or an object initializer of a module), the same local, parameter or field
/// stored in two child fields or two collection slots. Locals are tracked by assignment, in source order, so
/// <c>l = new Linear(...)</c> between the two stores makes them different objects. EQX0011: a constructor that stores
/// <c>this</c> in a child at all, which makes the module contain itself (in an object initializer, <c>this</c> is
/// another object, so storing it twice is EQX0008 again).
/// </summary>
internal static class SharedObjectWalker
{
    public static void AnalyzeConstructor(SyntaxNodeAnalysisContext context)
    {
        var constructor = (ConstructorDeclarationSyntax)context.Node;
        if (context.SemanticModel.GetDeclaredSymbol(constructor, context.CancellationToken) is not { } symbol) return;
        var type = symbol.ContainingType;
        if (!TreeTypes.IsModule(type)) return;
        SyntaxNode? body = (SyntaxNode?)constructor.Body ?? constructor.ExpressionBody;
        if (body is null) return;

        var walk = new Walk(context, selfType: type);
        foreach (var node in body.DescendantNodesAndSelf())
        {
            if (node is not AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.SimpleAssignmentExpression } assignment) continue;
            var target = context.SemanticModel.GetSymbolInfo(assignment.Left, context.CancellationToken).Symbol;
            if (target is ILocalSymbol local)
            {
                walk.Reassigned(local);
                continue;
            }
            if (IsChildOf(target, type) && IsOwnMember(assignment.Left))
                walk.Store(target!.Name, assignment.Right);
        }
    }

    public static void AnalyzeInitializer(SyntaxNodeAnalysisContext context)
    {
        var initializer = (InitializerExpressionSyntax)context.Node;
        if (initializer.Parent is not BaseObjectCreationExpressionSyntax creation) return;
        if (context.SemanticModel.GetTypeInfo(creation, context.CancellationToken).Type is not INamedTypeSymbol type || !TreeTypes.IsModule(type)) return;
        var walk = new Walk(context, selfType: null);
        foreach (var expression in initializer.Expressions)
        {
            if (expression is not AssignmentExpressionSyntax { Left: IdentifierNameSyntax } assignment) continue;
            var target = context.SemanticModel.GetSymbolInfo(assignment.Left, context.CancellationToken).Symbol;
            if (IsChildOf(target, type)) walk.Store(target!.Name, assignment.Right);
        }
    }

    private static bool IsOwnMember(ExpressionSyntax left) => left switch
    {
        IdentifierNameSyntax => true,
        MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } => true,
        _ => false,
    };

    private static bool IsChildOf(ISymbol? target, INamedTypeSymbol type)
    {
        if (target is not (IFieldSymbol or IPropertySymbol) || target.IsStatic) return false;
        bool inHierarchy = false;
        for (INamedTypeSymbol? t = type; t is not null; t = t.BaseType)
            if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, target.ContainingType.OriginalDefinition)) inHierarchy = true;
        if (!inHierarchy || TreeTypes.HasStaticAttribute(target)) return false;
        var memberType = target is IFieldSymbol f ? f.Type : ((IPropertySymbol)target).Type;
        return TreeTypes.Classify(memberType).Role != FieldRole.Static;
    }

    // `selfType`: the module whose constructor is walked, where `this` is the module itself; null in an initializer.
    private sealed class Walk(SyntaxNodeAnalysisContext context, INamedTypeSymbol? selfType)
    {
        private readonly Dictionary<ILocalSymbol, int> versions = new(SymbolEqualityComparer.Default);
        private readonly Dictionary<string, string> firstSlot = new();

        public void Reassigned(ILocalSymbol local) => versions[local] = Version(local) + 1;

        private int Version(ILocalSymbol local) => versions.TryGetValue(local, out var v) ? v : 0;

        public void Store(string member, ExpressionSyntax value)
        {
            value = Strip(value);
            var elements = Elements(value);
            if (elements is null)
            {
                Slot(value, member);
                return;
            }
            for (int i = 0; i < elements.Count; i++) Slot(Strip(elements[i]), $"{member}[{i}]");
        }

        private void Slot(ExpressionSyntax value, string slot)
        {
            if (selfType is not null && value is ThisExpressionSyntax)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ModuleStoresItself, value.GetLocation(), selfType.Name, slot));
                return;
            }
            var key = Identity(value);
            if (key is null) return;
            if (firstSlot.TryGetValue(key.Value.Key, out var first))
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.SameObjectStoredTwice, value.GetLocation(),
                    key.Value.Text, Quote(first), Quote(slot)));
                return;
            }
            firstSlot[key.Value.Key] = slot;
        }

        private static string Quote(string slot) => "'" + slot + "'";

        // The elements of a collection literal stored in a child, or null when the value is a single object.
        private IReadOnlyList<ExpressionSyntax>? Elements(ExpressionSyntax value)
        {
            switch (value)
            {
                case ArrayCreationExpressionSyntax { Initializer: { } init }:
                    return init.Expressions;
                case ImplicitArrayCreationExpressionSyntax array:
                    return array.Initializer.Expressions;
                case CollectionExpressionSyntax collection:
                    return collection.Elements.OfType<ExpressionElementSyntax>().Select(e => e.Expression).ToList();
                case InvocationExpressionSyntax invocation when
                    invocation.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Create" } access &&
                    context.SemanticModel.GetSymbolInfo(access, context.CancellationToken).Symbol is IMethodSymbol method &&
                    method.ContainingType.ContainingNamespace?.ToDisplayString() == "System.Collections.Immutable":
                    return invocation.ArgumentList.Arguments.Select(a => a.Expression).ToList();
                case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ToImmutableArray" or "ToArray" or "ToList" } inner }:
                    return Elements(Strip(inner.Expression));
                default:
                    return null;
            }
        }

        // A key that names the stored object: a local (with its version), parameter, field or property chain, or this.
        private (string Key, string Text)? Identity(ExpressionSyntax value)
        {
            switch (value)
            {
                case ThisExpressionSyntax:
                    return ("this", "this");
                case IdentifierNameSyntax identifier:
                {
                    var symbol = context.SemanticModel.GetSymbolInfo(identifier, context.CancellationToken).Symbol;
                    if (!HoldsTree(symbol)) return null;
                    return symbol switch
                    {
                        ILocalSymbol local => ($"local:{local.Name}@{local.Locations.FirstOrDefault()?.SourceSpan.Start}#{Version(local)}", local.Name),
                        IParameterSymbol parameter => ($"parameter:{parameter.Name}", parameter.Name),
                        IFieldSymbol or IPropertySymbol => ($"member:{symbol!.Name}", symbol!.Name),
                        _ => null,
                    };
                }
                case MemberAccessExpressionSyntax { RawKind: (int)SyntaxKind.SimpleMemberAccessExpression } access:
                {
                    var symbol = context.SemanticModel.GetSymbolInfo(access, context.CancellationToken).Symbol;
                    if (symbol is not (IFieldSymbol or IPropertySymbol) || !HoldsTree(symbol)) return null;
                    var owner = access.Expression is ThisExpressionSyntax ? ("member", "this") : Identity(Strip(access.Expression)) is { } o ? o : default;
                    if (owner.Item1 is null) return null;
                    return ($"{owner.Item1}.{symbol.Name}", access.ToString());
                }
                default:
                    return null;
            }
        }

        private static bool HoldsTree(ISymbol? symbol)
        {
            var type = symbol switch
            {
                ILocalSymbol l => l.Type,
                IParameterSymbol p => p.Type,
                IFieldSymbol f => f.Type,
                IPropertySymbol p => p.Type,
                _ => null,
            };
            return type is not null && (TreeTypes.IsTensor(type) || TreeTypes.IsModule(type) && !TreeTypes.CannotHoldTensors(type));
        }
    }

    private static ExpressionSyntax Strip(ExpressionSyntax value)
    {
        while (true)
        {
            switch (value)
            {
                case ParenthesizedExpressionSyntax p: value = p.Expression; break;
                case CastExpressionSyntax c: value = c.Expression; break;
                case PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression } n: value = n.Operand; break;
                default: return value;
            }
        }
    }
}
