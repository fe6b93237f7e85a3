using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Equinox.Generators;

/// <summary>
/// Writes Equinox.Core's argument-count variants (FilterJitFunction of 1..N arguments; FilterValueAndGrad, FilterGrad
/// and their WithAux forms of the model and 1..N more arguments) from one template per family:
/// <see cref="FilterJitArityTemplate"/> and <see cref="FilterGradArityTemplate"/>. Triggered only by Equinox.Core's
/// internal <c>[assembly: ArityVariants]</c>, so the projects of users, who get this generator in the package, never
/// see it produce anything.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ArityGenerator : IIncrementalGenerator
{
    /// <summary>The tracking name of the step that reads the counts from the assembly attribute.</summary>
    public const string ModelStep = "ArityModel";

    /// <summary>The hint name of the FilterJitFunction variants.</summary>
    public const string FilterJitHintName = "Equinox.FilterJitFunction.Arity.g.cs";

    /// <summary>The hint name of the FilterGrad variants.</summary>
    public const string FilterGradHintName = "Equinox.Eqx.FilterGrad.Arity.g.cs";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var models = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ArityModel.Attribute,
                predicate: static (node, _) => node is CompilationUnitSyntax, // an [assembly: ...] attribute
                transform: static (ctx, _) => ArityModel.Parse(ctx))
            .Where(static model => model is not null)
            .WithTrackingName(ModelStep);

        context.RegisterSourceOutput(models, static (output, model) =>
        {
            output.AddSource(FilterJitHintName, SourceText.From(FilterJitArityTemplate.Emit(model!.FilterJitArguments), System.Text.Encoding.UTF8));
            output.AddSource(FilterGradHintName, SourceText.From(FilterGradArityTemplate.Emit(model.FilterGradExtraArguments), System.Text.Encoding.UTF8));
        });
    }
}
