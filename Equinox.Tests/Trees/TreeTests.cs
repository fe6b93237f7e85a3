using System.Collections.Immutable;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Trees;

public class TreeTests
{
    private TensorScope scope = null!;

    [SetUp]
    public void OpenScope() => scope = Torch.Scope();

    [TearDown]
    public void CloseScope() => scope.Dispose();

    private static Dense NewDense(int inFeatures, int outFeatures, int seed = 0, bool bias = true) =>
        new(inFeatures, outFeatures, Key.Create(seed), bias);

    private static Stack NewStack() =>
        new([NewDense(2, 4, 1), NewDense(4, 4, 2), NewDense(4, 1, 3)], x => x);

    private static Bag NewBag() => new()
    {
        Array = [Tensor.Ones(2), Tensor.Zeros(3)],
        List = [NewDense(1, 2, 4), NewDense(2, 1, 5, bias: false)],
        Tensors = ImmutableDictionary<string, Tensor>.Empty.Add("b", Tensor.Ones(1)).Add("a", Tensor.Zeros(1)),
        Modules = ImmutableDictionary<string, Dense>.Empty.Add("z", NewDense(1, 1, 6)).Add("y", NewDense(1, 1, 7)),
        Maybe = [null, Tensor.Ones(4)],
        Kernel = [3, 3],
    };

    private static void AssertRoundTrip<T>(T tree, int expectedSlots) where T : class, ITreeNode
    {
        var leaves = Eqx.Flatten(tree);
        Assert.That(leaves, Has.Length.EqualTo(expectedSlots));
        var rebuilt = Eqx.Unflatten(tree, leaves);
        Assert.That(rebuilt, Is.Not.SameAs(tree), "Unflatten builds a new node");
        Assert.That(rebuilt.TreeStaticEquals(tree), Is.True, "same structure and static part");
        Assert.That(rebuilt.TreeStaticHashCode(), Is.EqualTo(tree.TreeStaticHashCode()));
        var again = Eqx.Flatten(rebuilt);
        for (int i = 0; i < leaves.Length; i++) Assert.That(again[i], Is.SameAs(leaves[i]), $"leaf {i}");
    }

    [Test]
    public void TreeEqualWithATolerancePassesCloseValuesAndNeverNaN()
    {
        using var scope = Torch.Scope();
        var model = new Equinox.Nn.Linear(3, 2, Key.Create(30));
        var nudged = Eqx.TreeMap(model, t => t + 1e-4f);
        Assert.That(Eqx.TreeEqual(model, nudged), Is.False);
        Assert.That(Eqx.TreeEqual(model, nudged, rtol: 0, atol: 2e-4), Is.True);
        Assert.That(Eqx.TreeEqual(model, nudged, rtol: 0, atol: 5e-5), Is.False);
        Assert.That(Eqx.TreeEqual(model, Eqx.TreeMap(model, t => t * 1.001f), rtol: 2e-3, atol: 0), Is.True);
        var withNaN = Eqx.TreeMap(model, t => t / 0f * 0f);
        Assert.That(Eqx.TreeEqual(withNaN, Eqx.TreeMap(model, t => t / 0f * 0f), rtol: 1, atol: 1), Is.False, "NaN equals nothing, another NaN included");
        Assert.That(Eqx.TreeEqual(model, Eqx.TreeMap(model, t => t.To(DType.Float64)), rtol: 1, atol: 1), Is.False, "dtypes must match");
        Assert.Throws<ArgumentOutOfRangeException>(() => Eqx.TreeEqual(model, model, rtol: -1, atol: 0));
    }

    [Test]
    public void IsTensorAndIsInexactTensorSortLeavesAsEquinoxsPredicatesDo()
    {
        object?[] values = [Tensor.Ones(2), Tensor.Arange(3), 1.5, "text", null];
        Assert.That(values.Select(Eqx.IsTensor), Is.EqualTo(new[] { true, true, false, false, false }));
        Assert.That(values.Select(Eqx.IsInexactTensor), Is.EqualTo(new[] { true, false, false, false, false }));
        Assert.That(values.Select(Eqx.IsArray), Is.EqualTo(values.Select(Eqx.IsTensor)));
        Assert.That(values.Select(Eqx.IsInexactArray), Is.EqualTo(values.Select(Eqx.IsInexactTensor)));
    }

    [Test]
    public void FlattenUnflattenRoundTripsEveryShape()
    {
        AssertRoundTrip(NewDense(2, 3), 2);
        AssertRoundTrip(NewDense(2, 3, bias: false), 2);
        AssertRoundTrip(NewStack(), 6);
        AssertRoundTrip(new ShiftedLayer(Tensor.Ones(2), Tensor.Zeros(2), "s"), 2);
        AssertRoundTrip(new Box<Dense>(NewDense(1, 1)), 2);
        AssertRoundTrip(new Box<Dense>(NewDense(1, 1), NewDense(2, 2)), 4);
        AssertRoundTrip(new Outer.Inner(Tensor.Ones(1)), 1);
        AssertRoundTrip(NewBag(), 2 + 4 + 2 + 4 + 2);
        AssertRoundTrip(new Chain([new Gain(Tensor.Ones(1)), new Gain(Tensor.Ones(2))], null), 2);
        AssertRoundTrip(new Chain([new Gain(Tensor.Ones(1))], new Gain(Tensor.Ones(3))), 2);
        AssertRoundTrip(new Pair(NewDense(2, 2), NewDense(2, 2)), 4);
    }

    [Test]
    public void UnflattenRunsNoUserConstructorAndKeepsTheStaticPart()
    {
        var dense = NewDense(2, 3);
        int runs = Dense.ConstructorRuns;
        var leaves = Eqx.Flatten(dense);
        var rebuilt = Eqx.Unflatten(dense, [leaves[1], leaves[0]]);
        Assert.That(Dense.ConstructorRuns, Is.EqualTo(runs));
        Assert.That(rebuilt.Weight, Is.SameAs(leaves[1]));
        Assert.That(rebuilt.InFeatures, Is.EqualTo(2));
        Assert.That(rebuilt.OutFeatures, Is.EqualTo(3));
    }

    [Test]
    public void UnflattenWithTheWrongNumberOfLeavesSaysHowManyItNeeds()
    {
        var error = Assert.Throws<ArgumentException>(() => Eqx.Unflatten(NewDense(2, 3), new Tensor?[3]))!;
        Assert.That(error.Message, Does.Contain("got 3 leaves but Dense has 2 tensor slots"));
    }

    [Test]
    public void LeavesAreInDeclarationOrderBaseFirstWithPaths()
    {
        var layer = new ShiftedLayer(Tensor.Ones(2), Tensor.Zeros(2), "s");
        Assert.That(Eqx.LeafPaths(layer).Select(p => p.ToString()), Is.EqualTo(new[] { "Scale", "Shift" }));

        var paths = Eqx.LeafPaths(NewStack());
        Assert.That(paths[0].ToString(), Is.EqualTo("Layers[0].Weight"));
        Assert.That(paths[0].StateDictKey, Is.EqualTo("layers.0.weight"));
        Assert.That(paths[5].StateDictKey, Is.EqualTo("layers.2.bias"));
        Assert.That(new TreePath(TreeStep.Member("WeightIh")).StateDictKey, Is.EqualTo("weight_ih"));
        Assert.That(new TreePath(TreeStep.Member("RMSNorm"), TreeStep.Member("QueryProj"), TreeStep.At(3), TreeStep.Member("already_snake")).StateDictKey,
            Is.EqualTo("rms_norm.query_proj.3.already_snake"));

        var bag = Eqx.LeafPaths(NewBag()).Select(p => p.ToString()).ToArray();
        Assert.That(bag, Is.EqualTo(new[]
        {
            "Array[0]", "Array[1]",
            "List[0].Weight", "List[0].Bias", "List[1].Weight", "List[1].Bias",
            "Tensors[\"a\"]", "Tensors[\"b\"]",
            "Modules[\"y\"].Weight", "Modules[\"y\"].Bias", "Modules[\"z\"].Weight", "Modules[\"z\"].Bias",
            "Maybe[0]", "Maybe[1]",
        }));
    }

    [Test]
    public void NullTensorTakesASlotAndNullModuleIsAnEmptySubtree()
    {
        var dense = NewDense(2, 2, bias: false);
        Assert.That(Eqx.Flatten(dense), Has.Length.EqualTo(2));
        Assert.That(Eqx.Leaves(dense), Has.Length.EqualTo(1));
        Assert.That(Eqx.LeafCount(new Box<Dense>(dense)), Is.EqualTo(2));
    }

    [Test]
    public void ToStringPrintsLikeEquinox()
    {
        Assert.That(NewDense(2, 3).ToString(), Is.EqualTo("Dense(weight=f32[3,2], bias=f32[3], inFeatures=2, outFeatures=3)"));
        Assert.That(NewDense(2, 3, bias: false).ToString(), Is.EqualTo("Dense(weight=f32[3,2], bias=null, inFeatures=2, outFeatures=3)"));
        Assert.That(new Box<Dense>(NewDense(1, 1)).ToString(), Is.EqualTo(
            "Box<Dense>(\n  value=Dense(weight=f32[1,1], bias=f32[1], inFeatures=1, outFeatures=1),\n  spare=null,\n)"),
            "longer than 80 characters: one field per line");

        var text = NewStack().ToString();
        Assert.That(text, Does.StartWith("Stack(\n  layers=[\n    Dense(weight=f32[4,2], bias=f32[4], inFeatures=2, outFeatures=4),\n"));
        Assert.That(text, Does.Contain("\n  activation=<function "));
        Assert.That(text, Does.EndWith("\n)"));
    }

    [Test]
    public void PartitionThenCombineIsTheIdentity()
    {
        var bag = NewBag() with { Array = [Tensor.Ones(2), Tensor.Arange(3)] };
        var (inexact, rest) = Eqx.Partition(bag, Eqx.IsInexactArray);
        Assert.That(Eqx.Flatten(rest).Count(t => t is not null), Is.EqualTo(1), "only the int64 arange is not inexact");
        Assert.That(Eqx.Flatten(inexact)[1], Is.Null);
        var back = Eqx.Combine(inexact, rest);
        Assert.That(Eqx.TreeEqual(back, bag), Is.True);
        var original = Eqx.Flatten(bag);
        var combined = Eqx.Flatten(back);
        for (int i = 0; i < original.Length; i++) Assert.That(combined[i], Is.SameAs(original[i]));
    }

    [Test]
    public void FilterKeepsMatchingLeavesAndNullsTheRest()
    {
        var dense = new Dense(1, 1, Key.Create(0));
        var filtered = Eqx.Filter(Eqx.TreeAt(dense, d => d.Bias, Tensor.Arange(1)), Eqx.IsInexactArray);
        Assert.That(filtered.Weight, Is.Not.Null);
        Assert.That(filtered.Bias, Is.Null);
        Assert.That(Eqx.IsArray(dense.Weight), Is.True);
        Assert.That(Eqx.IsArray(3), Is.False);
    }

    [Test]
    public void TreeMapAppliesToEveryLeafOfOneOrSeveralTrees()
    {
        var dense = NewDense(2, 2);
        var doubled = Eqx.TreeMap(dense, t => t * 2.0);
        Assert.That(doubled.Weight.ToArray<float>(), Is.EqualTo(dense.Weight.ToArray<float>().Select(v => v * 2)));
        var summed = Eqx.TreeMap(dense, doubled, (a, b) => a! + b!);
        Assert.That(summed.Bias!.ToArray<float>(), Is.EqualTo(new float[] { 0, 0 }));
        var three = Eqx.TreeMap(xs => xs[0]! + xs[1]! + xs[2]!, dense, dense, dense);
        Assert.That(Eqx.TreeEqual(three, Eqx.TreeMap(dense, t => t * 3.0)), Is.True);
        Assert.Throws<ArgumentException>(() => Eqx.TreeMap(dense, NewDense(3, 2), (a, _) => a));
    }

    [Test]
    public void TreeAtReplacesNestedNodesAndCollectionElements()
    {
        var stack = NewStack();
        var zero = Tensor.Zeros(4);
        var changed = Eqx.TreeAt(stack, s => s.Layers[1].Bias, zero);
        Assert.That(changed.Layers[1].Bias, Is.SameAs(zero));
        Assert.That(changed.Layers[0], Is.SameAs(stack.Layers[0]), "untouched subtrees are shared");
        Assert.That(stack.Layers[1].Bias, Is.Not.SameAs(zero), "the original is unchanged");

        int i = 2;
        var scaled = Eqx.TreeAt(stack, s => s.Layers[i].Weight, w => w * 0.0);
        Assert.That(scaled.Layers[2].Weight.Sum().Item<float>(), Is.EqualTo(0f));

        var both = Eqx.TreeAt(stack, s => new[] { s.Layers[0].Bias, s.Layers[2].Bias }, new Tensor?[] { null, null });
        Assert.That(both.Layers[0].Bias, Is.Null);
        Assert.That(both.Layers[2].Bias, Is.Null);

        var bag = NewBag();
        var one = Tensor.Ones(1);
        Assert.That(Eqx.TreeAt(bag, b => b.Modules["y"].Bias, one).Modules["y"].Bias, Is.SameAs(one));
        Assert.That(Eqx.TreeAt(bag, b => b.Tensors["a"], one).Tensors["a"], Is.SameAs(one));
        Assert.That(Eqx.TreeAt(bag, b => b.Array[1], one).Array[1], Is.SameAs(one));
        Assert.That(Eqx.TreeAt(bag, b => b.List[0].Weight, one).List[0].Weight, Is.SameAs(one));
        Assert.That(Eqx.TreeAt(bag, b => b.Maybe[0], one).Maybe[0], Is.SameAs(one), "replacing a null node works");
        var filled = Eqx.TreeAt(bag, b => b.Missing, NewDense(1, 1));
        Assert.That(filled.Missing, Is.Not.Null, "replacing a null module works");
        Assert.That(Eqx.LeafCount(filled), Is.EqualTo(Eqx.LeafCount(bag) + 2));

        var chain = new Chain([new Gain(Tensor.Ones(1))], null);
        var withHead = Eqx.TreeAt(chain, c => ((Gain)c.Blocks[0]).Value, one);
        Assert.That(((Gain)withHead.Blocks[0]).Value, Is.SameAs(one));
    }

    [Test]
    public void TreeAtRejectsSelectorsThatAreNotMemberOrIndexChains()
    {
        var stack = NewStack();
        var error = Assert.Throws<ArgumentException>(() => Eqx.TreeAt(stack, s => s.Layers[0].Forward(Tensor.Ones(2)), Tensor.Ones(1)))!;
        Assert.That(error.Message, Does.Contain("is not a member or index access"));
        Assert.That(error.Message, Does.Contain("m => m.Layers[0].Bias"));

        var staticError = Assert.Throws<ArgumentException>(() => Eqx.TreeAt(stack.Layers[0], d => d.InFeatures, 3))!;
        Assert.That(staticError.Message, Does.Contain("has no child named 'InFeatures'"));
    }

    [Test]
    public void GeneratedWithMethodsCopyOneChild()
    {
        var dense = NewDense(2, 2);
        var plain = dense.WithBias(null);
        Assert.That(plain.Bias, Is.Null);
        Assert.That(plain.Weight, Is.SameAs(dense.Weight));
        Assert.That(plain.InFeatures, Is.EqualTo(2));
    }

    [Test]
    public void TreeCheckCatchesANodeStoredTwiceBuiltAtRunTime()
    {
        var shared = NewDense(2, 2);
        var stack = new Stack([shared, NewDense(2, 2), shared], x => x);
        var error = Assert.Throws<TreeCheckException>(() => Eqx.TreeCheck(stack))!;
        Assert.That(error.Message, Does.Contain("Layers[0]").And.Contain("Layers[2]").And.Contain("Shared<T>"));

        var twoTensors = Eqx.TreeAt(NewStack(), s => s.Layers[2].Weight, shared.Weight);
        twoTensors = Eqx.TreeAt(twoTensors, s => s.Layers[1].Weight, shared.Weight);
        var tensorError = Assert.Throws<TreeCheckException>(() => Eqx.TreeCheck(twoTensors))!;
        Assert.That(tensorError.Message, Does.Contain("same tensor").And.Contain("Layers[1].Weight").And.Contain("Layers[2].Weight"));

        Assert.DoesNotThrow(() => Eqx.TreeCheck(NewStack()));
    }

    [Test]
    public void TreeCheckCatchesACycle()
    {
        var error = Assert.Throws<TreeCheckException>(() => Eqx.TreeCheck(new Loop()))!;
        Assert.That(error.Message, Does.Contain("cycle").And.Contain("Self"));
    }

    [Test]
    public void TreeEqualComparesStructureStaticsAndValues()
    {
        var a = NewDense(2, 2, seed: 1);
        var b = NewDense(2, 2, seed: 1);
        Assert.That(Eqx.TreeEqual(a, b), Is.True);
        Assert.That(Eqx.TreeEqual(a, NewDense(2, 2, seed: 2)), Is.False);
        Assert.That(Eqx.TreeEqual(a, a.WithBias(null)), Is.False);
        var bag = NewBag();
        Assert.That(bag.TreeStaticEquals(bag with { Kernel = [3, 3] }), Is.True, "static arrays compare by contents");
        Assert.That(bag.TreeStaticEquals(bag with { Kernel = [5] }), Is.False);
    }

    [Test]
    public void ApplyUpdatesAddsUpdatesAndKeepsLeavesWithNullUpdates()
    {
        var dense = NewDense(1, 2);
        var updates = Eqx.TreeMap(dense, dense, (w, _) => w is null ? null : Tensor.Ones(w.Shape));
        updates = Eqx.TreeAt(updates, u => u.Weight, (Tensor)null!);
        var moved = Eqx.ApplyUpdates(dense, updates);
        Assert.That(moved.Weight, Is.SameAs(dense.Weight));
        Assert.That(moved.Bias!.ToArray<float>(), Is.EqualTo(new float[] { 1, 1 }));
    }

    [Test]
    public void SharedTiesTheEmbeddingToTheOutputProjectionThroughAnUpdate()
    {
        // The tied embedding: the output projection reuses the embedding weight.
        var pair = new Pair(NewDense(3, 4, seed: 1, bias: false), NewDense(3, 4, seed: 2, bias: false));
        var shared = new Shared<Pair>(pair, where: p => p.Head.Weight, get: p => p.Embedding.Weight);
        Assert.That(Eqx.Leaves(shared), Has.Length.EqualTo(1), "one stored copy");
        Assert.DoesNotThrow(() => Eqx.TreeCheck(shared));
        Assert.That(shared.Value.Head.Weight, Is.SameAs(shared.Value.Embedding.Weight));
        Assert.Throws<TreeCheckException>(() => Eqx.TreeCheck(shared.Value), "the re-inserted value is a DAG on purpose");

        var model = Eqx.TreeMap(shared, t => t.Detach().WithRequiresGrad());
        var a = Tensor.Full([4, 3], 2.0);
        var b = Tensor.Full([4, 3], 5.0);
        var value = model.Value;
        var loss = (value.Embedding.Weight * a).Sum() + (value.Head.Weight * b).Sum();
        var inputs = Eqx.Leaves(model);
        var grads = Autograd.Grad(loss, inputs);
        Assert.That(grads[0]!.ToArray<float>(), Is.All.EqualTo(7f), "gradients of both uses add up on the stored copy");

        var updates = Eqx.TreeMap(model, t => ReferenceEquals(t, inputs[0]) ? grads[0]! * -0.1 : null);
        var stepped = Eqx.ApplyUpdates(model, updates);
        var after = stepped.Value;
        Assert.That(after.Head.Weight, Is.SameAs(after.Embedding.Weight), "the tie survives the update");
        Assert.That(after.Head.Weight.Detach().ToArray<float>(),
            Is.EqualTo(model.Tree.Embedding.Weight.Detach().ToArray<float>().Select(v => v - 0.7f)).Within(1e-5));
    }
}
