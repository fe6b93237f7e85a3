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

/// <summary>Which collection a collection child is.</summary>
internal enum CollectionKind
{
    None,
    Array,
    ImmutableArray,
    ReadOnlyList,
    Dictionary,
}

/// <summary>How a static field is compared.</summary>
internal enum StaticComparison
{
    Default,
    Array,
    ImmutableArray,
}

/// <summary>One field or auto-property of a module, as the emitter needs it. Holds no symbols.</summary>
/// <param name="Name">The C# member name.</param>
/// <param name="Type">The fully qualified type, with nullable annotations.</param>
/// <param name="CastType">The fully qualified type without a top-level nullable annotation, for casts.</param>
/// <param name="Role">Child or static.</param>
/// <param name="Collection">The collection kind, for collection children.</param>
/// <param name="ElementType">The element type of a collection child, fully qualified.</param>
/// <param name="ElementIsTensor">Whether the collection's elements are tensors (else modules).</param>
/// <param name="Comparison">How a static field is compared.</param>
/// <param name="StaticElementType">The element type of an array-like static field.</param>
internal sealed record FieldModel(
    string Name,
    string Type,
    string CastType,
    FieldRole Role,
    CollectionKind Collection,
    string ElementType,
    bool ElementIsTensor,
    StaticComparison Comparison,
    string StaticElementType);

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
