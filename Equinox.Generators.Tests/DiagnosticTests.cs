using Microsoft.CodeAnalysis;

namespace Equinox.Generators.Tests;

/// <summary>Each diagnostic fires on a bad case and stays silent on the nearest good case.</summary>
public class DiagnosticTests
{
    private const string Usings = "using System; using System.Collections.Generic; using System.Collections.Immutable; using Equinox; using Equinox.Tensors;\n";

    public record Case(string Id, string Name, string Bad, string Good)
    {
        public override string ToString() => $"{Id} {Name}";
    }

    public static IEnumerable<Case> Cases() =>
    [
        new("EQX0001", "not partial",
            "[Module] public class M { public readonly Tensor W = null!; }",
            "[Module] public partial class M { public readonly Tensor W = null!; }"),
        new("EQX0002", "containing type not partial",
            "public class Outer { [Module] public partial class M { public readonly Tensor W = null!; } }",
            "public partial class Outer { [Module] public partial class M { public readonly Tensor W = null!; } }"),
        new("EQX0003", "mutable child field",
            "[Module] public partial class M { public Tensor W = null!; }",
            "[Module] public partial class M { public readonly Tensor W = null!; public int Steps; }"),
        new("EQX0004", "settable child property",
            "[Module] public partial class M { public Tensor W { get; set; } = null!; }",
            "[Module] public partial class M { public Tensor W { get; init; } = null!; public int Steps { get; set; } }"),
        new("EQX0005", "object field",
            "[Module] public partial class M { public readonly object Anything = null!; }",
            "[Module] public partial class M { [Static] public readonly object Anything = null!; }"),
        new("EQX0005", "dynamic field",
            "[Module] public partial class M { public readonly dynamic Anything = null!; }",
            "[Module] public partial class M { public readonly string Anything = null!; }"),
        new("EQX0005", "non-module class holding tensors",
            "public class Holder { public Tensor T = null!; } [Module] public partial class M { public readonly Holder H = null!; }",
            "[Module] public partial class Holder { public readonly Tensor T = null!; } [Module] public partial class M { public readonly Holder H = null!; }"),
        new("EQX0005", "mutable collection of tensors",
            "[Module] public partial class M { public readonly List<Tensor> Ts = new(); }",
            "[Module] public partial class M { public readonly IReadOnlyList<Tensor> Ts = []; }"),
        new("EQX0005", "unconstrained type parameter",
            "[Module] public partial class M<T> { public readonly T Inner = default!; }",
            "[Module] public partial class M<T> where T : ITreeNode { public readonly T Inner = default!; }"),
        new("EQX0006", "static tensor",
            "[Module] public partial class M { [Static] public readonly Tensor Mask = null!; }",
            "[Module] public partial class M { public readonly Tensor Mask = null!; }"),
        new("EQX0007", "contains itself",
            "[Module] public partial class M { public readonly M Next = null!; }",
            "[Module] public partial class M { public readonly M? Next; }"),
        new("EQX0007", "contains itself through another module",
            "[Module] public partial class A { public readonly B Other = null!; } [Module] public partial class B { public readonly A Back = null!; }",
            "[Module] public partial class A { public readonly B Other = null!; } [Module] public partial class B { public readonly A? Back; }"),
        new("EQX0008", "local stored in two fields",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly L A; public readonly L B; public M() { var l = new L(); A = l; B = l; } }",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly L A; public readonly L B; public M() { var l = new L(); A = l; l = new L(); B = l; } }"),
        new("EQX0008", "parameter stored in two fields",
            "[Module] public partial class M { public readonly Tensor A; public readonly Tensor B; public M(Tensor t) { this.A = t; this.B = t; } }",
            "[Module] public partial class M { public readonly Tensor A; public readonly Tensor B; public M(Tensor t, Tensor u) { this.A = t; this.B = u; } }"),
        new("EQX0008", "two collection slots",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly L[] Layers; public M(L l) { Layers = new[] { l, l }; } }",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly L[] Layers; public M(L l, L k) { Layers = new[] { l, k }; } }"),
        new("EQX0008", "collection expression and field",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly L First; public readonly ImmutableArray<L> Rest; public M(L l) { First = l; Rest = [l]; } }",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly L First; public readonly ImmutableArray<L> Rest; public M(L l) { First = l; Rest = [new L()]; } }"),
        new("EQX0008", "member of another object stored twice",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly Tensor A; public readonly Tensor B; public M(L l) { A = l.W; B = l.W; } }",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly Tensor A; public readonly Tensor B; public M(L l, L k) { A = l.W; B = k.W; } }"),
        new("EQX0008", "this stored twice in an object initializer",
            "[Module] public partial class M { public M? A { get; init; } public M? B { get; init; } public M Wrap() => new M { A = this, B = this }; }",
            "[Module] public partial class M { public M? A { get; init; } public M? B { get; init; } public M Wrap() => new M { A = this, B = null }; }"),
        new("EQX0008", "object initializer",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public L? A { get; init; } public L? B { get; init; } } public static class F { public static M Make(L l) => new M { A = l, B = l }; }",
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public L? A { get; init; } public L? B { get; init; } } public static class F { public static M Make(L l, L k) => new M { A = l, B = k }; }"),
        new("EQX0009", "derived type not a module",
            "[Module] public partial class B { public readonly Tensor W = null!; } public class D : B { public readonly Tensor V = null!; }",
            "[Module] public partial class B { public readonly Tensor W = null!; } [Module] public partial class D : B { public readonly Tensor V = null!; }"),
        new("EQX0010", "class with a primary constructor",
            "[Module] public partial class M(Tensor w) { public readonly Tensor W = w; }",
            "[Module] public partial record M(Tensor W);"),
        new("EQX0010", "positional record deriving from a module",
            "[Module] public abstract partial record B { public Tensor S { get; init; } = null!; } [Module] public partial record D(Tensor W) : B;",
            "[Module] public abstract partial record B { public Tensor S { get; init; } = null!; } [Module] public partial record D : B { public Tensor W { get; init; } = null!; }"),
        new("EQX0011", "constructor stores this in a child field",
            "[Module] public partial class M { public readonly M? Next; public M() { this.Next = (M)this; } }",
            "[Module] public partial class M { public readonly M? Next; public M(M? next) { this.Next = next; } }"),
        new("EQX0011", "constructor stores this in a collection",
            "[Module] public partial class M { public readonly ImmutableArray<M> All; public M() { All = [this]; } }",
            "[Module] public partial class M { public readonly ImmutableArray<M> All; public M(M other) { All = [other]; } }"),
        new("EQX0011", "constructor stores this in an interface-typed child",
            "public interface IBlock : ITreeNode; [Module] public partial class M : IBlock { public readonly IBlock? Head; public M() { Head = this; } }",
            "public interface IBlock : ITreeNode; [Module] public partial class M : IBlock { public readonly IBlock? Head; [Static] public readonly object? Owner; public M() { Head = null; Owner = this; } }"),
    ];

    [TestCaseSource(nameof(Cases))]
    public void FiresOnTheBadCaseOnly(Case c)
    {
        var bad = Harness.Analyze(Usings + c.Bad);
        Assert.That(bad.Select(d => d.Id), Does.Contain(c.Id), "bad case:\n" + Harness.Describe(bad));
        Assert.That(bad.Where(d => d.Id == c.Id).Select(d => d.GetMessage()), Has.All.Not.Empty);

        var good = Harness.Analyze(Usings + c.Good);
        Assert.That(good.Select(d => d.Id).Where(id => id.StartsWith("EQX")), Is.Empty, "good case:\n" + Harness.Describe(good));
    }

    [Test]
    public void EveryDescriptorHasACase()
    {
        var covered = Cases().Select(c => c.Id).ToHashSet();
        Assert.That(new ModuleAnalyzer().SupportedDiagnostics.Select(d => d.Id), Is.SubsetOf(covered));
    }

    [Test]
    public void SharedObjectMessageNamesBothSlotsAndTheFix()
    {
        var diagnostics = Harness.Analyze(Usings +
            "[Module] public partial class L { public readonly Tensor W = null!; } [Module] public partial class M { public readonly L Linear1; public readonly L Linear2; public M() { var shared = new L(); Linear1 = shared; Linear2 = shared; } }");
        var message = diagnostics.Single(d => d.Id == "EQX0008").GetMessage();
        Assert.That(message, Does.Contain("'shared' is stored in both 'Linear1' and 'Linear2'").And.Contain("Shared<T>"));
    }

    [Test]
    public void ASealedModuleWithoutTensorsMayBeStoredTwice()
    {
        // As Equinox's tree_check: a node that holds no leaves cannot diverge, so storing it twice is harmless.
        var leafless = Harness.Analyze(Usings +
            "[Module] public sealed partial class Act { public readonly string Kind = \"relu\"; } " +
            "[Module] public partial class M { public readonly Act A; public readonly Act B; public M() { var act = new Act(); A = act; B = act; } }");
        Assert.That(leafless.Where(d => d.Id == "EQX0008"), Is.Empty);
        var open = Harness.Analyze(Usings +
            "[Module] public partial class Act { public readonly string Kind = \"relu\"; } " +
            "[Module] public partial class M { public readonly Act A; public readonly Act B; public M() { var act = new Act(); A = act; B = act; } }");
        Assert.That(open.Where(d => d.Id == "EQX0008"), Has.Exactly(1).Items, "a subclass of an unsealed module could hold a tensor");
    }

    [Test]
    public void SelfStoreMessageNamesTheChildAndTheFix()
    {
        var diagnostics = Harness.Analyze(Usings + "[Module] public partial class Node { public readonly Node? Next; public Node() { Next = this; } }");
        Assert.That(diagnostics.Single(d => d.Id == "EQX0011").GetMessage(), Is.EqualTo(
            "The constructor of 'Node' stores 'this' in its child 'Next', so the module would contain itself: a tree that " +
            "never ends, on which Flatten, LeafCount, ToString and every transformation fail. Build the child as a separate " +
            "module (for example 'new Node(...)'), or leave the slot null."));
    }

    [Test]
    public void DiagnosticsCanBeSuppressedWithAPragma()
    {
        var diagnostics = Harness.Analyze(Usings +
            "[Module] public partial class M {\n#pragma warning disable EQX0006\n[Static] public readonly Tensor Mask = null!;\n#pragma warning restore EQX0006\n}");
        Assert.That(diagnostics.Where(d => d.Id == "EQX0006" && !d.IsSuppressed), Is.Empty);
    }

    [Test]
    public void NoCodeIsGeneratedForANonPartialModule()
    {
        var (result, _) = Harness.Generate(Harness.Compile(Usings + "[Module] public class M { public readonly Tensor W = null!; }"));
        Assert.That(result.GeneratedTrees, Is.Empty);
    }

    [Test]
    public void NoCodeIsGeneratedForAPositionalRecordDerivingFromAModule()
    {
        // The analyzer's rule and the parser's are one (ModuleRules): what EQX0010 rejects gets no generated source.
        const string source = Usings +
            "[Module] public abstract partial record B { public Tensor S { get; init; } = null!; } [Module] public partial record D(Tensor W) : B;";
        var (result, _) = Harness.Generate(Harness.Compile(source));
        Assert.That(result.GeneratedTrees.Select(t => Path.GetFileName(t.FilePath)), Is.EqualTo(new[] { "B.g.cs" }));
        Assert.That(Harness.Analyze(source).Select(d => d.Id), Does.Contain("EQX0010"));
    }

    [Test]
    public void TheDocsTheDescriptorTableAndTheAnalyzerListTheSameIds()
    {
        var documented = System.Text.RegularExpressions.Regex
            .Matches(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "diagnostics.md")), @"^## (EQX\d{4})\s*$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value)
            .ToList();
        var table = DiagnosticDescriptors.All.Select(d => d.Id).ToList();
        var supported = new ModuleAnalyzer().SupportedDiagnostics.Select(d => d.Id).ToList();

        Assert.That(documented, Is.Unique.And.Not.Empty);
        Assert.That(table, Is.Unique);
        Assert.That(documented, Is.EquivalentTo(table), "docs/diagnostics.md sections vs DiagnosticDescriptors.All");
        Assert.That(supported, Is.EquivalentTo(table), "ModuleAnalyzer.SupportedDiagnostics vs DiagnosticDescriptors.All");
        var declared = typeof(DiagnosticDescriptors).GetFields()
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => ((DiagnosticDescriptor)f.GetValue(null)!).Id);
        Assert.That(declared.Distinct(), Is.EquivalentTo(table), "every declared descriptor is in DiagnosticDescriptors.All");
    }

    // The folder holding Equinox.sln, found by walking up from the test assembly.
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Equinox.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No folder above {AppContext.BaseDirectory} contains Equinox.sln.");
    }

    [Test]
    public void UnsupportedFieldMessageNamesTheFieldAndTheFix()
    {
        var diagnostics = Harness.Analyze(Usings + "public class Holder { public Tensor T = null!; } [Module] public partial class M { public readonly Holder Cache = null!; }");
        var message = diagnostics.Single(d => d.Id == "EQX0005").GetMessage();
        Assert.That(message, Does.Contain("'Cache'").And.Contain("mark that type [Module]").And.Contain("[Static]"));
    }
}
