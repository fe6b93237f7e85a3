using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Equinox.Generators.Tests;

/// <summary>An edit that does not touch a module leaves the generator's tracked steps Cached or Unchanged.</summary>
public class IncrementalTests
{
    private const string Module = """
        using Equinox;
        using Equinox.Tensors;
        namespace Demo;
        /// <summary>x</summary>
        [Module] public partial class Linear
        {
            /// <summary>x</summary>
            public readonly Tensor Weight = null!;
            /// <summary>x</summary>
            public readonly int Size;
            /// <summary>x</summary>
            public int Twice() => Size * 2;
        }
        """;

    private const string Other = """
        namespace Demo;
        /// <summary>x</summary>
        public static class Helpers
        {
            /// <summary>x</summary>
            public static int Twice(int x) => x * 2;
        }
        """;

    private static IEnumerable<IncrementalStepRunReason> Reasons(GeneratorDriverRunResult result, string step) =>
        result.Results[0].TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason);

    [Test]
    public void AnUnrelatedEditLeavesEveryStepCachedOrUnchanged()
    {
        var compilation = Harness.Compile(Module, Other);
        var driver = Harness.Driver().RunGenerators(compilation);
        var first = driver.GetRunResult();
        Assert.That(first.GeneratedTrees, Has.Length.EqualTo(1));

        var oldTree = compilation.SyntaxTrees.Last();
        var newTree = CSharpSyntaxTree.ParseText(Other.Replace("x * 2", "x + x"), Harness.ParseOptions, path: oldTree.FilePath);
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree));
        var second = driver.GetRunResult();

        foreach (var step in new[] { ModuleGenerator.ModelStep, ModuleGenerator.FilteredStep })
            Assert.That(Reasons(second, step), Is.Not.Empty.And.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), step);
        Assert.That(second.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason),
            Has.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged));
    }

    [Test]
    public void AMethodBodyEditInsideTheModuleLeavesTheModelUnchanged()
    {
        var compilation = Harness.Compile(Module);
        var driver = Harness.Driver().RunGenerators(compilation);
        var oldTree = compilation.SyntaxTrees.Single();
        var edited = Module.Replace("Size * 2", "Size + Size");
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, CSharpSyntaxTree.ParseText(edited, Harness.ParseOptions, path: oldTree.FilePath)));
        var result = driver.GetRunResult();
        Assert.That(Reasons(result, ModuleGenerator.ModelStep), Has.All.EqualTo(IncrementalStepRunReason.Unchanged),
            "the model is rebuilt from the edited tree but compares equal, so nothing downstream reruns");
        Assert.That(result.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason),
            Has.All.EqualTo(IncrementalStepRunReason.Cached));
    }

    private static GeneratorDriverRunResult RunAfterEdit(string edited, out GeneratorDriverRunResult first)
    {
        var compilation = Harness.Compile(Module);
        var driver = Harness.Driver().RunGenerators(compilation);
        first = driver.GetRunResult();
        var oldTree = compilation.SyntaxTrees.Single();
        var newTree = CSharpSyntaxTree.ParseText(edited, Harness.ParseOptions, path: oldTree.FilePath);
        return driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult();
    }

    private static IEnumerable<IncrementalStepRunReason> OutputReasons(GeneratorDriverRunResult result) =>
        result.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason);

    [Test]
    public void AnEditToAModuleFieldModifiesTheModelAndRegenerates()
    {
        var result = RunAfterEdit(Module.Replace("public readonly int Size;", "public readonly int Size;\n    /// <summary>x</summary>\n    public readonly Tensor? Bias;"), out var first);
        Assert.That(Reasons(result, ModuleGenerator.ModelStep), Is.Not.Empty.And.All.EqualTo(IncrementalStepRunReason.Modified));
        Assert.That(OutputReasons(result), Is.Not.Empty.And.All.EqualTo(IncrementalStepRunReason.Modified));
        var before = first.GeneratedTrees.Single().GetText().ToString();
        var after = result.GeneratedTrees.Single().GetText().ToString();
        Assert.That(before, Does.Not.Contain("this.Bias"));
        Assert.That(after, Does.Contain("global::Equinox.TreeChildren.Flatten(this.Bias, leaves, ref position);"));
    }

    [TestCase("whitespace", "public readonly Tensor Weight = null!;", "public   readonly   Tensor   Weight   =   null!;")]
    [TestCase("a comment", "public readonly int Size;", "public readonly int Size; // the width")]
    [TestCase("a method body", "Size * 2", "2 * Size")]
    public void AnEquivalentEditInsideTheModuleRegeneratesNothing(string what, string from, string to)
    {
        Assert.That(Module, Does.Contain(from));
        var result = RunAfterEdit(Module.Replace(from, to), out var first);
        Assert.That(Reasons(result, ModuleGenerator.ModelStep), Is.Not.Empty.And.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), what);
        Assert.That(Reasons(result, ModuleGenerator.FilteredStep), Is.Not.Empty.And.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged), what);
        Assert.That(OutputReasons(result), Is.Not.Empty.And.All.EqualTo(IncrementalStepRunReason.Cached), what);
        Assert.That(result.GeneratedTrees.Single().GetText().ToString(), Is.EqualTo(first.GeneratedTrees.Single().GetText().ToString()));
    }

    [Test]
    public void TheModelHoldsNoSymbols()
    {
        // A model with a symbol or compilation inside would never compare equal across runs.
        var forbidden = new[] { typeof(ISymbol), typeof(Compilation), typeof(SyntaxNode), typeof(SemanticModel) };
        foreach (var type in new[] { typeof(ModuleModel), typeof(FieldModel), typeof(ContainingTypeModel) })
        foreach (var property in type.GetProperties())
            Assert.That(forbidden.Any(f => f.IsAssignableFrom(property.PropertyType)), Is.False, $"{type.Name}.{property.Name}");
    }
}
