using Microsoft.CodeAnalysis;

namespace Equinox.Generators;

/// <summary>Every diagnostic of Equinox, in one table. Documented with an example each in docs/diagnostics.md.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Equinox.Modules";
    private const string Help = "https://github.com/equinox-csharp/equinox/blob/main/docs/diagnostics.md#";

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: Help + id.ToLowerInvariant());

    public static readonly DiagnosticDescriptor ModuleNotPartial = Error(
        "EQX0001", "A [Module] type must be partial",
        "'{0}' is marked [Module] but is not partial, so the generator cannot add its tree code; declare it 'partial {1} {0}'");

    public static readonly DiagnosticDescriptor ContainingTypeNotPartial = Error(
        "EQX0002", "A type containing a [Module] type must be partial",
        "'{0}' contains the module '{1}' but is not partial, so the generator cannot add the module's tree code; declare it 'partial {2} {0}'");

    public static readonly DiagnosticDescriptor MutableChildField = Error(
        "EQX0003", "A module's child field must be readonly",
        "The child field '{0}' of module '{1}' is not readonly; modules are immutable trees, so write 'public readonly {2} {0};' " +
        "and change it with Eqx.TreeAt or the generated With{0} instead of assigning it");

    public static readonly DiagnosticDescriptor SettableChildProperty = Error(
        "EQX0004", "A module's child property must not have a setter",
        "The child property '{0}' of module '{1}' has a setter; modules are immutable trees, so write '{{ get; }}' or '{{ get; init; }}' " +
        "and change it with Eqx.TreeAt or the generated With{0} instead of setting it");

    public static readonly DiagnosticDescriptor UnsupportedChildType = Error(
        "EQX0005", "The generator cannot handle this field's type",
        "The field '{0}' of module '{1}' cannot be handled: {2}. If it holds no tensors or modules, mark it [Static].");

    public static readonly DiagnosticDescriptor StaticTensor = new(
        "EQX0006", "A [Static] tensor is never trained or moved",
        "'{0}' is a tensor marked [Static]: it is part of the static structure, so it is never trained, never moved to " +
        "another device and compared by reference in the FilterJit cache; to keep a tensor out of training, leave it a child " +
        "and use Eqx.StopGradient where it is read, or filter it out with Eqx.Partition",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: Help + "eqx0006");

    public static readonly DiagnosticDescriptor ModuleContainsItself = Error(
        "EQX0007", "A module cannot contain itself by value",
        "'{0}.{1}' holds a non-nullable '{2}', which (through {3}) holds a '{0}' again: no finite tree has this type; " +
        "make the field nullable ('{2}? {1}') so that the chain can end with null, an empty subtree");

    public static readonly DiagnosticDescriptor SameObjectStoredTwice = Error(
        "EQX0008", "The same object is stored twice in a module",
        "'{0}' is stored in both {1} and {2}; a model is a tree, not a graph, so after the first update these become two " +
        "independent copies. To tie them on purpose, store the node once and re-insert it with Shared<T> " +
        "(new Shared<T>(tree, where: t => t.Second, get: t => t.First)); to have two independent nodes, create two objects.");

    public static readonly DiagnosticDescriptor DerivedTypeNotModule = Error(
        "EQX0009", "A type derived from a module must be a [Module] too",
        "'{0}' derives from the module '{1}' but is not marked [Module], so its own fields are invisible to the tree and " +
        "Unflatten would build a '{1}'; mark it '[Module] partial'");

    public static readonly DiagnosticDescriptor PrimaryConstructorNotSupported = Error(
        "EQX0010", "This module's constructor shape is not supported",
        "'{0}' {1}; the generated constructors could not build it without running user code. Declare its fields in the body " +
        "with an ordinary constructor (a positional record is fine when it does not derive from another module).");

    public static readonly DiagnosticDescriptor ModuleStoresItself = Error(
        "EQX0011", "A module's constructor stores 'this' in a child",
        "The constructor of '{0}' stores 'this' in its child '{1}', so the module would contain itself: a tree that never " +
        "ends, on which Flatten, LeafCount, ToString and every transformation fail. Build the child as a separate module " +
        "(for example 'new {0}(...)'), or leave the slot null.");

    public static readonly DiagnosticDescriptor[] All =
    {
        ModuleNotPartial, ContainingTypeNotPartial, MutableChildField, SettableChildProperty, UnsupportedChildType,
        StaticTensor, ModuleContainsItself, SameObjectStoredTwice, DerivedTypeNotModule, PrimaryConstructorNotSupported,
        ModuleStoresItself,
    };
}
