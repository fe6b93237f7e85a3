using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using Equinox.Tensors;

namespace Equinox.Benchmarks;

/// <summary>
/// The baseline: a tree walker that finds tensors and submodules by reflection, the way TorchSharp's Module registers
/// parameters and submodules (fields found with GetFields, read with FieldInfo.GetValue). Field lists are cached
/// per type, which is the best case for reflection; unflatten builds uninitialized objects and sets every field.
/// </summary>
internal static class ReflectionWalker
{
    private enum Kind { Static, Tensor, Module, ModuleArray }

    private sealed record Field(FieldInfo Info, Kind Kind);

    // Each type's fields and their kinds, found once: only GetValue/SetValue remain on the walk.
    private static readonly Dictionary<Type, Field[]> Fields = new();

    private static Field[] FieldsOf(Type type)
    {
        if (Fields.TryGetValue(type, out var fields)) return fields;
        var list = new List<FieldInfo>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            list.InsertRange(0, t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly));
        return Fields[type] = list.Select(f => new Field(f, KindOf(f.FieldType))).ToArray();
    }

    private static Kind KindOf(Type type) =>
        type == typeof(Tensor) ? Kind.Tensor
        : IsModule(type) ? Kind.Module
        : type.IsArray && IsModule(type.GetElementType()!) ? Kind.ModuleArray
        : Kind.Static;

    private static bool IsModule(Type type) => type.GetCustomAttribute<ModuleAttribute>() is not null;

    public static Tensor?[] Flatten(object tree)
    {
        var leaves = new List<Tensor?>();
        Collect(tree, leaves);
        return leaves.ToArray();
    }

    private static void Collect(object? node, List<Tensor?> leaves)
    {
        if (node is null) return;
        foreach (var (field, kind) in FieldsOf(node.GetType()))
        {
            switch (kind)
            {
                case Kind.Tensor: leaves.Add((Tensor?)field.GetValue(node)); break;
                case Kind.Module: Collect(field.GetValue(node), leaves); break;
                case Kind.ModuleArray:
                    foreach (var item in (IEnumerable?)field.GetValue(node) ?? Array.Empty<object>()) Collect(item, leaves);
                    break;
            }
        }
    }

    public static object Unflatten(object like, Tensor?[] leaves)
    {
        int position = 0;
        return Build(like, leaves, ref position)!;
    }

    private static object? Build(object? like, Tensor?[] leaves, ref int position)
    {
        if (like is null) return null;
        var type = like.GetType();
        var result = RuntimeHelpers.GetUninitializedObject(type);
        foreach (var (field, kind) in FieldsOf(type))
        {
            switch (kind)
            {
                case Kind.Tensor: field.SetValue(result, leaves[position++]); break;
                case Kind.Module: field.SetValue(result, Build(field.GetValue(like), leaves, ref position)); break;
                case Kind.ModuleArray:
                    var items = (Array?)field.GetValue(like);
                    if (items is null) { field.SetValue(result, null); break; }
                    var copy = Array.CreateInstance(field.FieldType.GetElementType()!, items.Length);
                    for (int i = 0; i < items.Length; i++) copy.SetValue(Build(items.GetValue(i), leaves, ref position), i);
                    field.SetValue(result, copy);
                    break;
                default: field.SetValue(result, field.GetValue(like)); break;
            }
        }
        return result;
    }
}
