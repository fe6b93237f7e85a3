using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Tests.Trees;

// The module shapes the tree rules cover, used by TreeTests.

[Module]
public partial class Dense
{
    public static int ConstructorRuns;

    public readonly Tensor Weight;
    public readonly Tensor? Bias;
    public readonly int InFeatures;
    public readonly int OutFeatures;

    public Dense(int inFeatures, int outFeatures, Key key, bool useBias = true)
    {
        ConstructorRuns++;
        Weight = Tensor.Normal(key, [outFeatures, inFeatures]);
        Bias = useBias ? Tensor.Zeros(outFeatures) : null;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    public Tensor Forward(Tensor x) => Bias is null ? x.Matmul(Weight) : x.Matmul(Weight) + Bias;
}

[Module]
public partial class Stack
{
    public readonly ImmutableArray<Dense> Layers;
    [Static] public readonly Func<Tensor, Tensor> Activation;

    public Stack(ImmutableArray<Dense> layers, Func<Tensor, Tensor> activation)
    {
        Layers = layers;
        Activation = activation;
    }
}

// Inheritance: an abstract base module, fields first.
[Module]
public abstract partial class Layer : ITreeNode
{
    public readonly Tensor Scale;

    protected Layer(Tensor scale) => Scale = scale;
}

[Module]
public partial class ShiftedLayer : Layer
{
    public readonly Tensor Shift;
    public readonly string Label;

    public ShiftedLayer(Tensor scale, Tensor shift, string label) : base(scale)
    {
        Shift = shift;
        Label = label;
    }
}

// Generic modules.
[Module]
public sealed partial class Box<T> where T : class, ITreeNode
{
    public readonly T Value;
    public readonly T? Spare;

    public Box(T value, T? spare = null)
    {
        Value = value;
        Spare = spare;
    }
}

// Nested types.
public static partial class Outer
{
    [Module]
    public partial class Inner
    {
        public Tensor Gain { get; }

        public Inner(Tensor gain) => Gain = gain;
    }
}

// Collections: arrays, ImmutableArray, IReadOnlyList, ImmutableDictionary, nullable slots; init-only properties.
[Module]
public partial record Bag
{
    public Tensor[] Array { get; init; } = [];
    public IReadOnlyList<Dense> List { get; init; } = [];
    public ImmutableDictionary<string, Tensor> Tensors { get; init; } = ImmutableDictionary<string, Tensor>.Empty;
    public ImmutableDictionary<string, Dense> Modules { get; init; } = ImmutableDictionary<string, Dense>.Empty;
    public ImmutableArray<Tensor?> Maybe { get; init; } = [];
    public Dense? Missing { get; init; }
    public int[] Kernel { get; init; } = [];
}

// Fields typed by an interface.
public interface IBlock : ITreeNode;

[Module]
public partial class Chain
{
    public readonly ImmutableArray<IBlock> Blocks;
    public readonly IBlock? Head;

    public Chain(ImmutableArray<IBlock> blocks, IBlock? head)
    {
        Blocks = blocks;
        Head = head;
    }
}

[Module]
public sealed partial class Gain : IBlock
{
    public readonly Tensor Value;

    public Gain(Tensor value) => Value = value;
}

// A positional record (the generated constructors chain to its copy constructor).
[Module]
public partial record Pair(Dense Embedding, Dense Head);

// A module that stores itself: the analyzer rejects it (EQX0011), suppressed here to test the run-time checks.
[Module]
public partial class Loop
{
    public readonly Loop? Self;

#pragma warning disable EQX0011
    public Loop() => Self = this;
#pragma warning restore EQX0011
}

// Two modules that point at each other through an init-only property set in an object initializer: no analyzer sees it.
[Module]
public partial class Trunk
{
    public readonly Tensor Weight;
    public readonly Branch Branch;

    public Trunk(Tensor weight)
    {
        Weight = weight;
        Branch = new Branch { Back = this };
    }
}

[Module]
public partial class Branch
{
    public Trunk? Back { get; init; }
}

// A chain, which reflection can close into a ring, and which can be made deep without a cycle.
[Module]
public partial class Link
{
    public readonly Tensor Weight;
    public readonly Link? Next;

    public Link(Tensor weight, Link? next)
    {
        Weight = weight;
        Next = next;
    }
}

// A record (records do not cache their leaf count), closed into a ring through its init-only setter.
[Module]
public partial record Knot
{
    public Tensor? Weight { get; init; }
    public Knot? Next { get; init; }
}
