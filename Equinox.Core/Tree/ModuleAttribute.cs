namespace Equinox;

/// <summary>
/// Marks a <c>partial class</c> or <c>partial record</c> as a module: an immutable tree whose children are its tensors,
/// its modules and collections of them. The Equinox source generator writes the tree code for it at compile time
/// (flatten, unflatten, leaf paths, equality of the static part, <c>With…</c> copies and <c>ToString()</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ModuleAttribute : Attribute
{
}

/// <summary>
/// Makes a field or property of a module part of its static structure even though its type would make it a child:
/// it is never flattened into leaves, never trained and compared with <c>Equals</c> in the FilterJit cache key.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class StaticAttribute : Attribute
{
}
