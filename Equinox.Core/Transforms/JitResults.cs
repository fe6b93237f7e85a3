using System.Collections;
using System.Runtime.CompilerServices;
using Equinox.Tensors;

namespace Equinox;

/// <summary>
/// Finds the tensors in what a transformation's function returns (and in arguments): tensors, [Module] trees,
/// tuples, dictionaries (their values) and other collections of those. A transformation runs its function in a
/// <see cref="TensorScope"/> and keeps only the tensors found here, so a result type that the walk cannot see into is
/// rejected (<see cref="MoveOut"/>) rather than returned with its tensors freed.
/// </summary>
internal static class JitResults
{
    [ThreadStatic] private static HashSet<Tensor>? keep;

    /// <summary>
    /// Moves every tensor reachable from <paramref name="value"/> out of <paramref name="scope"/>. With
    /// <paramref name="what"/> given (e.g. "FilterJit: the function's result"), a value the walk cannot see into throws
    /// <see cref="NotSupportedException"/> naming it and its type, since its tensors would be freed with the scope;
    /// with null, such values are passed through as they are (FilterGrad's aux may be anything).
    /// </summary>
    internal static void MoveOut<T>(TensorScope scope, T value, string? what)
    {
        switch (value)
        {
            case null: return;
            case Tensor tensor: scope.MoveOut(tensor); return;
            case ITreeNode node:
                foreach (var leaf in Eqx.Flatten(node)) scope.MoveOut(leaf);
                return;
        }
        Walk(value, tensor => scope.MoveOut(tensor), what, "");
    }

    /// <summary>
    /// Calls <paramref name="action"/> on every tensor of a result, rejecting (as <see cref="MoveOut"/> does) a value
    /// whose tensors cannot be found.
    /// </summary>
    internal static void ForEachResultTensor(object? value, Action<Tensor> action, string what) => Walk(value, action, what, "");

    /// <summary>
    /// Calls <paramref name="action"/> on every tensor reachable from <paramref name="value"/>; values it cannot see
    /// into are skipped (arguments may be anything: their other values are static).
    /// </summary>
    internal static void ForEachTensor(object? value, Action<Tensor> action) => Walk(value, action, null, "");

    /// <summary>The tensors reachable from <paramref name="value"/>, by identity (a per-thread set: clear it after use).</summary>
    internal static HashSet<Tensor> Collect<T>(T value)
    {
        var set = keep ??= new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        set.Clear();
        ForEachTensor(value, tensor => set.Add(tensor));
        return set;
    }

    // `what` is null for a lenient walk; otherwise a value it cannot see into is an error, located by `path`.
    private static void Walk(object? value, Action<Tensor> action, string? what, string path)
    {
        switch (value)
        {
            case null:
                return;
            case Tensor tensor:
                action(tensor);
                return;
            case ITreeNode node:
                foreach (var leaf in Eqx.Flatten(node)) if (leaf is not null) action(leaf);
                return;
            case ITuple tuple:
                for (int i = 0; i < tuple.Length; i++) Walk(tuple[i], action, what, $"{path}.Item{i + 1}");
                return;
            case string:
                return;
            case Array array when array.GetType().GetElementType() is { } element && IsPlain(element):
                return;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary) Walk(entry.Value, action, what, $"{path}[{entry.Key}]");
                return;
            case IEnumerable items:
                int index = 0;
                foreach (var item in items) Walk(item, action, what, $"{path}[{index++}]");
                return;
        }
        if (what is null || IsPlain(value.GetType())) return;
        var type = TypeNames.Clr(value.GetType());
        var where = path.Length == 0 ? $"is a {type}" : $"holds a {type} at {path.TrimStart('.')}";
        throw new NotSupportedException(
            $"{what} {where}, which Equinox cannot look inside for tensors, so any tensor it holds would be " +
            "freed when the call returns. Results may be tensors, [Module] types, tuples, arrays, lists and dictionaries " +
            $"of those, and plain values (numbers, strings, enums, keys). Make {type} a [Module] (`[Module] public partial " +
            "record ...`: its tensors become leaves, its other fields static), or return its parts in a tuple.");
    }

    // Values that hold no tensors: returned as they are.
    private static bool IsPlain(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(decimal) || type == typeof(string) || type == typeof(Key)
        || type == typeof(Device) || type == typeof(DateTime) || type == typeof(TimeSpan) || type == typeof(Guid)
        || Nullable.GetUnderlyingType(type) is { } underlying && IsPlain(underlying);
}
