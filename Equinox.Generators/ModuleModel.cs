namespace Equinox.Generators;

/// <summary>What role a field plays in the tree.</summary>
internal enum FieldRole
{
    /// <summary>Part of the static structure: copied on unflatten, compared with Equals.</summary>
    Static,

    /// <summary>A tensor slot.</summary>
    Tensor,

    /// <summary>A module (or anything implementing ITreeNode).</summary>
    Module,

    /// <summary>A collection whose elements are tensors or modules.</summary>
    Collection,
}

/// <summary>One field or auto-property of a module, as the emitter needs it. Holds no symbols.</summary>
/// <param name="Name">The C# member name.</param>
/// <param name="Type">The fully qualified type, with nullable annotations.</param>
/// <param name="Role">
/// Child or static. The emitter needs no more: what a child's type means (a tensor, a module, which collection) is
/// decided by overload resolution on <c>Equinox.TreeChildren</c> in the generated code.
/// </param>
internal sealed record FieldModel(string Name, string Type, FieldRole Role);

/// <summary>A type that contains the module, for the partial declarations around it.</summary>
/// <param name="Keyword">class, struct, record, record struct or interface.</param>
/// <param name="Name">The name with its type parameters.</param>
internal sealed record ContainingTypeModel(string Keyword, string Name);

/// <summary>How the generated constructors start.</summary>
internal enum ConstructionKind
{
    /// <summary>Plain constructors chaining to the base module's generated constructors, or to object().</summary>
    Constructor,

    /// <summary>A positional record: chain to its copy constructor, then overwrite the children.</summary>
    RecordCopy,
}

/// <summary>Everything the emitter needs about one [Module] type. Equatable; holds no symbols.</summary>
internal sealed record ModuleModel(
    string? Namespace,
    string Name,
    string NameWithTypeParameters,
    string FullyQualifiedName,
    string HintName,
    string Keyword,
    EquatableArray<ContainingTypeModel> ContainingTypes,
    bool IsSealed,
    bool IsAbstract,
    bool HasModuleBase,
    bool BaseIsAbstractModule,
    ConstructionKind Construction,
    bool DeclaresToString,
    bool NeedsDefaultConstructor,
    EquatableArray<string> ExistingMemberNames,
    EquatableArray<FieldModel> Fields);
