using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Equinox.Generators;

/// <summary>
/// Writes the tree contract (<c>Equinox.ITreeNode</c>) for every <c>[Module] partial class</c> or <c>partial record</c>:
/// attribute → equatable model (<see cref="ModuleParser"/>) → source (<see cref="ModuleEmitter"/>). Mistakes are
/// reported by <see cref="ModuleAnalyzer"/>, not here, so they can be suppressed with a pragma.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ModuleGenerator : IIncrementalGenerator
{
    /// <summary>The tracking name of the step that turns a [Module] type into its model.</summary>
    public const string ModelStep = "ModuleModel";

    /// <summary>The tracking name of the step that drops types no code can be generated for.</summary>
    public const string FilteredStep = "ModuleModelFiltered";

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var models = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                TreeTypes.ModuleAttribute,
                predicate: static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                transform: static (ctx, cancellation) => ModuleParser.Parse((INamedTypeSymbol)ctx.TargetSymbol, cancellation))
            .WithTrackingName(ModelStep)
            .Where(static model => model is not null)
            .WithTrackingName(FilteredStep);

        context.RegisterSourceOutput(models, static (output, model) =>
            output.AddSource(model!.HintName, SourceText.From(ModuleEmitter.Emit(model), System.Text.Encoding.UTF8)));
    }
}
