using System.Collections.Immutable;
using Equinox.Tensors;

namespace Equinox.Optim;

/// <summary>
/// The optimisers whose rule runs in the shim (<see cref="Sgd"/>, <see cref="Adam"/>, <see cref="AdamW"/>,
/// <see cref="RmsProp"/>, <see cref="Adagrad"/>, <see cref="Lion"/>): one native call updates every leaf of a step,
/// whatever their number. On the CPU, float32 and float64 leaves are updated by one fused pass over their memory;
/// other dtypes and devices run the same rule as tensor operations, with the learning rate and the step count kept on
/// the device so a captured CUDA graph replays a correct update.
/// </summary>
public abstract class Optimizer : IGradientTransformation
{
    private readonly OptimizerKernels.Rule rule;

    private protected Optimizer(OptimizerKernels.Rule rule, Schedule learningRate)
    {
        this.rule = rule;
        LearningRate = learningRate ?? throw new ArgumentNullException(nameof(learningRate));
    }

    /// <summary>The learning rate: a number (converted to a constant schedule) or a schedule of the step count.</summary>
    public Schedule LearningRate { get; }

    /// <summary>False makes every leaf take the tensor-operation path, so tests can check it gives the fused path's numbers.</summary>
    internal static bool UseFusedKernels { get; set; } = true;

    /// <summary>The optimiser's name in messages and in <see cref="OptimizerState{T}.Owner"/>.</summary>
    private protected abstract string Name { get; }

    /// <summary>The names of the per-leaf slots, in the order the shim's rule reads them.</summary>
    private protected abstract string[] SlotNames { get; }

    /// <summary>The hyperparameters in the order the shim's rule reads them.</summary>
    private protected abstract double[] RuleArguments { get; }

    /// <summary>Whether the rule reads the parameters (weight decay).</summary>
    private protected abstract bool ReadsParameters { get; }

    /// <summary>The value every slot starts at (Adagrad's initial accumulator; 0 elsewhere).</summary>
    private protected virtual double InitialSlotValue => 0;

    /// <inheritdoc/>
    public OptimizerState<T> Init<T>(T parameters) where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var leaves = Eqx.Flatten(parameters);
        var trained = Trained(Name, parameters, leaves);
        var slots = ImmutableDictionary<string, T>.Empty;
        foreach (var name in SlotNames)
        {
            var slot = new Tensor?[leaves.Length];
            for (int i = 0; i < leaves.Length; i++)
                if (trained[i]) slot[i] = leaves[i]!.FullLike(InitialSlotValue);
            slots = slots.Add(name, Eqx.Unflatten(parameters, slot));
        }
        return new OptimizerState<T>(Name, NewCount(leaves), slots, []);
    }

    /// <inheritdoc/>
    public (T Updates, OptimizerState<T> State) Update<T>(T gradients, OptimizerState<T> state, T? parameters = null)
        where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(gradients);
        CheckOwner(Name, state, SlotNames);
        var grads = Eqx.Flatten(gradients);
        var names = SlotNames;
        var slots = new Tensor?[names.Length][];
        for (int j = 0; j < names.Length; j++)
        {
            var slotTree = state.Slots[names[j]];
            CheckStructure(Name, slotTree, gradients, "gradients");
            slots[j] = Eqx.Flatten(slotTree);
        }
        Tensor?[]? leaves = null;
        if (ReadsParameters)
        {
            if (parameters is null)
                throw new ArgumentNullException(nameof(parameters),
                    $"{Name}.Update needs the parameters: its weight decay reads them. Pass the current model as the third argument (Step does).");
            if (!parameters.TreeStaticEquals(gradients))
                CheckStructure(Name, gradients, parameters, "parameters");
            leaves = Eqx.Flatten(parameters);
        }
        CheckLeaves(gradients, grads, slots, leaves);

        var sink = InPlaceUpdates.Current;
        var overwrite = new bool[grads.Length];
        if (sink is not null)
            for (int i = 0; i < grads.Length; i++)
                overwrite[i] = grads[i] is not null && slots.All(slot => sink.CanOverwrite(slot[i]!));
        bool overwriteCount = sink is not null && sink.CanOverwrite(state.Count);
        var schedule = LearningRate as ConstantSchedule;
        using var rate = schedule is null ? LearningRate.ValueAt(state.Count) : null;
        var (updates, newSlots, newCount) = OptimizerKernels.Step(rule, RuleArguments, grads, leaves, slots, state.Count,
            rate, schedule?.Value ?? 0, overwrite, overwriteCount, UseFusedKernels);

        var nextSlots = ImmutableDictionary<string, T>.Empty;
        for (int j = 0; j < names.Length; j++)
        {
            var next = new Tensor?[grads.Length];
            for (int i = 0; i < grads.Length; i++)
                next[i] = newSlots[j][i] ?? (overwrite[i] ? sink!.Rehandle(slots[j][i]!) : slots[j][i]);
            nextSlots = nextSlots.Add(names[j], Eqx.Unflatten(gradients, next));
        }
        var count = newCount ?? sink!.Rehandle(state.Count);
        return (Eqx.Unflatten(gradients, updates), new OptimizerState<T>(Name, count, nextSlots, []));
    }

    // A gradient must meet a slot of its shape and dtype, and a parameter when the rule reads it.
    private void CheckLeaves<T>(T gradients, Tensor?[] grads, Tensor?[][] slots, Tensor?[]? parameters) where T : class, ITreeNode
    {
        TreePath[]? paths = null;
        TreePath PathOf(int i) => (paths ??= Eqx.LeafPaths(gradients))[i];
        for (int i = 0; i < grads.Length; i++)
        {
            if (grads[i] is not { } g) continue;
            for (int j = 0; j < slots.Length; j++)
            {
                if (slots[j][i] is not { } slot)
                    throw new ArgumentException(
                        $"{Name}.Update: there is a gradient at {PathOf(i)} ({g.Describe()}), but the state has no slot there: Init left that leaf out " +
                        "(it was an integer or bool tensor, or a hole). Differentiate only the floating-point leaves: FilterGrad does, and so does " +
                        "Eqx.Filter(model, Eqx.IsInexactTensor).", nameof(gradients));
                if (!Fits(g, slot))
                    throw new ArgumentException(
                        $"{Name}.Update: the gradient at {PathOf(i)} is {g.Describe()}, but the state's '{SlotNames[j]}' there is {slot.Describe()}: " +
                        "the state was built for another model. Build it with Init on the model these gradients are for.", nameof(gradients));
            }
            if (parameters is null) continue;
            if (parameters[i] is not { } p)
                throw new ArgumentException(
                    $"{Name}.Update: there is a gradient at {PathOf(i)} ({g.Describe()}) but no parameter there; its weight decay reads the parameter. " +
                    "Pass the whole model as the parameters.", "parameters");
            if (!Fits(g, p))
                throw new ArgumentException(
                    $"{Name}.Update: the gradient at {PathOf(i)} is {g.Describe()}, but the parameter there is {p.Describe()}; " +
                    "pass the parameters these gradients were taken of.", "parameters");
        }
    }

    private static bool Fits(Tensor a, Tensor b) =>
        a.DType == b.DType && a.Device == b.Device && a.Shape.AsSpan().SequenceEqual(b.Shape);

    /// <summary>
    /// Which leaves an optimiser trains: the floating-point ones. Integer and bool leaves (step counters, masks, token
    /// ids) cannot follow a gradient and are left out; a complex one is refused rather than half-supported.
    /// </summary>
    internal static bool[] Trained<T>(string owner, T parameters, Tensor?[] leaves) where T : class, ITreeNode
    {
        var trained = new bool[leaves.Length];
        for (int i = 0; i < leaves.Length; i++)
        {
            if (leaves[i] is not { } leaf) continue;
            if (leaf.DType.IsComplex())
                throw new NotSupportedException(
                    $"{owner}.Init: the leaf at {Eqx.LeafPaths(parameters)[i]} is {leaf.Describe()}; complex parameters are not supported yet. " +
                    "Store the real and imaginary parts as two float leaves.");
            trained[i] = leaf.DType.IsFloatingPoint();
        }
        return trained;
    }

    /// <summary>A step count of 0 on the device of the first trained leaf (the CPU when there is none).</summary>
    internal static Tensor NewCount(Tensor?[] leaves)
    {
        var device = leaves.FirstOrDefault(l => l is not null && l.DType.IsFloatingPoint())?.Device ?? Device.Cpu;
        return Tensor.Scalar(0L, DType.Int64, device);
    }

    /// <summary>Throws when <paramref name="state"/> was built by another transformation or lacks its slots.</summary>
    internal static void CheckOwner<T>(string name, OptimizerState<T> state, string[] slotNames) where T : class, ITreeNode
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Owner != name)
            throw new ArgumentException(
                $"{name}.Update was given a state built by {state.Owner}.Init; build the state with this optimiser's Init.", nameof(state));
        foreach (var slot in slotNames)
            if (!state.Slots.ContainsKey(slot))
                throw new ArgumentException(
                    $"{name}.Update: the state has no '{slot}' slot (it has: {(state.Slots.IsEmpty ? "none" : string.Join(", ", state.Slots.Keys.Order()))}); " +
                    "it was built by the same optimiser with other options. Build it with this optimiser's Init.", nameof(state));
    }

    /// <summary>Throws, naming where they part, when <paramref name="given"/> does not have the structure of <paramref name="expected"/>.</summary>
    internal static void CheckStructure<T>(string name, T expected, T given, string what) where T : class, ITreeNode
    {
        if (expected.TreeStaticEquals(given)) return;
        throw new ArgumentException(
            $"{name}.Update: the {what} do not have the structure of the tree the state was built for: " +
            $"{TreeDifference.Between("", expected, given, " (state) vs ") ?? "a static field or a collection differs"} (given). " +
            "Build the state with Init on the model you train; to leave leaves out, pass the model with holes there " +
            "(Eqx.Filter(model, Eqx.IsInexactTensor)) rather than another type.", what);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}(learningRate: {LearningRate})";
}
