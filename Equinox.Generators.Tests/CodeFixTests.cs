using System.Collections.Immutable;
using Equinox.CodeFixes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Text;

namespace Equinox.Generators.Tests;

/// <summary>
/// Each quick fix turns the bad source into the expected one, and the result no longer has the diagnostic. The
/// diagnostics come from the real analyzer (after generation); the fix runs in a Roslyn workspace as an IDE runs it.
/// </summary>
public class CodeFixTests
{
    private const string Usings = "using System; using System.Collections.Generic; using Equinox; using Equinox.Tensors;\n";

    public record Case(string Id, string Name, string Before, string After)
    {
        public override string ToString() => $"{Id} {Name}";
    }

    public static IEnumerable<Case> Cases() =>
    [
        new("EQX0001", "add partial",
            "[Module]\npublic sealed class M { public readonly Tensor W = null!; }",
            "[Module]\npublic sealed partial class M { public readonly Tensor W = null!; }"),
        new("EQX0001", "add partial without modifiers",
            "[Module]\nclass M { public readonly Tensor W = null!; }",
            "[Module]\npartial class M { public readonly Tensor W = null!; }"),
        new("EQX0002", "add partial to the containing type",
            "public static class Outer { [Module] public partial class M { public readonly Tensor W = null!; } }",
            "public static partial class Outer { [Module] public partial class M { public readonly Tensor W = null!; } }"),
        new("EQX0003", "make the field readonly",
            "[Module] public partial class M\n{\n    public Tensor W = null!;\n}",
            "[Module] public partial class M\n{\n    public readonly Tensor W = null!;\n}"),
        new("EQX0004", "setter to init",
            "[Module] public partial class M { public Tensor W { get; set; } = null!; }",
            "[Module] public partial class M { public Tensor W { get; init; } = null!; }"),
        new("EQX0005", "mark the field static",
            "[Module] public partial class M\n{\n    public readonly Tensor W = null!;\n    public readonly object Tag = null!;\n}",
            "[Module] public partial class M\n{\n    public readonly Tensor W = null!;\n    [Static]\n    public readonly object Tag = null!;\n}"),
        new("EQX0007", "make the field nullable",
            "[Module] public partial class Node { public readonly Tensor W = null!; public readonly Node Next = null!; }",
            "[Module] public partial class Node { public readonly Tensor W = null!; public readonly Node? Next = null!; }"),
        new("EQX0008", "a fresh object in the second slot",
            "[Module] public partial class Leaf { public readonly Tensor W; public Leaf(int n) { W = Tensor.Zeros([n]); } }\n" +
            "[Module] public partial class M { public readonly Leaf A, B; public M() { var leaf = new Leaf(3); A = leaf; B = leaf; } }",
            "[Module] public partial class Leaf { public readonly Tensor W; public Leaf(int n) { W = Tensor.Zeros([n]); } }\n" +
            "[Module] public partial class M { public readonly Leaf A, B; public M() { var leaf = new Leaf(3); A = leaf; B = new Leaf(3); } }"),
        new("EQX0008", "a fresh object from a target-typed new",
            "[Module] public partial class Leaf { public readonly Tensor W; public Leaf(int n) { W = Tensor.Zeros([n]); } }\n" +
            "[Module] public partial class M { public readonly Leaf A, B; public M() { Leaf leaf = new(3); A = leaf; B = leaf; } }",
            "[Module] public partial class Leaf { public readonly Tensor W; public Leaf(int n) { W = Tensor.Zeros([n]); } }\n" +
            "[Module] public partial class M { public readonly Leaf A, B; public M() { Leaf leaf = new(3); A = leaf; B = new Leaf(3); } }"),
        new("EQX0009", "mark the derived type a module",
            "[Module] public partial class Base { public readonly Tensor W = null!; }\n    public class Derived : Base { }",
            "[Module] public partial class Base { public readonly Tensor W = null!; }\n    [Module]\n    public partial class Derived : Base { }"),
    ];

    [TestCaseSource(nameof(Cases))]
    public void TheFixProducesTheExpectedSourceAndClearsTheDiagnostic(Case c)
    {
        var before = Usings + c.Before;
        var diagnostic = Harness.Analyze(before).First(d => d.Id == c.Id);
        var actions = Fixes(before, diagnostic);
        Assert.That(actions, Has.Count.EqualTo(1), "one fix is offered");
        var after = Apply(before, actions[0]);
        Assert.That(after, Is.EqualTo(Usings + c.After));
        Assert.That(Harness.Analyze(after).Where(d => d.Id == c.Id), Is.Empty, "the fixed source no longer has the diagnostic");
    }

    [Test]
    public void NoFreshObjectIsOfferedForAParameterOrAReassignedLocal()
    {
        var parameter = Usings +
            "[Module] public partial class Leaf { public readonly Tensor W = null!; }\n" +
            "[Module] public partial class M { public readonly Leaf A, B; public M(Leaf leaf) { A = leaf; B = leaf; } }";
        Assert.That(Fixes(parameter, Harness.Analyze(parameter).First(d => d.Id == "EQX0008")), Is.Empty,
            "a parameter's object cannot be re-created from here");
        var reassigned = Usings +
            "[Module] public partial class Leaf { public readonly Tensor W = null!; }\n" +
            "[Module] public partial class M { public readonly Leaf A, B; public M(Leaf other) { var leaf = new Leaf(); leaf = other; A = leaf; B = leaf; } }";
        Assert.That(Fixes(reassigned, Harness.Analyze(reassigned).First(d => d.Id == "EQX0008")), Is.Empty);
    }

    [Test]
    public void EveryFixableIdIsADiagnosticOfTheAnalyzer()
    {
        var ids = DiagnosticDescriptors.All.Select(d => d.Id).ToHashSet();
        Assert.That(new ModuleCodeFixProvider().FixableDiagnosticIds, Is.SubsetOf(ids));
    }

    private static Document Document(string source)
    {
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Default, "User", "User", LanguageNames.CSharp,
            compilationOptions: new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: Harness.ParseOptions, metadataReferences: Harness.References.Value));
        return workspace.AddDocument(project.Id, "Source0.cs", SourceText.From(source));
    }

    private static List<CodeAction> Fixes(string source, Diagnostic diagnostic)
    {
        var actions = new List<CodeAction>();
        var context = new CodeFixContext(Document(source), diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
        new ModuleCodeFixProvider().RegisterCodeFixesAsync(context).GetAwaiter().GetResult();
        return actions;
    }

    private static string Apply(string source, CodeAction action)
    {
        var operations = action.GetOperationsAsync(CancellationToken.None).GetAwaiter().GetResult();
        var solution = operations.OfType<ApplyChangesOperation>().Single().ChangedSolution;
        var document = solution.Projects.Single().Documents.Single();
        return document.GetTextAsync().GetAwaiter().GetResult().ToString();
    }
}
