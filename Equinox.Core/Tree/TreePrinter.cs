using System.ComponentModel;
using System.Globalization;
using System.Text;
using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// Prints modules the way Equinox does: <c>Linear(weight=f32[64,2], bias=f32[64], inFeatures=2)</c>, on one line
/// when it fits in <see cref="Width"/> characters, otherwise one field per line, indented two spaces per level.
/// </summary>
public static class TreePrinter
{
    /// <summary>The line width beyond which a node is broken over several lines.</summary>
    public const int Width = 80;

    /// <summary>The printed form of <paramref name="node"/>; generated <c>ToString()</c> methods call this.</summary>
    [EditorBrowsable(EditorBrowsableState.Advanced)]
    public static string Print(ITreeNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var text = new StringBuilder();
        Render(new Builder(new TreeCycles.Guard(node)).Build(node, 0), 0, 0, text);
        return text.ToString();
    }

    private abstract record Doc
    {
        public abstract int FlatLength { get; }
        public abstract void Flat(StringBuilder text);
    }

    private sealed record Text(string Value) : Doc
    {
        public override int FlatLength => Value.Length;
        public override void Flat(StringBuilder text) => text.Append(Value);
    }

    // A bracketed, comma-separated group: "Name(" items ")" or "[" items "]"; each item has an optional "label=".
    private sealed record Group(string Open, string Close, List<(string? Label, Doc Value)> Items) : Doc
    {
        private int flatLength = -1;

        public override int FlatLength
        {
            get
            {
                if (flatLength >= 0) return flatLength;
                int length = Open.Length + Close.Length;
                for (int i = 0; i < Items.Count; i++)
                {
                    if (i > 0) length += 2;
                    if (Items[i].Label is { } label) length += label.Length + 1;
                    length += Items[i].Value.FlatLength;
                }
                return flatLength = length;
            }
        }

        public override void Flat(StringBuilder text)
        {
            text.Append(Open);
            for (int i = 0; i < Items.Count; i++)
            {
                if (i > 0) text.Append(", ");
                if (Items[i].Label is { } label) text.Append(label).Append('=');
                Items[i].Value.Flat(text);
            }
            text.Append(Close);
        }
    }

    // `indent` is the indentation of the line the doc starts on; `column` is where on that line it starts.
    private static void Render(Doc doc, int indent, int column, StringBuilder text)
    {
        if (doc is not Group group || group.Items.Count == 0 || column + doc.FlatLength <= Width)
        {
            doc.Flat(text);
            return;
        }
        text.Append(group.Open).Append('\n');
        foreach (var (label, value) in group.Items)
        {
            text.Append(' ', indent + 2);
            if (label is not null) text.Append(label).Append('=');
            Render(value, indent + 2, indent + 2 + (label?.Length + 1 ?? 0), text);
            text.Append(",\n");
        }
        text.Append(' ', indent).Append(group.Close);
    }

    // Builds the document of a value `depth` levels below the root; the guard stops a tree that contains itself.
    private sealed class Builder(TreeCycles.Guard guard)
    {
        public Doc Build(object? value, int depth) => value switch
        {
            null => new Text("null"),
            Tensor tensor => new Text(tensor.Describe()),
            ITreeNode node => BuildNode(node, depth),
            TreeList list => new Group("[", "]", list.Items.Select(item => ((string?)null, Build(item, depth + 1))).ToList()),
            TreeDictionary dictionary => new Group("{", "}",
                dictionary.Entries.Select(e => ((string?)Quote(e.Key), Build(e.Value, depth + 1))).ToList()),
            _ => new Text(Static(value)),
        };

        private Doc BuildNode(ITreeNode node, int depth)
        {
            guard.At(depth);
            var fields = new FieldCollector(this, depth + 1);
            node.TreeVisit(fields);
            return new Group(TypeNames.Clr(node.GetType()) + "(", ")", fields.Items);
        }
    }

    private sealed class FieldCollector(Builder builder, int depth) : ITreeVisitor
    {
        public List<(string? Label, Doc Value)> Items { get; } = new();

        public void Tensor(string member, Tensor? value) => Items.Add((TreeNames.CamelCase(member), builder.Build(value, depth)));

        public void Child(string member, object? value) => Items.Add((TreeNames.CamelCase(member), builder.Build(value, depth)));

        public void Static(string member, object? value) => Items.Add((TreeNames.CamelCase(member), new Text(TreePrinter.Static(value))));
    }

    private static string Static(object? value) => value switch
    {
        null => "null",
        string s => Quote(s),
        bool b => b ? "true" : "false",
        float f => f.ToString("0.0###########", CultureInfo.InvariantCulture),
        double d => d.ToString("0.0###############", CultureInfo.InvariantCulture),
        Delegate d => $"<function {d.Method.Name}>",
        System.Collections.IEnumerable items and not ITreeNode => "[" + string.Join(", ", items.Cast<object?>().Select(Static)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
