using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests;

/// <summary>
/// The runtime's layers, bottom up: Torch (tensors and the native shim), Tree (the tree contract and the functions
/// over trees), Transforms (FilterJit, FilterGrad, FilterVmap, Scan, ErrorIf). A layer uses only the layers below it.
/// Torch is told apart by its namespaces (<c>Equinox.Tensors</c>, <c>Equinox.Tensors.Interop</c>). Tree and Transforms
/// share the <c>Equinox</c> namespace (and <c>Eqx</c> is one partial class across both), so they are told apart by
/// source file, read from Equinox.Core's portable PDB: code in a file under <c>Equinox.Core/Tree/</c> is Tree code, and
/// a type or member declared only in files under <c>Equinox.Core/Transforms/</c> belongs to Transforms.
/// </summary>
public class LayeringTests
{
    private static readonly Assembly Core = typeof(Tensor).Assembly;

    [Test]
    public void TorchReferencesNoEquinoxTypeOutsideTorch()
    {
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        Assert.That(Types().Count(t => IsTorch(Outermost(t))), Is.GreaterThan(10), "Equinox.Tensors's types are found");
        foreach (var type in Types().Where(t => IsTorch(Outermost(t))))
            foreach (var (site, referenced) in References(type, wholeType: true, _ => true))
            {
                if (referenced is Type t && IsEquinox(t) && !IsTorch(Outermost(t)))
                    violations.Add($"{site} uses {t.FullName}");
            }
        Assert.That(violations, Is.Empty,
            "Equinox.Tensors is the bottom layer: it must not use the tree or transformation layers above it.\n" +
            string.Join("\n", violations));
    }

    [Test]
    public void TreeCodeReferencesNothingDeclaredInTransforms()
    {
        var map = SourceMap.Load(Core);
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        var treeTypes = Types().Where(t => map.Layers(t) is { Count: > 0 } layers && layers.All(l => l == Layer.Tree)).ToList();
        Assert.That(treeTypes.Select(t => t.Name), Does.Contain(nameof(TreePath)).And.Contain("TreeChildren"),
            "The PDB should place the tree types in Equinox.Core/Tree/.");
        // The scan has teeth: it sees the seam ApplyUpdates (Tree code in the partial Eqx) reads.
        Assert.That(References(typeof(Eqx), wholeType: false, m => m.Name == nameof(Eqx.ApplyUpdates)).Select(r => r.Referenced.Name),
            Does.Contain("InPlaceUpdates"));
        foreach (var type in Types())
        {
            bool wholeType = treeTypes.Contains(type);
            foreach (var (site, referenced) in References(type, wholeType, m => map.Layers(m).Contains(Layer.Tree)))
            {
                bool transforms = referenced switch
                {
                    Type t => Decompose(t).Any(map.IsTransforms),
                    MethodBase m => map.IsTransforms(m) || map.IsTransforms(m.DeclaringType!),
                    FieldInfo f => map.IsTransforms(f.DeclaringType!),
                    _ => false,
                };
                if (transforms) violations.Add($"{site} uses {Describe(referenced)}");
            }
        }
        Assert.That(violations, Is.Empty,
            "Code in Equinox.Core/Tree/ must not use what Equinox.Core/Transforms/ declares: the transformations are " +
            "built on the trees. Give the tree layer a seam that the transformation installs instead.\n" +
            string.Join("\n", violations));
    }

    [Test]
    public void OptimSitsOnTreeAndTorchAndNothingBelowUsesIt()
    {
        var map = SourceMap.Load(Core);
        static bool IsOptim(Type t) => Outermost(t).Namespace == "Equinox.Optim";
        var optimTypes = Types().Where(IsOptim).ToList();
        Assert.That(optimTypes.Select(t => t.Name), Does.Contain("Adam").And.Contain("Optimizer"), "Equinox.Optim's types are found");
        // The scan has teeth: it sees the seam through which a donated state is updated in place.
        Assert.That(References(optimTypes.Single(t => t.Name == "Optimizer"), wholeType: true, _ => true)
                .Select(r => r.Referenced switch { Type t => t.Name, MethodBase m => m.DeclaringType!.Name, _ => "" }),
            Does.Contain("InPlaceUpdates"));
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in Types())
        {
            bool optim = IsOptim(type);
            foreach (var (site, referenced) in References(type, wholeType: true, _ => true))
            {
                if (optim)
                {
                    bool transforms = referenced switch
                    {
                        Type t => Decompose(t).Any(map.IsTransforms),
                        MethodBase m => map.IsTransforms(m) || map.IsTransforms(m.DeclaringType!),
                        _ => false,
                    };
                    if (transforms) violations.Add($"{site} uses {Describe(referenced)} (a transformation)");
                }
                else if (referenced is Type t && Decompose(t).Any(IsOptim))
                    violations.Add($"{site} uses {t.FullName} (an optimiser type)");
            }
        }
        Assert.That(violations, Is.Empty,
            "Equinox.Optim is built on the tree and tensor layers: it must not use the transformations (FilterJit reaches it " +
            "through the InPlaceUpdates seam), and nothing below it may use it.\n" + string.Join("\n", violations));
    }

    [Test]
    public void DistributedSitsOnTreeAndTorchAndNothingElseInCoreUsesIt()
    {
        var map = SourceMap.Load(Core);
        static bool IsDistributed(Type t) => Outermost(t).Namespace == "Equinox.Distributed";
        static bool IsOptim(Type t) => Outermost(t).Namespace == "Equinox.Optim";
        var distributedTypes = Types().Where(IsDistributed).ToList();
        Assert.That(distributedTypes.Select(t => t.Name), Does.Contain("ProcessGroup").And.Contain("TcpStoreServer"),
            "Equinox.Distributed's types are found");
        // The scan has teeth: it sees ProcessGroup's use of the tree layer.
        Assert.That(References(distributedTypes.Single(t => t.Name == "ProcessGroup"), wholeType: true, _ => true)
                .Select(r => r.Referenced switch { Type t => t.Name, MethodBase m => m.DeclaringType!.Name, _ => "" }),
            Does.Contain("Eqx"));
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in Types())
        {
            bool distributed = IsDistributed(type);
            foreach (var (site, referenced) in References(type, wholeType: true, _ => true))
            {
                if (distributed)
                {
                    bool above = referenced switch
                    {
                        Type t => Decompose(t).Any(d => map.IsTransforms(d) || IsOptim(d)),
                        MethodBase m => map.IsTransforms(m) || map.IsTransforms(m.DeclaringType!) || IsOptim(m.DeclaringType!),
                        _ => false,
                    };
                    if (above) violations.Add($"{site} uses {Describe(referenced)} (a transformation or optimiser)");
                }
                else if (referenced is Type t && Decompose(t).Any(IsDistributed))
                    violations.Add($"{site} uses {t.FullName} (a distributed type)");
            }
        }
        Assert.That(violations, Is.Empty,
            "Equinox.Distributed is built on the tree and tensor layers only (collectives over trees), and nothing else in " +
            "Equinox.Core uses it.\n" + string.Join("\n", violations));
    }

    private enum Layer { Torch, Tree, Transforms, Other }

    private static IEnumerable<Type> Types() => Core.GetTypes();

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer) type = outer;
        return type;
    }

    private static bool IsTorch(Type type) => type.Namespace is "Equinox.Tensors" or "Equinox.Tensors.Interop";

    private static bool IsEquinox(Type type) =>
        type.Assembly.GetName().Name?.StartsWith("Equinox", StringComparison.Ordinal) == true
        && type.Namespace?.StartsWith("Equinox", StringComparison.Ordinal) == true;

    private static string Describe(MemberInfo member) =>
        member is Type t ? t.FullName ?? t.Name : $"{member.DeclaringType?.FullName}.{member.Name}";

    // A type and the types it is built from: element types and generic arguments, as generic definitions.
    private static IEnumerable<Type> Decompose(Type type)
    {
        if (type.HasElementType)
        {
            foreach (var inner in Decompose(type.GetElementType()!)) yield return inner;
            yield break;
        }
        if (type.IsGenericParameter) yield break;
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            yield return type.GetGenericTypeDefinition();
            foreach (var argument in type.GetGenericArguments())
                foreach (var inner in Decompose(argument)) yield return inner;
            yield break;
        }
        yield return type;
    }

    // Every type and member that `type` refers to: with `wholeType`, its base type, interfaces, fields and all its
    // methods; otherwise only the methods `include` selects: their signatures, locals and the members their IL
    // names. Each with the place that refers to it.
    private static IEnumerable<(string Site, MemberInfo Referenced)> References(Type type, bool wholeType, Func<MethodBase, bool> include)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                 BindingFlags.Static | BindingFlags.DeclaredOnly;
        var name = type.FullName ?? type.Name;
        if (wholeType)
        {
            if (type.BaseType is { } baseType)
                foreach (var t in Decompose(baseType)) yield return (name, t);
            foreach (var @interface in type.GetInterfaces())
                foreach (var t in Decompose(@interface)) yield return (name, t);
            foreach (var field in type.GetFields(all))
                foreach (var t in Decompose(field.FieldType)) yield return ($"{name}.{field.Name}", t);
        }
        var methods = type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all));
        foreach (var method in methods)
        {
            if (!wholeType && !include(method)) continue;
            var site = $"{name}.{method.Name}";
            var signature = method.GetParameters().Select(p => p.ParameterType);
            if (method is MethodInfo info) signature = signature.Append(info.ReturnType);
            foreach (var part in signature)
                foreach (var t in Decompose(part)) yield return (site, t);
            var body = method.GetMethodBody();
            if (body is null) continue;
            foreach (var local in body.LocalVariables)
                foreach (var t in Decompose(local.LocalType)) yield return (site, t);
            foreach (var member in Il.Members(method, body.GetILAsByteArray()!))
            {
                if (member is Type t)
                    foreach (var part in Decompose(t)) yield return (site, part);
                else
                {
                    yield return (site, member);
                    if (member.DeclaringType is { } declaring)
                        foreach (var part in Decompose(declaring)) yield return (site, part);
                }
            }
        }
    }

    /// <summary>Reads the members a method's IL names (call, newobj, ldfld, ldtoken, box, ...).</summary>
    private static class Il
    {
        private static readonly OpCode[] OneByte = new OpCode[0x100];
        private static readonly OpCode[] TwoByte = new OpCode[0x100];

        static Il()
        {
            foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var op = (OpCode)field.GetValue(null)!;
                ushort value = (ushort)op.Value;
                if (op.Size == 1) OneByte[value] = op;
                else TwoByte[value & 0xFF] = op;
            }
        }

        internal static IEnumerable<MemberInfo> Members(MethodBase method, byte[] il)
        {
            var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
            var methodArguments = method is MethodInfo { IsGenericMethod: true } m ? m.GetGenericArguments() : null;
            int i = 0;
            while (i < il.Length)
            {
                byte code = il[i++];
                var op = code == 0xFE ? TwoByte[il[i++]] : OneByte[code];
                switch (op.OperandType)
                {
                    case OperandType.InlineNone:
                        break;
                    case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                        i += 1;
                        break;
                    case OperandType.InlineVar:
                        i += 2;
                        break;
                    case OperandType.InlineI8 or OperandType.InlineR:
                        i += 8;
                        break;
                    case OperandType.InlineSwitch:
                        i += 4 + 4 * BitConverter.ToInt32(il, i);
                        break;
                    case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineType or OperandType.InlineTok:
                        int token = BitConverter.ToInt32(il, i);
                        i += 4;
                        yield return method.Module.ResolveMember(token, typeArguments, methodArguments)!;
                        break;
                    default: // InlineBrTarget, InlineI, ShortInlineR, InlineString, InlineSig
                        i += 4;
                        break;
                }
            }
        }
    }

    /// <summary>Which source files declare each method and type of an assembly, from its portable PDB.</summary>
    private sealed class SourceMap
    {
        // Roslyn's custom debug information listing the files of a type that has no method bodies (enums, interfaces).
        private static readonly Guid TypeDefinitionDocuments = new("932E74BC-DBA9-4478-8D46-0F32A7BAB3D3");

        private readonly Dictionary<int, HashSet<Layer>> methods = new();
        private readonly Dictionary<int, HashSet<Layer>> types = new();

        internal static SourceMap Load(Assembly assembly)
        {
            var pdb = Path.ChangeExtension(assembly.Location, ".pdb");
            Assert.That(File.Exists(pdb), Is.True, $"The layering test reads {pdb}; build with portable PDBs.");
            var map = new SourceMap();
            using var stream = File.OpenRead(pdb);
            using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
            var reader = provider.GetMetadataReader();
            Layer LayerOf(DocumentHandle document) => LayerOfFile(reader.GetString(reader.GetDocument(document).Name));
            foreach (var handle in reader.MethodDebugInformation)
            {
                var info = reader.GetMethodDebugInformation(handle);
                var layers = new HashSet<Layer>();
                if (!info.Document.IsNil) layers.Add(LayerOf(info.Document));
                else if (!info.SequencePointsBlob.IsNil)
                    foreach (var point in info.GetSequencePoints()) layers.Add(LayerOf(point.Document));
                if (layers.Count > 0) map.methods[0x06000000 | MetadataTokens.GetRowNumber(handle)] = layers;
            }
            foreach (var handle in reader.CustomDebugInformation)
            {
                var information = reader.GetCustomDebugInformation(handle);
                if (information.Parent.Kind != HandleKind.TypeDefinition || reader.GetGuid(information.Kind) != TypeDefinitionDocuments)
                    continue;
                var blob = reader.GetBlobReader(information.Value);
                var layers = new HashSet<Layer>();
                while (blob.RemainingBytes > 0) layers.Add(LayerOf(MetadataTokens.DocumentHandle(blob.ReadCompressedInteger())));
                map.types[MetadataTokens.GetToken(information.Parent)] = layers;
            }
            return map;
        }

        private static Layer LayerOfFile(string path)
        {
            path = path.Replace('\\', '/');
            if (path.Contains("/Equinox.Core/Tree/", StringComparison.Ordinal)) return Layer.Tree;
            if (path.Contains("/Equinox.Core/Transforms/", StringComparison.Ordinal)) return Layer.Transforms;
            if (path.Contains("/Equinox.Core/Torch/", StringComparison.Ordinal)) return Layer.Torch;
            return Layer.Other;
        }

        /// <summary>The layers of the files that declare <paramref name="method"/> (empty when it has no body in source).</summary>
        internal IReadOnlySet<Layer> Layers(MethodBase method) =>
            method.Module.Assembly == Core && methods.TryGetValue(method.MetadataToken, out var layers)
                ? layers
                : new HashSet<Layer>();

        /// <summary>The layers of the files that declare <paramref name="type"/>, or of its enclosing type when none say.</summary>
        internal IReadOnlySet<Layer> Layers(Type type)
        {
            if (type.Assembly != Core) return new HashSet<Layer>();
            var layers = new HashSet<Layer>();
            if (types.TryGetValue(type.MetadataToken, out var declared)) layers.UnionWith(declared);
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                     BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
                layers.UnionWith(Layers(method));
            if (layers.Count == 0 && type.DeclaringType is { } outer) return Layers(outer);
            return layers;
        }

        internal bool IsTransforms(MethodBase method) =>
            Layers(method) is { Count: > 0 } layers && layers.All(l => l == Layer.Transforms);

        internal bool IsTransforms(Type type) =>
            Layers(type) is { Count: > 0 } layers && layers.All(l => l == Layer.Transforms);
    }
}
