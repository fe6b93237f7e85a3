using System.Text;
using static Equinox.Generators.ArityText;

namespace Equinox.Generators;

/// <summary>
/// The template of FilterValueAndGrad, FilterGrad, FilterValueAndGradWithAux and FilterGradWithAux for a function of
/// the model and n more arguments, which are passed through and not differentiated. The forms of the model alone are
/// hand-written in Equinox.Core/Transforms/FilterGrad.cs; every variant calls the model-alone form's machinery.
/// </summary>
internal static class FilterGradArityTemplate
{
    private const string AuxForm = "FilterValueAndGradWithAux{T, TAux}(Func{T, ValueTuple{Tensor, TAux}})";

    public static string Emit(int maxExtraArguments)
    {
        var text = new StringBuilder(Header(nameof(FilterGradArityTemplate)));
        text.Append("using Equinox.Tensors;\n\nnamespace Equinox;\n\npublic static partial class Eqx\n{\n");
        for (int n = 1; n <= maxExtraArguments; n++)
        {
            if (n > 1) text.Append('\n');
            text.Append(Overloads(n));
        }
        text.Append("}\n");
        return text.ToString();
    }

    private static string Overloads(int n)
    {
        var types = Join(n, i => $"T{Letter(i)}");                    // TA, TB
        var values = Join(n, i => Letter(i).ToLowerInvariant());      // a, b
        var more = Words(n, "more argument");                         // one more argument, two more arguments
        var moreNotDifferentiated = Words(n, "more (not differentiated) argument");
        var aux = "(Tensor Value, TAux Aux)";
        return $$"""
                /// <summary>
                /// <see cref="FilterValueAndGrad{T}(Func{T, Tensor})"/> for a loss of the model and {{more}}, which {{(n == 1 ? "is" : "are")}}
                /// passed through and not differentiated.
                /// </summary>
                {{GeneratedCode}}
                public static Func<T, {{types}}, (Tensor Value, T Grads)> FilterValueAndGrad<T, {{types}}>(Func<T, {{types}}, Tensor> f) where T : ITreeNode
                {
                    ArgumentNullException.ThrowIfNull(f);
                    return (model, {{values}}) =>
                    {
                        var (value, _, grads) = GradTransform.Run(model, m => (f(m, {{values}}), (object?)null), nameof(FilterValueAndGrad));
                        return (value, grads);
                    };
                }

                /// <summary>The gradient alone, for a loss of the model and {{moreNotDifferentiated}}.</summary>
                {{GeneratedCode}}
                public static Func<T, {{types}}, T> FilterGrad<T, {{types}}>(Func<T, {{types}}, Tensor> f) where T : ITreeNode
                {
                    var valueAndGrad = FilterValueAndGrad(f);
                    return (model, {{values}}) => valueAndGrad(model, {{values}}).Grads;
                }

                /// <summary>The aux form (<see cref="{{AuxForm}}"/>) with {{Words(n, "more, not differentiated, argument")}}.</summary>
                {{GeneratedCode}}
                public static Func<T, {{types}}, (Tensor Value, TAux Aux, T Grads)> FilterValueAndGradWithAux<T, {{types}}, TAux>(Func<T, {{types}}, {{aux}}> f)
                    where T : ITreeNode
                {
                    ArgumentNullException.ThrowIfNull(f);
                    return (model, {{values}}) => GradTransform.Run(model, m => f(m, {{values}}), nameof(FilterValueAndGradWithAux));
                }

                /// <summary>The gradients and the aux, for a function of the model and {{moreNotDifferentiated}}.</summary>
                {{GeneratedCode}}
                public static Func<T, {{types}}, (T Grads, TAux Aux)> FilterGradWithAux<T, {{types}}, TAux>(Func<T, {{types}}, {{aux}}> f) where T : ITreeNode
                {
                    var valueAndGrad = FilterValueAndGradWithAux(f);
                    return (model, {{values}}) =>
                    {
                        var (_, aux, grads) = valueAndGrad(model, {{values}});
                        return (grads, aux);
                    };
                }

            """;
    }
}
