using System.Text;

namespace Equinox;

/// <summary>
/// How messages and printed trees name a type: with C#'s generic and tuple syntax (<c>Box&lt;Linear&gt;</c>,
/// <c>(Tensor, Mlp)</c>) rather than the runtime's (<c>Box`1</c>, <c>ValueTuple`2</c>). The one place for that rule.
/// </summary>
internal static class TypeNames
{
    /// <summary>C#'s keywords for the common primitives as well: <c>int</c>, <c>string</c>, <c>(Tensor, int)</c>; <c>null</c> for none.</summary>
    internal static string CSharp(Type? type) => type is null ? "null" : Format(type, keywords: true);

    /// <summary>The runtime's names for primitives: <c>Int32</c>, <c>(Tensor, Int32)</c>, <c>Box&lt;Single&gt;</c>.</summary>
    internal static string Clr(Type type) => Format(type, keywords: false);

    private static string Format(Type type, bool keywords)
    {
        if (keywords && Keyword(type) is { } keyword) return keyword;
        if (!type.IsGenericType) return type.Name;
        var builder = new StringBuilder();
        if (type.FullName?.StartsWith("System.ValueTuple`", StringComparison.Ordinal) == true) builder.Append('(');
        else
        {
            var name = type.Name;
            int tick = name.IndexOf('`');
            builder.Append(tick < 0 ? name : name[..tick]).Append('<');
        }
        var arguments = type.GetGenericArguments();
        for (int i = 0; i < arguments.Length; i++)
        {
            if (i > 0) builder.Append(", ");
            builder.Append(Format(arguments[i], keywords));
        }
        return builder.Append(builder[0] == '(' ? ')' : '>').ToString();
    }

    private static string? Keyword(Type type) =>
        type == typeof(int) ? "int"
        : type == typeof(long) ? "long"
        : type == typeof(float) ? "float"
        : type == typeof(double) ? "double"
        : type == typeof(bool) ? "bool"
        : type == typeof(string) ? "string"
        : null;
}
