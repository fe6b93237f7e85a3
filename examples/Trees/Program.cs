// Modules and trees: build a small model, look at it, take it apart and put it back, edit one leaf, tie two weights.
// Also the NativeAOT smoke test: `dotnet publish examples/Trees -r linux-x64 -p:EqxAot=true`.
using System.Collections.Immutable;
using Equinox;
using Equinox.Tensors;

using var scope = Torch.Scope();
var (k1, k2) = Key.Create(0).Split();
var model = new Mlp([new Dense(2, 8, k1), new Dense(8, 1, k2)]);
Console.WriteLine(model);

var leaves = Eqx.Flatten(model);
var again = Eqx.Unflatten(model, leaves);
Console.WriteLine($"{leaves.Length} leaves; round trip equal: {Eqx.TreeEqual(model, again)}");
foreach (var (path, leaf) in Eqx.LeavesWithPaths(model)) Console.WriteLine($"  {path.StateDictKey,-16} {leaf?.Describe()}");

var zeroed = Eqx.TreeAt(model, m => m.Layers[1].Bias, Tensor.Zeros(1));
var (trainable, rest) = Eqx.Partition(zeroed, Eqx.IsInexactTensor);
Console.WriteLine($"partition/combine identity: {Eqx.TreeEqual(Eqx.Combine(trainable, rest), zeroed)}");

var tied = new Shared<Mlp>(new Mlp([new Dense(4, 4, k1), new Dense(4, 4, k2)]), where: m => m.Layers[1].Weight, get: m => m.Layers[0].Weight);
Eqx.TreeCheck(tied);
Console.WriteLine($"tied: {Eqx.Leaves(tied).Length} stored leaves; same weight: {ReferenceEquals(tied.Value.Layers[0].Weight, tied.Value.Layers[1].Weight)}");
try
{
    Eqx.TreeCheck(tied.Value);
}
catch (TreeCheckException e)
{
    Console.WriteLine($"TreeCheck: {e.Message[..e.Message.IndexOf(". ", StringComparison.Ordinal)]}.");
}

/// <summary>A dense layer: <c>y = x W^T + b</c>.</summary>
[Module]
public partial class Dense
{
    public readonly Tensor Weight;
    public readonly Tensor? Bias;
    public readonly int InFeatures;
    public readonly int OutFeatures;

    public Dense(int inFeatures, int outFeatures, Key key)
    {
        Weight = Tensor.Normal(key, [outFeatures, inFeatures]) * (1.0 / Math.Sqrt(inFeatures));
        Bias = Tensor.Zeros(outFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }
}

/// <summary>Layers applied in turn.</summary>
[Module]
public partial class Mlp
{
    public readonly ImmutableArray<Dense> Layers;

    public Mlp(ImmutableArray<Dense> layers) => Layers = layers;
}
