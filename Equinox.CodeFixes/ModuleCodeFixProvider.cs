using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Equinox.CodeFixes;

/// <summary>
/// Quick fixes for the Equinox diagnostics whose fix is mechanical: add <c>partial</c> (EQX0001, EQX0002), mark a
/// derived type <c>[Module] partial</c> (EQX0009), make a child field <c>readonly</c> (EQX0003), turn a child
/// property's setter into <c>init</c> (EQX0004), mark a field <c>[Static]</c> (EQX0005), make a self-containing field
/// nullable (EQX0007), and store a fresh object in the second slot of a node stored twice (EQX0008).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ModuleCodeFixProvider)), Shared]
public sealed class ModuleCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } =
        ImmutableArray.Create("EQX0001", "EQX0002", "EQX0003", "EQX0004", "EQX0005", "EQX0007", "EQX0008", "EQX0009");

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            var fix = diagnostic.Id switch
            {
                "EQX0001" or "EQX0002" => AddPartial(context.Document, root, node, addModule: false),
                "EQX0009" => AddPartial(context.Document, root, node, addModule: true),
                "EQX0003" => MakeReadonly(context.Document, root, node),
                "EQX0004" => MakeInitOnly(context.Document, root, node),
                "EQX0005" => MarkStatic(context.Document, root, node),
                "EQX0007" => MakeNullable(context.Document, root, node),
                "EQX0008" => StoreFreshObject(context, root, node),
                _ => Task.FromResult<CodeAction?>(null),
            };
            // A fix that does not apply to this particular code (say, EQX0008 on a value that is not a fresh local) is null.
            if (await fix.ConfigureAwait(false) is { } action) context.RegisterCodeFix(action, diagnostic);
        }
    }

    private static Task<CodeAction?> AddPartial(Document document, SyntaxNode root, SyntaxNode node, bool addModule)
    {
        if (node.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } type) return Task.FromResult<CodeAction?>(null);
        string title = addModule ? $"Mark '{type.Identifier.Text}' [Module] partial" : $"Make '{type.Identifier.Text}' partial";
        return Task.FromResult<CodeAction?>(CodeAction.Create(title, _ =>
        {
            var updated = type;
            if (!updated.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                // 'partial' goes last among the modifiers, right before 'class' or 'record'.
                var partial = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
                updated = updated.Modifiers.Count == 0
                    ? updated.WithKeyword(updated.Keyword.WithLeadingTrivia()).WithModifiers(SyntaxFactory.TokenList(partial.WithLeadingTrivia(updated.Keyword.LeadingTrivia)))
                    : updated.WithModifiers(updated.Modifiers.Add(partial));
            }
            if (addModule) updated = WithAttributeLine(updated, "Module");
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(type, updated)));
        }, addModule ? "EqxAddModulePartial" : "EqxAddPartial"));
    }

    private static Task<CodeAction?> MakeReadonly(Document document, SyntaxNode root, SyntaxNode node)
    {
        if (node.FirstAncestorOrSelf<FieldDeclarationSyntax>() is not { } field) return Task.FromResult<CodeAction?>(null);
        return Task.FromResult<CodeAction?>(CodeAction.Create("Make the field readonly", _ =>
        {
            var token = SyntaxFactory.Token(SyntaxKind.ReadOnlyKeyword).WithTrailingTrivia(SyntaxFactory.Space);
            // After the access and 'static'/'new' modifiers, as C# style has it: 'public readonly Linear Layer;'.
            int at = field.Modifiers.Count(m => m.IsKind(SyntaxKind.PublicKeyword) || m.IsKind(SyntaxKind.PrivateKeyword) ||
                                               m.IsKind(SyntaxKind.InternalKeyword) || m.IsKind(SyntaxKind.ProtectedKeyword) ||
                                               m.IsKind(SyntaxKind.NewKeyword));
            FieldDeclarationSyntax updated = field.Modifiers.Count == 0
                ? field.WithDeclaration(field.Declaration.WithoutLeadingTrivia()).WithModifiers(SyntaxFactory.TokenList(token.WithLeadingTrivia(field.Declaration.GetLeadingTrivia())))
                : field.WithModifiers(field.Modifiers.Insert(at, token));
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(field, updated)));
        }, "EqxMakeReadonly"));
    }

    private static Task<CodeAction?> MakeInitOnly(Document document, SyntaxNode root, SyntaxNode node)
    {
        if (node.FirstAncestorOrSelf<PropertyDeclarationSyntax>() is not { AccessorList: { } accessors } property ||
            accessors.Accessors.FirstOrDefault(a => a.IsKind(SyntaxKind.SetAccessorDeclaration)) is not { } setter)
            return Task.FromResult<CodeAction?>(null);
        return Task.FromResult<CodeAction?>(CodeAction.Create("Turn the setter into 'init'", _ =>
        {
            var init = SyntaxFactory.AccessorDeclaration(SyntaxKind.InitAccessorDeclaration, setter.AttributeLists, setter.Modifiers,
                    SyntaxFactory.Token(SyntaxKind.InitKeyword).WithTriviaFrom(setter.Keyword), setter.Body, setter.ExpressionBody, setter.SemicolonToken)
                .WithTriviaFrom(setter);
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(setter, init)));
        }, "EqxMakeInitOnly"));
    }

    private static Task<CodeAction?> MarkStatic(Document document, SyntaxNode root, SyntaxNode node)
    {
        MemberDeclarationSyntax? member = (MemberDeclarationSyntax?)node.FirstAncestorOrSelf<FieldDeclarationSyntax>() ?? node.FirstAncestorOrSelf<PropertyDeclarationSyntax>();
        if (member is null) return Task.FromResult<CodeAction?>(null);
        return Task.FromResult<CodeAction?>(CodeAction.Create("Mark the field [Static] (it holds no tensors or modules)", _ =>
        {
            var updated = WithAttributeLine(member, "Static");
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(member, updated)));
        }, "EqxMarkStatic"));
    }

    private static Task<CodeAction?> MakeNullable(Document document, SyntaxNode root, SyntaxNode node)
    {
        TypeSyntax? type = node.FirstAncestorOrSelf<FieldDeclarationSyntax>()?.Declaration.Type ?? node.FirstAncestorOrSelf<PropertyDeclarationSyntax>()?.Type;
        if (type is null or NullableTypeSyntax) return Task.FromResult<CodeAction?>(null);
        return Task.FromResult<CodeAction?>(CodeAction.Create("Make the field nullable, so the chain can end with null", _ =>
        {
            var nullable = SyntaxFactory.NullableType(type.WithoutTrivia()).WithTriviaFrom(type);
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(type, nullable)));
        }, "EqxMakeNullable"));
    }

    /// <summary>
    /// The second slot of a node stored twice gets a fresh object: when the value is a local or parameter-free local
    /// initialised with <c>new ...(...)</c>, the second use becomes a copy of that creation expression.
    /// </summary>
    private static async Task<CodeAction?> StoreFreshObject(CodeFixContext context, SyntaxNode root, SyntaxNode node)
    {
        if (node is not IdentifierNameSyntax use) return null;
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (model?.GetSymbolInfo(use, context.CancellationToken).Symbol is not ILocalSymbol local) return null;
        var declarator = local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(context.CancellationToken) as VariableDeclaratorSyntax;
        if (declarator?.Initializer?.Value is not (ObjectCreationExpressionSyntax or ImplicitObjectCreationExpressionSyntax) || IsReassigned(declarator, local, model, context.CancellationToken))
            return null;
        var creation = declarator.Initializer.Value;
        if (creation is ImplicitObjectCreationExpressionSyntax implicitCreation)
            creation = SyntaxFactory.ObjectCreationExpression(
                SyntaxFactory.Token(SyntaxKind.NewKeyword).WithTrailingTrivia(SyntaxFactory.Space),
                SyntaxFactory.ParseTypeName(local.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)),
                implicitCreation.ArgumentList, implicitCreation.Initializer);
        return CodeAction.Create($"Store a new object here instead of '{local.Name}' (two independent nodes)",
            _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(use, creation.WithoutTrivia().WithTriviaFrom(use)))),
            "EqxStoreFreshObject");
    }

    /// <summary>
    /// <paramref name="member"/> with <c>[name]</c> on a line of its own above it, at the member's indentation. The
    /// trivia is spelled out (not elastic), so the IDE's formatter leaves the rest of the declaration as it was.
    /// </summary>
    private static T WithAttributeLine<T>(T member, string name) where T : MemberDeclarationSyntax
    {
        var leading = member.GetLeadingTrivia();
        var indentation = leading.LastOrDefault(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
        var attribute = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Attribute(SyntaxFactory.IdentifierName(name))))
            .NormalizeWhitespace()
            .WithLeadingTrivia(leading)
            .WithTrailingTrivia(SyntaxFactory.EndOfLine("\n"), indentation);
        return (T)member.WithoutLeadingTrivia().WithAttributeLists(member.AttributeLists.Insert(0, attribute));
    }

    private static bool IsReassigned(VariableDeclaratorSyntax declarator, ILocalSymbol local, SemanticModel model, CancellationToken token) =>
        declarator.FirstAncestorOrSelf<BlockSyntax>()?.DescendantNodes().OfType<AssignmentExpressionSyntax>()
            .Any(a => SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(a.Left, token).Symbol, local)) ?? false;
}
