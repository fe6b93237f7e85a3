using System.Collections.Immutable;
using Equinox.Tensors;
using NUnit.Framework;

namespace Equinox.Tests.Trees;

// A module that holds no tensor, like an activation layer.
[Module]
public partial class Activation
{
    public readonly string Kind;

    public Activation(string kind) => Kind = kind;
}

[Module]
public partial class Block
{
    public readonly Dense Linear;
    public readonly Activation Before;
    public readonly Activation After;

    public Block(Dense linear, Activation before, Activation after)
    {
        Linear = linear;
        Before = before;
        After = after;
    }
}

// Equinox behaviours from its tree, filter and shared tests, in C# terms (issue 18: items 3, 4, 6, 10).
public class ParityTests
{
    private TensorScope scope = null!;

    [SetUp]
    public void OpenScope() => scope = Torch.Scope();

    [TearDown]
    public void CloseScope() => scope.Dispose();

    private static Dense NewDense(int inFeatures, int outFeatures, int seed = 0, bool bias = true) =>
        new(inFeatures, outFeatures, Key.Create(seed), bias);

    private static Stack NewStack() => new([NewDense(2, 4, 1), NewDense(4, 4, 2), NewDense(4, 1, 3)], x => x);

    // ---- TreeCheck and leafless nodes (item 4) ----------------------------------------------------------------

    [Test]
    public void TreeCheckAllowsAModuleWithoutTensorsStoredTwice()
    {
        var relu = new Activation("relu");
        Assert.DoesNotThrow(() => Eqx.TreeCheck(new Block(NewDense(2, 2), relu, relu)), "an activation holds nothing to update");

        var empty = Eqx.Filter(NewDense(2, 2), _ => false);
        Assert.DoesNotThrow(() => Eqx.TreeCheck(new Stack([NewDense(2, 2), empty, empty], x => x)), "all its slots are holes");

        var dense = NewDense(2, 2);
        var error = Assert.Throws<TreeCheckException>(() => Eqx.TreeCheck(new Stack([dense, NewDense(2, 2), dense], x => x)))!;
        Assert.That(error.Message, Does.StartWith("The same Dense is stored twice, at Layers[0] and at Layers[2]."));
        var half = Eqx.Filter(dense, t => t.Rank == 2);
        Assert.Throws<TreeCheckException>(() => Eqx.TreeCheck(new Stack([half, half], x => x)), "one tensor left is enough to diverge");
    }

    // ---- TreeFlattenOneLevel, IsArrayLike (item 10) -----------------------------------------------------------

    [Test]
    public void TreeFlattenOneLevelGivesTheChildMembersAndPutsThemBack()
    {
        var stack = NewStack();
        var children = Eqx.TreeFlattenOneLevel(stack);
        Assert.That(children.Select(c => c.Member), Is.EqualTo(new[] { "Layers" }), "Activation is static, not a child");
        Assert.That(children[0].Value, Is.EqualTo(stack.Layers), "the collection itself, one level down");

        var dense = NewDense(3, 2);
        var level = Eqx.TreeFlattenOneLevel(dense);
        Assert.That(level.Select(c => c.Member), Is.EqualTo(new[] { "Weight", "Bias" }));
        Assert.That(level[0].Value, Is.SameAs(dense.Weight));

        var zeros = Tensor.Zeros(2, 3);
        var rebuilt = Eqx.TreeUnflattenOneLevel(dense, [zeros, null]);
        Assert.That(rebuilt.Weight, Is.SameAs(zeros));
        Assert.That(rebuilt.Bias, Is.Null);
        Assert.That(rebuilt.InFeatures, Is.EqualTo(3), "the static part is kept");

        var shorter = Eqx.TreeUnflattenOneLevel(stack, [stack.Layers.RemoveAt(2)]);
        Assert.That(shorter.Layers, Has.Length.EqualTo(2));

        var count = Assert.Throws<ArgumentException>(() => Eqx.TreeUnflattenOneLevel(dense, [zeros]))!;
        Assert.That(count.Message, Does.StartWith("TreeUnflattenOneLevel got 1 children but Dense has 2 (Weight, Bias)."));
        var type = Assert.Throws<ArgumentException>(() => Eqx.TreeUnflattenOneLevel(dense, [zeros, "bias"]))!;
        Assert.That(type.Message, Does.StartWith("Cannot put a String into Dense.Bias, which holds Tensor."));
    }

    [Test]
    public void IsArrayLikeTakesTensorsAndNumbers()
    {
        Assert.That(Eqx.IsArrayLike(Tensor.Zeros([1], DType.Int64)), Is.True);
        Assert.That(Eqx.IsArrayLike(3), Is.True);
        Assert.That(Eqx.IsArrayLike(true), Is.True);
        Assert.That(Eqx.IsArrayLike(2.5), Is.True);
        Assert.That(Eqx.IsArrayLike("3"), Is.False);
        Assert.That(Eqx.IsArrayLike(null), Is.False);
        Assert.That(Eqx.IsArrayLike(NewDense(1, 1)), Is.False, "a module is a tree, not an array");

        Assert.That(Eqx.IsInexactArrayLike(Tensor.Zeros(1)), Is.True);
        Assert.That(Eqx.IsInexactArrayLike(Tensor.Zeros([1], DType.Int32)), Is.False);
        Assert.That(Eqx.IsInexactArrayLike(2.5f), Is.True);
        Assert.That(Eqx.IsInexactArrayLike((Half)1), Is.True);
        Assert.That(Eqx.IsInexactArrayLike(new System.Numerics.Complex(1, 2)), Is.True);
        Assert.That(Eqx.IsInexactArrayLike(2), Is.False);
    }

    // ---- filter specs as prefix trees, isLeaf (item 6) --------------------------------------------------------

    [Test]
    public void AFilterSpecDecidesPerSubtreeAndTheDeepestDecisionWins()
    {
        var stack = NewStack();
        // Everything frozen but the last layer, whose bias only is trainable; the first layer's matrices are trainable.
        var spec = FilterSpec<Stack>.All(false)
            .At(s => s.Layers[2], true)
            .At(s => s.Layers[2].Weight, false)
            .At(s => s.Layers[0], t => t.Rank == 2);
        var kept = Eqx.Filter(stack, spec);
        Assert.That(Eqx.Flatten(kept).Select(t => t is not null), Is.EqualTo(new[] { true, false, false, false, false, true }));
        Assert.That(kept.Layers[0].Weight, Is.SameAs(stack.Layers[0].Weight));

        var inverse = Eqx.Filter(stack, spec, inverse: true);
        Assert.That(Eqx.Flatten(inverse).Select(t => t is not null), Is.EqualTo(new[] { false, true, true, true, true, false }));

        var (matching, others) = Eqx.Partition(stack, spec);
        Assert.That(Eqx.TreeEqual(Eqx.Combine(matching, others), stack), Is.True);
        Assert.That(Eqx.Flatten(matching).Select(t => t is not null), Is.EqualTo(new[] { true, false, false, false, false, true }));

        var replaced = FilterSpec<Stack>.All(true).At(s => s.Layers[1], false).At(s => s.Layers[1], true);
        Assert.That(Eqx.Leaves(Eqx.Filter(stack, replaced)), Has.Length.EqualTo(6), "a later decision for one subtree replaces the earlier");

        var several = FilterSpec<Stack>.All(true).At(s => new[] { s.Layers[0].Bias, s.Layers[1].Bias }, false);
        Assert.That(Eqx.Flatten(Eqx.Filter(stack, several)).Select(t => t is not null), Is.EqualTo(new[] { true, false, true, false, true, true }));
    }

    [Test]
    public void IsLeafMakesAWholeModuleOneLeafOfTheFilter()
    {
        var block = new Block(NewDense(2, 3), new Activation("relu"), new Activation("tanh"));
        var stack = new Stack([NewDense(2, 2, 1), NewDense(2, 2, 2, bias: false), NewDense(2, 2, 3)], x => x);
        var seen = new List<object>();
        // Keep the layers that have a bias, as whole modules: the predicate sees each Dense once, never its tensors.
        var kept = Eqx.Filter(stack, x => { seen.Add(x); return x is Dense { Bias: not null }; }, isLeaf: n => n is Dense);
        Assert.That(seen, Has.Count.EqualTo(3).And.All.InstanceOf<Dense>());
        Assert.That(Eqx.Flatten(kept).Select(t => t is not null), Is.EqualTo(new[] { true, true, false, false, true, true }));

        var (dense, rest) = Eqx.Partition(block, x => x is Dense, isLeaf: n => n is Dense);
        Assert.That(Eqx.Leaves(dense), Has.Length.EqualTo(2));
        Assert.That(Eqx.Leaves(rest), Is.Empty);

        var spec = FilterSpec<Stack>.All(true).At(s => s.Layers[1], false);
        Assert.That(Eqx.Leaves(Eqx.Filter(stack, spec, isLeaf: n => n is Dense)), Has.Length.EqualTo(4), "a bool decides for a whole leaf node");

        var inside = FilterSpec<Stack>.All(true).At(s => s.Layers[1].Weight, false);
        var error = Assert.Throws<ArgumentException>(() => Eqx.Filter(stack, inside, isLeaf: n => n is Dense))!;
        Assert.That(error.Message, Does.StartWith(
            "The filter spec decides for Layers[1].Weight, which lies inside Layers[1], a node that isLeaf makes a leaf"));

        var tensorPredicate = FilterSpec<Stack>.All(t => t.Rank == 2);
        var wrong = Assert.Throws<ArgumentException>(() => Eqx.Filter(stack, tensorPredicate, isLeaf: n => n is Dense))!;
        Assert.That(wrong.Message, Does.StartWith("A tensor predicate of a filter spec was given a Dense, which isLeaf made a leaf"));
    }

    [Test]
    public void AFilterSpecNamingANodeTheTreeLacksIsRejected()
    {
        var stack = new Stack([NewDense(2, 2)], x => x);
        var spec = FilterSpec<Stack>.All(true).At(s => s.Layers[3], false);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Eqx.Filter(stack, spec));
        Assert.That(error!.Message, Does.StartWith("Stack.Layers[3] is out of range: it has 1 elements."));
    }

    // ---- Shared with a computed value (item 3) ----------------------------------------------------------------

    [Test]
    public void SharedTiesATransposedWeightAndGradientsOfBothUsesFlowIntoTheStoredOne()
    {
        var pair = new Pair(NewDense(3, 4, seed: 1, bias: false), NewDense(4, 3, seed: 2, bias: false));   // [4,3] and [3,4]
        var shared = new Shared<Pair>(pair, where: p => p.Head.Weight, get: p => p.Embedding.Weight.T);
        Assert.That(Eqx.Leaves(shared), Has.Length.EqualTo(1));
        Assert.That(shared.Value.Head.Weight.ToArray<float>(), Is.EqualTo(pair.Embedding.Weight.T.Contiguous().ToArray<float>()));

        var a = Tensor.Arange(0, 12, 1, DType.Float32).Reshape(4, 3);
        var b = Tensor.Arange(0, 12, 1, DType.Float32).Reshape(3, 4) * 10;
        var grads = Eqx.FilterGrad((Shared<Pair> s) =>
        {
            var value = s.Value;
            return (value.Embedding.Weight * a).Sum() + (value.Head.Weight * b).Sum();
        })(shared);
        Assert.That(grads.Tree.Head.Weight, Is.Null);
        Assert.That(grads.Tree.Embedding.Weight!.ToArray<float>(), Is.EqualTo((a + b.T).Contiguous().ToArray<float>()),
            "d/dE of sum(E*a) + sum(E^T*b) is a + b^T");

        var stepped = Eqx.TreeMap(shared, grads, (w, g) => w is null ? null : w - g! * 0.1);
        Assert.That(stepped.Value.Head.Weight.ToArray<float>(),
            Is.EqualTo(stepped.Tree.Embedding.Weight.T.Contiguous().ToArray<float>()), "the tie survives the update");
    }

    [Test]
    public void SharedComputesAnyFunctionOfTheStoredTreeAndChecksWhatItComputes()
    {
        var pair = new Pair(NewDense(3, 4, seed: 1), NewDense(3, 4, seed: 2));
        var shared = new Shared<Pair>(pair, where: p => new[] { p.Head.Weight, p.Head.Bias }, get: p => new[] { p.Embedding.Weight * 2, p.Embedding.Bias });
        Assert.That(shared.Value.Head.Weight.ToArray<float>(), Is.EqualTo((pair.Embedding.Weight * 2).ToArray<float>()));
        Assert.That(shared.Value.Head.Bias, Is.SameAs(shared.Value.Embedding.Bias), "a plain path still ties the node itself");

        var wrong = Assert.Throws<ArgumentException>(() => new Shared<Pair>(pair, where: p => p.Head.Weight, get: p => p.Embedding.Weight.T))!;
        Assert.That(wrong.Message, Is.EqualTo(
            "Shared: get selects a computed value (element 1), which cannot fill the slot Head.Weight that where selects: it is " +
            "f32[3,4] but the slot holds f32[4,3]; a tied tensor needs the slot's shape and dtype (to tie a transposed weight, " +
            "compute it: get: t => t.Embedding.Weight.T)."));

        var dtype = Assert.Throws<ArgumentException>(() => new Shared<Pair>(pair, where: p => p.Head.Weight, get: p => p.Embedding.Weight.To(DType.Float64)))!;
        Assert.That(dtype.Message, Does.Contain("it is f64[4,3] but the slot holds f32[4,3]"));

        var hole = Assert.Throws<ArgumentException>(() => new Shared<Pair>(pair, where: p => p.Head.Weight, get: p => p.Head.Weight * 2))!;
        Assert.That(hole.Message, Does.StartWith("Shared: get's element 1 reads a node that where removes from the stored tree"));
    }
}
