using System.Text;

namespace Equinox;

/// <summary>What kind of step a <see cref="TreeStep"/> is.</summary>
public enum TreeStepKind
{
    /// <summary>A field or property of a module, by its C# name.</summary>
    Member,

    /// <summary>A position in an array or list.</summary>
    Index,

    /// <summary>A key of a dictionary.</summary>
    Key,
}

/// <summary>One step of a <see cref="TreePath"/>: a member name, a list index or a dictionary key.</summary>
public readonly record struct TreeStep
{
    private TreeStep(TreeStepKind kind, string? name, int index)
    {
        Kind = kind;
        Name = name;
        Index = index;
    }

    /// <summary>Whether this step is a member, an index or a key.</summary>
    public TreeStepKind Kind { get; }

    /// <summary>The member name or dictionary key; null for an index.</summary>
    public string? Name { get; }

    /// <summary>The list index; 0 for the other kinds.</summary>
    public int Index { get; }

    /// <summary>A step into the field or property named <paramref name="name"/>.</summary>
    public static TreeStep Member(string name) => new(TreeStepKind.Member, name, 0);

    /// <summary>A step to position <paramref name="index"/> of a list.</summary>
    public static TreeStep At(int index) => new(TreeStepKind.Index, null, index);

    /// <summary>A step to the entry <paramref name="key"/> of a dictionary.</summary>
    public static TreeStep Key(string key) => new(TreeStepKind.Key, key, 0);

    /// <summary>The step as C# would write it: <c>.Weight</c>, <c>[0]</c> or <c>["key"]</c>.</summary>
    public override string ToString() => Kind switch
    {
        TreeStepKind.Member => "." + Name,
        TreeStepKind.Index => $"[{Index}]",
        _ => $"[\"{Name}\"]",
    };
}

/// <summary>
/// Where a node sits in a tree: <c>Layers[0].Weight</c> for messages (<see cref="ToString"/>) and
/// <c>layers.0.weight</c> for files (<see cref="StateDictKey"/>, PyTorch's <c>state_dict</c> style).
/// </summary>
public sealed class TreePath : IEquatable<TreePath>
{
    private readonly TreeStep[] steps;

    /// <summary>The path to the root itself.</summary>
    public static TreePath Root { get; } = new([]);

    /// <summary>A path made of <paramref name="steps"/>, from the root down.</summary>
    public TreePath(params TreeStep[] steps) => this.steps = (TreeStep[])steps.Clone();

    private TreePath(TreeStep[] steps, bool _) => this.steps = steps;

    /// <summary>The steps from the root down.</summary>
    public IReadOnlyList<TreeStep> Steps => steps;

    /// <summary>This path followed by <paramref name="step"/>.</summary>
    public TreePath Append(TreeStep step)
    {
        var longer = new TreeStep[steps.Length + 1];
        steps.CopyTo(longer, 0);
        longer[^1] = step;
        return new TreePath(longer, true);
    }

    /// <summary>Whether this path is <paramref name="prefix"/> or lies below it.</summary>
    public bool StartsWith(TreePath prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return steps.AsSpan().StartsWith(prefix.steps);
    }

    /// <summary>The path as C# would write it after the root: <c>Layers[0].Weight</c>; the root is <c>(root)</c>.</summary>
    public override string ToString()
    {
        if (steps.Length == 0) return "(root)";
        var text = new StringBuilder();
        foreach (var step in steps)
        {
            if (step.Kind == TreeStepKind.Member && text.Length == 0) text.Append(step.Name);
            else text.Append(step.ToString());
        }
        return text.ToString();
    }

    /// <summary>
    /// The path as a PyTorch <c>state_dict</c> key, member names in snake case as PyTorch's and Equinox's attributes:
    /// <c>Layers[0].Weight</c> is <c>layers.0.weight</c>, <c>QueryProj.Weight</c> is <c>query_proj.weight</c>.
    /// </summary>
    public string StateDictKey
    {
        get
        {
            var parts = new string[steps.Length];
            for (int i = 0; i < steps.Length; i++)
            {
                parts[i] = steps[i].Kind switch
                {
                    TreeStepKind.Member => TreeNames.SnakeCase(steps[i].Name!),
                    TreeStepKind.Index => steps[i].Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    _ => steps[i].Name!,
                };
            }
            return string.Join(".", parts);
        }
    }

    /// <inheritdoc/>
    public bool Equals(TreePath? other) => other is not null && steps.AsSpan().SequenceEqual(other.steps);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TreePath);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var step in steps) hash.Add(step);
        return hash.ToHashCode();
    }
}

/// <summary>Naming shared by paths and printing.</summary>
internal static class TreeNames
{
    /// <summary><c>InFeatures</c> becomes <c>inFeatures</c> (printing); a name already in camel case is unchanged.</summary>
    public static string CamelCase(string name) =>
        name.Length == 0 || char.IsLower(name[0]) ? name : char.ToLowerInvariant(name[0]) + name[1..];

    /// <summary>
    /// <c>WeightIh</c> becomes <c>weight_ih</c>, <c>RMSNorm</c> <c>rms_norm</c>; a name already in snake case is
    /// unchanged.
    /// </summary>
    public static string SnakeCase(string name)
    {
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                // A word starts at an upper-case letter after a lower-case one or a digit, or at the last capital of an
                // acronym followed by a lower-case letter (RMSNorm: RMS, Norm).
                bool afterLower = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                bool endsAcronym = i > 0 && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if ((afterLower || endsAcronym) && text.Length > 0 && text[^1] != '_') text.Append('_');
                text.Append(char.ToLowerInvariant(c));
            }
            else text.Append(c);
        }
        return text.ToString();
    }
}
