using System.CodeDom.Compiler;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Equinox.Generators.Tests;

/// <summary>
/// Equinox.Core's argument-count variants come from ArityGenerator's templates, not hand copies: the shipped variants
/// carry [GeneratedCode], the generated text is compared with Snapshots/Arity.expected.txt (rewrite it on purpose with
/// EQX_UPDATE_SNAPSHOTS=1), and only Equinox.Core gets any.
/// </summary>
public class ArityTests
{
    private static string RepositoryRoot([CallerFilePath] string here = "") => Path.GetDirectoryName(Path.GetDirectoryName(here))!;

    // Equinox.Core's own request, so the snapshot follows the counts it asks for.
    private static string CoreRequest() =>
        File.ReadAllText(Path.Combine(RepositoryRoot(), "Equinox.Core", "Transforms", "ArityVariants.cs"));

    // Equinox.Core has implicit usings; the test compilation does not.
    private static CSharpCompilation Compile(string assemblyName, params string[] sources) =>
        Harness.Compile(["global using System;", .. sources]).WithAssemblyName(assemblyName);

    private static GeneratorDriverRunResult Run(string assemblyName, params string[] sources) =>
        Harness.Driver().RunGenerators(Compile(assemblyName, sources)).GetRunResult();

    [Test]
    public void GeneratedVariantsMatchTheExpectedFile()
    {
        var result = Run("Equinox.Core", CoreRequest());
        Assert.That(result.Diagnostics, Is.Empty);

        var text = new StringBuilder();
        foreach (var file in result.GeneratedTrees.OrderBy(t => t.FilePath, StringComparer.Ordinal))
        {
            text.Append("// ==== ").Append(Path.GetFileName(file.FilePath)).Append(" ====\n");
            text.Append(file.GetText().ToString().Replace("\r\n", "\n"));
        }
        var actual = text.ToString();
        var expectedPath = Path.Combine(RepositoryRoot(), "Equinox.Generators.Tests", "Snapshots", "Arity.expected.txt");
        if (Environment.GetEnvironmentVariable("EQX_UPDATE_SNAPSHOTS") == "1" || !File.Exists(expectedPath))
        {
            File.WriteAllText(expectedPath, actual);
            if (Environment.GetEnvironmentVariable("EQX_UPDATE_SNAPSHOTS") != "1")
                Assert.Fail($"{expectedPath} did not exist and has been written; review it and run again.");
        }
        Assert.That(actual, Is.EqualTo(File.ReadAllText(expectedPath).Replace("\r\n", "\n")),
            "generated variants changed; if on purpose, rerun with EQX_UPDATE_SNAPSHOTS=1 and review the diff");
    }

    [Test]
    public void EveryFilterJitFunctionVariantInEquinoxCoreIsGenerated()
    {
        var variants = typeof(FilterJitFunction).Assembly.GetTypes()
            .Where(t => t.IsGenericTypeDefinition && t.Name.StartsWith("FilterJitFunction`", StringComparison.Ordinal))
            .ToList();
        Assert.That(variants.Select(t => t.GetGenericArguments().Length - 1), Is.EquivalentTo(new[] { 1, 2, 3, 4 }));
        foreach (var type in variants)
            Assert.That(IsGenerated(type), type + " is hand-written; it must come from FilterJitArityTemplate");
    }

    [Test]
    public void EveryFilterGradFormWithMoreArgumentsIsGeneratedAndTheModelAloneFormsAreNot()
    {
        var forms = typeof(Eqx).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name is "FilterValueAndGrad" or "FilterGrad" or "FilterValueAndGradWithAux" or "FilterGradWithAux")
            .ToList();
        // f is a Func of the model, the extra arguments and the result.
        static int ExtraArguments(MethodInfo m) => m.GetParameters()[0].ParameterType.GetGenericArguments().Length - 2;

        Assert.That(forms.Select(ExtraArguments).Order(), Is.EqualTo(Enumerable.Range(0, 4).SelectMany(n => Enumerable.Repeat(n, 4))));
        foreach (var form in forms)
            Assert.That(IsGenerated(form), Is.EqualTo(ExtraArguments(form) > 0),
                $"{form}: the model-alone forms are hand-written in FilterGrad.cs, the others come from FilterGradArityTemplate");
    }

    [Test]
    public void AProjectOtherThanEquinoxCoreGetsNoVariants()
    {
        // Even one that copies Equinox.Core's attribute and request word for word.
        Assert.That(Run("UserProject", CoreRequest()).GeneratedTrees, Is.Empty);
        Assert.That(Run("Equinox.Core", "namespace Demo; /// <summary>x</summary> public static class Helpers { }").GeneratedTrees, Is.Empty);
    }

    [Test]
    public void AnUnrelatedEditLeavesTheVariantsCached()
    {
        const string other = "namespace Demo; /// <summary>x</summary> public static class Helpers { /// <summary>x</summary> public static int Twice(int x) => x * 2; }";
        var compilation = Compile("Equinox.Core", CoreRequest(), other);
        var driver = Harness.Driver().RunGenerators(compilation);
        Assert.That(driver.GetRunResult().GeneratedTrees, Has.Length.EqualTo(2));

        var oldTree = compilation.SyntaxTrees.Last();
        var newTree = CSharpSyntaxTree.ParseText(other.Replace("x * 2", "x + x"), Harness.ParseOptions, path: oldTree.FilePath);
        var second = driver.RunGenerators(compilation.ReplaceSyntaxTree(oldTree, newTree)).GetRunResult();

        var arity = second.Results.Single(r => r.Generator.GetGeneratorType() == typeof(ArityGenerator));
        Assert.That(arity.TrackedSteps[ArityGenerator.ModelStep].SelectMany(s => s.Outputs).Select(o => o.Reason),
            Is.Not.Empty.And.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged));
        Assert.That(arity.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason),
            Is.Not.Empty.And.All.AnyOf(IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged));
    }

    private static bool IsGenerated(MemberInfo member) =>
        member.GetCustomAttribute<GeneratedCodeAttribute>() is { Tool: "Equinox.Generators" };
}
