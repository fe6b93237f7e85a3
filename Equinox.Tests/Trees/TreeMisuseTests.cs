using System.Collections.Immutable;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Trees;

// Issue 8, "no crash, no silent wrong answer": what the tree functions say when a tree is not what they need.
public class TreeMisuseTests
{
    private TensorScope scope = null!;

    [SetUp]
    public void OpenScope() => scope = Torch.Scope();

    [TearDown]
    public void CloseScope() => scope.Dispose();

    private static Dense NewDense(int inFeatures, int outFeatures, int seed = 0, bool bias = true) =>
        new(inFeatures, outFeatures, Key.Create(seed), bias);

    private static Stack NewStack(int layers) =>
        new(Enumerable.Range(0, layers).Select(i => NewDense(2, 2, i)).ToImmutableArray(), x => x);

    // ---- cycles -----------------------------------------------------------------------------------------------

    private static IEnumerable<(string Name, TestDelegate Call)> Walkers<T>(T tree) where T : class, ITreeNode =>
    [
        ("LeafCount", () => Eqx.LeafCount(tree)),
        ("Flatten", () => Eqx.Flatten(tree)),
        ("Leaves", () => Eqx.Leaves(tree)),
        ("LeafPaths", () => Eqx.LeafPaths(tree)),
        ("ToString", () => tree.ToString()),
        ("TreeMap", () => Eqx.TreeMap(tree, t => t)),
        ("Filter", () => Eqx.Filter(tree, Eqx.IsInexactArray)),
        ("Combine", () => Eqx.Combine(tree, tree)),
        ("Unflatten", () => Eqx.Unflatten(tree, [])),
        ("TreeEqual", () => Eqx.TreeEqual(tree, tree)),
        ("TreeCheck", () => Eqx.TreeCheck(tree)),
    ];

    private static void AssertEveryWalkerNames<T>(T tree, string cycle) where T : class, ITreeNode
    {
        foreach (var (name, call) in Walkers(tree))
        {
            var error = Assert.Throws<TreeCheckException>(call, name)!;
            Assert.That(error.Message, Does.StartWith("The tree contains a cycle: " + cycle + ", which contains it, so the tree never ends."), name);
        }
    }

    [Test]
    public void AModuleThatStoresItselfIsNamedByEveryWalkerInsteadOfOverflowingTheStack()
    {
        AssertEveryWalkerNames(new Loop(), "Self is the same Loop object as the root");
        var error = Assert.Throws<TreeCheckException>(() => Eqx.LeafCount(new Loop()))!;
        Assert.That(error.Message, Is.EqualTo(
            "The tree contains a cycle: Self is the same Loop object as the root, which contains it, so the tree never ends. " +
            "A module must not store itself or one of its ancestors (a constructor that stores `this` in a child, or a " +
            "back-link set afterwards); build the child as a separate module."));
    }

    [Test]
    public void TwoModulesThatPointAtEachOtherAreNamedWithThePathOfTheCycle()
    {
        AssertEveryWalkerNames(new Trunk(Tensor.Ones(2)), "Branch.Back is the same Trunk object as the root");
        var stack = new Box<Trunk>(new Trunk(Tensor.Ones(2)));
        var error = Assert.Throws<TreeCheckException>(() => Eqx.Flatten(stack))!;
        Assert.That(error.Message, Does.StartWith("The tree contains a cycle: Value.Branch.Back is the same Trunk object as Value,"));
    }

    [Test]
    public void ARingClosedThroughReflectionIsNamedForClassesAndRecords()
    {
        var tail = new Link(Tensor.Ones(1), null);
        var head = new Link(Tensor.Ones(1), new Link(Tensor.Ones(1), tail));
        typeof(Link).GetField(nameof(Link.Next))!.SetValue(tail, head);
        AssertEveryWalkerNames(head, "Next.Next.Next is the same Link object as the root");

        var knot = new Knot { Weight = Tensor.Ones(1) };
        typeof(Knot).GetProperty(nameof(Knot.Next))!.SetValue(knot, knot);
        AssertEveryWalkerNames(knot, "Next is the same Knot object as the root");
    }

    [Test]
    public void ADeepTreeWithoutACycleIsWalkedAfterOneCheck()
    {
        const int depth = TreeCycles.CheckDepth + 200;
        Link? chain = null;
        for (int i = 0; i < depth; i++) chain = new Link(Tensor.Ones(1), chain);
        Assert.That(Eqx.LeafCount(chain!), Is.EqualTo(depth));
        Assert.That(Eqx.Flatten(chain!), Has.Length.EqualTo(depth));
        Assert.That(Eqx.LeafPaths(chain!)[^1].Steps, Has.Count.EqualTo(depth));
    }

    // ---- ApplyUpdates ------------------------------------------------------------------------------------------

    [Test]
    public void ApplyUpdatesRejectsAnUpdateOfAnotherShapeInsteadOfBroadcastingIt()
    {
        var dense = NewDense(2, 3);
        var updates = Eqx.TreeAt(Eqx.TreeMap(dense, t => Tensor.Zeros(t.Shape)), d => d.Weight, Tensor.Ones(5, 3, 2));
        var error = Assert.Throws<ArgumentException>(() => Eqx.ApplyUpdates(dense, updates))!;
        Assert.That(error.Message, Does.StartWith(
            "ApplyUpdates: the update for Weight is f32[5,3,2] but the leaf is f32[3,2]: an update must have exactly its " +
            "leaf's shape, it is never broadcast. Pass updates with the model's structure and shapes: its gradients, or an " +
            "optimiser's Update of them."));
    }

    [Test]
    public void ApplyUpdatesTakesOnlyAnUpdateThatCastsToTheLeafDtype()
    {
        var dense = NewDense(2, 3);
        var wide = Eqx.TreeMap(dense, t => Tensor.Ones(t.Shape).To(DType.Float64));
        Assert.That(Eqx.ApplyUpdates(dense, wide).Bias!.ToArray<double>(), Is.EqualTo(new double[] { 1, 1, 1 }), "f64 casts to f32");

        var counts = Eqx.TreeAt(dense, d => d.Weight, Tensor.Zeros(3, 2).To(DType.Int64));
        var fractional = Eqx.TreeMap(counts, t => Tensor.Full(t.Shape, 0.5));
        var error = Assert.Throws<ArgumentException>(() => Eqx.ApplyUpdates(counts, fractional))!;
        Assert.That(error.Message, Does.StartWith(
            "ApplyUpdates: the update for Weight is f32[3,2] but the leaf is i64[3,2]: an update of dtype f32 cannot be " +
            "cast to the leaf's i64 without losing part of it."));
    }

    [Test]
    public void ApplyUpdatesInADonatingStepFollowsTheSameShapeRule()
    {
        var dense = NewDense(2, 3);
        var step = Eqx.FilterJit<Dense, Dense, Dense>((m, u) => Eqx.ApplyUpdates(m, u), donate: Donate.Arg1);
        var good = step.Invoke(dense, Eqx.TreeMap(dense, t => Tensor.Ones(t.Shape)));
        Assert.That(good.Bias!.ToArray<float>(), Is.EqualTo(new float[] { 1, 1, 1 }));

        var bad = Eqx.TreeAt(Eqx.TreeMap(good, t => Tensor.Zeros(t.Shape)), d => d.Bias, Tensor.Ones(4, 3));
        var error = Assert.Throws<ArgumentException>(() => step.Invoke(good, bad))!;
        Assert.That(error.Message, Does.StartWith("ApplyUpdates: the update for Bias is f32[4,3] but the leaf is f32[3]:"));
        Assert.That(good.Weight.IsDisposed, Is.False, "no update was applied, not even the good one before the bad one");
    }

    // ---- where two trees differ ----------------------------------------------------------------------------

    [Test]
    public void TreeFunctionsOverSeveralTreesNameWhereTheyDiffer()
    {
        var combine = Assert.Throws<ArgumentException>(() => Eqx.Combine(NewStack(3), NewStack(2)))!;
        Assert.That(combine.Message, Is.EqualTo(
            "Tree 1 does not have the structure of tree 0: Layers: 3 elements vs 2 elements. " +
            "Tree functions over several trees need the same modules, collection lengths and static fields."));

        var map = Assert.Throws<ArgumentException>(() => Eqx.TreeMap(xs => xs[0], NewDense(2, 2), NewDense(2, 2), NewDense(3, 2)))!;
        Assert.That(map.Message, Does.StartWith("Tree 2 does not have the structure of tree 0: InFeatures (int): 2 vs 3."));

        var labels = Assert.Throws<ArgumentException>(() => Eqx.TreeMap(
            new ShiftedLayer(Tensor.Ones(1), Tensor.Ones(1), "a"), new ShiftedLayer(Tensor.Ones(1), Tensor.Ones(1), "b"), (x, _) => x))!;
        Assert.That(labels.Message, Does.StartWith("Tree 1 does not have the structure of tree 0: Label (string): \"a\" vs \"b\"."));

        var missing = Assert.Throws<ArgumentException>(() => Eqx.Combine(new Box<Dense>(NewDense(1, 1), NewDense(1, 1)), new Box<Dense>(NewDense(1, 1))))!;
        Assert.That(missing.Message, Does.StartWith("Tree 1 does not have the structure of tree 0: Spare: Dense vs null."));

        var updates = Assert.Throws<ArgumentException>(() => Eqx.ApplyUpdates(NewStack(2), NewStack(1)))!;
        Assert.That(updates.Message, Does.StartWith("The update tree does not have the structure of the model: Layers: 2 elements vs 1 elements."));
    }

    // ---- holes -------------------------------------------------------------------------------------------------

    [Test]
    public void SelectingIntoANullCollectionNamesTheCollection()
    {
        var bag = new Bag { Tensors = null! };
        var read = Assert.Throws<ArgumentException>(() => Eqx.TreeAt(bag, b => b.Tensors["a"], Tensor.Ones(1)))!;
        Assert.That(read.Message, Does.StartWith(
            "Bag.Tensors is null (an empty subtree), so it has no element [\"a\"]. Put a collection there first: " +
            "Eqx.TreeAt(tree, t => t.Tensors, ...)."));
        var list = Assert.Throws<ArgumentException>(() => Eqx.TreeAt(new Bag { List = null! }, b => b.List[0].Weight, Tensor.Ones(1)))!;
        Assert.That(list.Message, Does.StartWith("Bag.List is null (an empty subtree), so it has no element [0]."));
        var array = Assert.Throws<ArgumentException>(() => Eqx.TreeAt(new Bag { Maybe = default }, b => b.Maybe[0], Tensor.Ones(1)))!;
        Assert.That(array.Message, Does.StartWith("Bag.Maybe is null (an empty subtree), so it has no element [0]."));
    }

    [Test]
    public void SharedRejectsANodeThatDoesNotFitTheSlotItFills()
    {
        var pair = new Pair(NewDense(3, 4, seed: 1, bias: false), NewDense(4, 3, seed: 2, bias: false));
        var tensor = Assert.Throws<ArgumentException>(() => new Shared<Pair>(pair, where: p => p.Head.Weight, get: p => p.Embedding.Weight))!;
        Assert.That(tensor.Message, Is.EqualTo(
            "Shared: get selects Embedding.Weight, which cannot fill the slot Head.Weight that where selects: it is f32[4,3] " +
            "but the slot holds f32[3,4]; a tied tensor needs the slot's shape and dtype (to tie a transposed weight, compute " +
            "it: get: t => t.Embedding.Weight.T)."));

        var module = Assert.Throws<ArgumentException>(() => new Shared<Pair>(pair, where: p => p.Head, get: p => p.Embedding))!;
        Assert.That(module.Message, Is.EqualTo(
            "Shared: get selects Embedding, which cannot fill the slot Head that where selects: its structure differs " +
            "from the slot's (InFeatures (int): 3 vs 4)."));

        var hole = Eqx.TreeAt(pair, p => p.Embedding.Weight, (Tensor)null!);
        var empty = Assert.Throws<ArgumentException>(() => new Shared<Pair>(hole, where: p => p.Head.Weight, get: p => p.Embedding.Weight))!;
        Assert.That(empty.Message, Is.EqualTo(
            "Shared: get selects Embedding.Weight, which cannot fill the slot Head.Weight that where selects: it is null, so there is nothing to tie."));

        var kinds = Assert.Throws<ArgumentException>(() => new Shared<Pair>(pair, where: p => p.Head.Weight, get: p => p.Embedding))!;
        Assert.That(kinds.Message, Does.EndWith("it is a Dense but the slot holds a Tensor."));

        var fits = new Pair(NewDense(3, 4, seed: 1, bias: false), NewDense(3, 4, seed: 2, bias: false));
        Assert.DoesNotThrow(() => _ = new Shared<Pair>(fits, where: p => p.Head, get: p => p.Embedding));
    }

    [Test]
    public void TreeFunctionsTakeNoNullTreeOrFunctionSilently()
    {
        Assert.That(Assert.Throws<ArgumentNullException>(() => Eqx.LeafCount<Dense>(null!))!.ParamName, Is.EqualTo("tree"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Eqx.LeafPaths<Dense>(null!))!.ParamName, Is.EqualTo("tree"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => Eqx.Filter(NewDense(1, 1), (Func<Tensor, bool>)null!))!.ParamName, Is.EqualTo("predicate"));
        var other = Assert.Throws<ArgumentNullException>(() => Eqx.Combine(NewDense(1, 1), null!))!;
        Assert.That(other.Message, Does.StartWith("Tree 1 is null; tree functions over several trees need a tree in every position."));
    }
}
