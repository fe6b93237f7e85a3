using System.Diagnostics.CodeAnalysis;
using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

// JAX's lax.scan: a loop whose body is one function of (carry, x), with a carry of fixed structure and the per-step
// outputs stacked along a new leading dimension.
public static partial class Eqx
{
    private const DynamicallyAccessedMemberTypes TupleConstructors = DynamicallyAccessedMemberTypes.PublicConstructors;

    /// <summary>
    /// Loops <paramref name="f"/> over the leading dimension of <paramref name="xs"/>, threading a carry through the
    /// steps and stacking what each step outputs: <c>var (carry, ys) = Eqx.Scan((Tensor c, Tensor x) =&gt; (c + x, c + x), init, xs);</c>
    /// is a cumulative sum. It is JAX's <c>lax.scan</c>.
    /// </summary>
    /// <param name="f">The body: the carry and one slice <c>xs[i]</c> in, the next carry and this step's output out.</param>
    /// <param name="init">The first carry: a <see cref="Tensor"/>, a [Module] (e.g. an RNN state or a cell with its
    /// state), or a value tuple of those.</param>
    /// <param name="xs">The tensor scanned over, slice by slice along dimension 0; or null with <paramref name="length"/>
    /// given, in which case <paramref name="f"/> receives null for x (the overload without x reads better).</param>
    /// <param name="length">The number of steps; when <paramref name="xs"/> is given it must equal its leading dimension.</param>
    /// <returns>
    /// The last carry, and the outputs stacked along a new leading dimension of size length: a tensor becomes
    /// <c>[length, ...]</c>, every tensor of a module or a tuple is stacked alike, and null stays null.
    /// </returns>
    /// <remarks>
    /// <para>The carry must keep its structure, shapes and dtypes from step to step (JAX requires a fixed carry type);
    /// a change is an <see cref="ArgumentException"/> naming the step, the slot and both shapes. Each step's output
    /// must likewise match the first step's.</para>
    /// <para>On the CPU, and outside a compiled region, the steps run eagerly one at a time, each inside its own
    /// <see cref="TensorScope"/>: only the carry and the outputs outlive a step, and a carry is disposed once the next
    /// one replaces it. Gradients flow through the loop, so a Scan inside <see cref="FilterGrad{T}(Func{T, Tensor})"/>
    /// differentiates every step.</para>
    /// <para>Inside a step that <c>FilterJit</c> captures as a CUDA graph, the body runs once, under a capture of its
    /// own, into a body graph; each step then adds to the step's graph only a copy of <c>xs[i]</c> into a static buffer,
    /// one launch of the body graph (a child-graph node) and copies of its outputs into the carry and into row i of the
    /// stacked outputs. The C# body and its LibTorch dispatch therefore run once whatever the length (the graph still
    /// holds a copy of the body's kernels per step). Scan declines, and is unrolled into the graph step by step as
    /// eagerly, when gradients must flow through it (grad mode is on and the carry, xs or the body's outputs require
    /// grad: autograd cannot see through a replayed body graph), when the body calls <see cref="ErrorIf"/> or
    /// <see cref="BranchedErrorIf"/>, inside <c>FilterVmap</c>, or when the body cannot be captured on its own;
    /// <c>EQUINOX_LOG_COMPILES=1</c> prints why (<c>equinox: Scan: unrolled into the graph: ...</c>). Warm-up calls
    /// before a capture, and FilterJit on the CPU, run it eagerly. This path has never run on a GPU in this project's
    /// CI, which has none.</para>
    /// </remarks>
    public static (TCarry Carry, TOut Outputs) Scan<
        [DynamicallyAccessedMembers(TupleConstructors)] TCarry,
        [DynamicallyAccessedMembers(TupleConstructors)] TOut>(
        Func<TCarry, Tensor, (TCarry Carry, TOut Output)> f, TCarry init, Tensor? xs, long? length = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return ScanTransform.Run(f, init, xs, ScanTransform.Length(xs, length));
    }

    /// <summary>
    /// <see cref="Scan{TCarry, TOut}(Func{TCarry, Tensor, ValueTuple{TCarry, TOut}}, TCarry, Tensor?, long?)"/> with
    /// nothing to scan over: <paramref name="f"/> runs <paramref name="length"/> times on the carry alone (lax.scan
    /// with <c>xs=None</c>). Use it instead of an unrolled loop such as <c>x2 = f(x1); x3 = f(x2);</c>.
    /// </summary>
    public static (TCarry Carry, TOut Outputs) Scan<
        [DynamicallyAccessedMembers(TupleConstructors)] TCarry,
        [DynamicallyAccessedMembers(TupleConstructors)] TOut>(
        Func<TCarry, (TCarry Carry, TOut Output)> f, TCarry init, long length)
    {
        ArgumentNullException.ThrowIfNull(f);
        return ScanTransform.Run<TCarry, TOut>((carry, _) => f(carry), init, null, ScanTransform.Length(null, length));
    }
}

/// <summary>
/// The seam where a compiled region takes <see cref="Eqx.Scan{TCarry, TOut}(Func{TCarry, Tensor, ValueTuple{TCarry, TOut}}, TCarry, Tensor?, long?)"/>
/// over. FilterJit's CUDA-graph path installs <see cref="Transforms.CudaScanLowering"/> on its thread while it captures
/// (and only then), so that the body is captured once and launched per step instead of unrolled into the graph: JAX's
/// answer to a model that is slow to compile. With none installed, Scan runs eagerly.
/// </summary>
internal interface IScanLowering
{
    /// <summary>
    /// Runs <paramref name="program"/> whole and returns the last carry and the stacked outputs as flat leaves, or
    /// returns false to decline, and Scan then runs eagerly.
    /// </summary>
    bool TryRun(ScanProgram program, [NotNullWhen(true)] out Tensor?[]? carry, [NotNullWhen(true)] out Tensor?[]? stackedOutputs);
}

/// <summary>
/// A Scan in flat form, for an <see cref="IScanLowering"/>: <see cref="Step"/> maps the carry's leaves and one slice of
/// <see cref="Xs"/> (null without xs) to the next carry's leaves and the step's output leaves, in the order of
/// <c>Eqx.Flatten</c> (a tuple's items in order).
/// </summary>
internal sealed record ScanProgram(long Length, Tensor?[] InitCarry, Tensor? Xs, Func<Tensor?[], Tensor?, (Tensor?[] Carry, Tensor?[] Output)> Step);

internal static class ScanTransform
{
    /// <summary>
    /// The lowering installed on this thread by a compiled region that is capturing, if any. The runtime installs it
    /// with <see cref="Install"/>; setting it directly is for tests, which clear it again themselves.
    /// </summary>
    internal static IScanLowering? Lowering
    {
        get => TransformContext.Current.ScanLowering;
        set => TransformContext.Set(TransformContext.Current with { ScanLowering = value });
    }

    /// <summary>Makes <paramref name="lowering"/> (null: none) this thread's lowering until the result is disposed.</summary>
    internal static TransformContext.Scope Install(IScanLowering? lowering) =>
        TransformContext.Install(TransformContext.Current with { ScanLowering = lowering });

    internal static long Length(Tensor? xs, long? length)
    {
        if (length is < 0)
            throw new ArgumentOutOfRangeException(nameof(length), length, "Scan's length cannot be negative.");
        long steps;
        if (xs is null)
        {
            steps = length ?? throw new ArgumentException(
                "Scan needs something to count its steps: pass xs (scanned along dimension 0) or a length.", nameof(length));
        }
        else
        {
            if (xs.Rank == 0)
                throw new ArgumentException(
                    $"Scan slices xs along its leading dimension, but xs is a scalar ({xs.Describe()}). " +
                    "Give it a leading dimension, e.g. `xs.Unsqueeze(0)`, or scan with a length and no xs.", nameof(xs));
            steps = xs.Shape[0];
            if (length is { } given && given != steps)
                throw new ArgumentException(
                    $"Scan got length {given}, but xs ({xs.Describe()}) has {steps} along its leading dimension; " +
                    "they must agree (or leave length out).", nameof(length));
        }
        if (steps == 0)
            throw new NotSupportedException(
                "Scan over zero steps is not supported: the eager Scan learns the outputs' shapes from the first step, " +
                "and there is none. Skip the call when there is nothing to scan.");
        if (steps > Array.MaxLength)
            throw new NotSupportedException(
                $"Scan over {steps} steps is not supported: it stacks one output per step, and a .NET array holds at most " +
                $"{Array.MaxLength}. Split the scan into several shorter ones.");
        return steps;
    }

    internal static (TCarry Carry, TOut Outputs) Run<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TCarry,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        Func<TCarry, Tensor, (TCarry Carry, TOut Output)> f, TCarry init, Tensor? xs, long length)
    {
        var initLeaves = FlattenCarry(init);
        if (Lowering is { } lowering && TryLowered(lowering, f, init, initLeaves, xs, length) is { } lowered) return lowered;

        using var loop = Torch.Scope();
        var carry = init;
        var outputs = new List<Tensor?[]>();
        var outputTensors = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        TOut template = default!;
        for (long i = 0; i < length; i++)
        {
            TCarry next;
            TOut output;
            using (var step = CallScope.Open())
            {
                var x = xs?.Select(0, i);
                (next, output) = f(carry, x!);
                step.CheckFunctionClosedItsScopes("Scan");
                if (TreeLike.Difference(init, next, "carry") is { } carryChange)
                    throw new ArgumentException(
                        $"Scan needs a carry of fixed structure, shape and dtype, but at step {i} {carryChange}. " +
                        "Make the body return a carry shaped like init (cast or reshape it, or start from an init of the final shape).",
                        nameof(f));
                if (i == 0) template = output;
                else if (TreeLike.Difference(template, output, "output") is { } outputChange)
                    throw new ArgumentException(
                        $"Scan stacks the outputs of every step, so they must match the first step's, but at step {i} {outputChange}.",
                        nameof(f));
                var leaves = new List<Tensor?>();
                TreeLike.Flatten(output, leaves, "Scan's output");
                outputs.Add(leaves.ToArray());
                foreach (var leaf in leaves) if (leaf is not null) outputTensors.Add(leaf);
                JitResults.MoveOut(step.Tensors, next, "Scan's carry");
                JitResults.MoveOut(step.Tensors, output, "Scan's output");
            }
            DisposeReplaced(carry, next, outputTensors, loop);
            carry = next;
        }

        var stacked = Stack(outputs);
        var result = stacked.Length == 0 && template is null ? template : TreeLike.Rebuild(template, stacked, "Scan's output");
        loop.MoveOut(stacked);
        JitResults.MoveOut(loop, carry, "Scan's carry");
        return (carry, result);
    }

    // A carry that this loop made and that neither the next carry nor any output holds is dead: free it now rather
    // than when the loop ends, so memory does not grow with the length.
    private static void DisposeReplaced<TCarry>(TCarry old, TCarry next, HashSet<Tensor> outputTensors, TensorScope loop)
    {
        var oldLeaves = FlattenCarry(old);
        if (oldLeaves.Length == 0) return;
        var alive = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var leaf in FlattenCarry(next)) if (leaf is not null) alive.Add(leaf);
        foreach (var leaf in oldLeaves)
            if (leaf is not null && ReferenceEquals(leaf.Owner, loop) && !alive.Contains(leaf) && !outputTensors.Contains(leaf))
                leaf.Dispose();
    }

    private static Tensor?[] Stack(List<Tensor?[]> outputs)
    {
        var slots = outputs[0].Length;
        var stacked = new Tensor?[slots];
        var column = new Tensor[outputs.Count];
        for (int j = 0; j < slots; j++)
        {
            if (outputs[0][j] is null) continue; // null in every step: Difference checked the pattern
            for (int i = 0; i < column.Length; i++) column[i] = outputs[i][j]!;
            stacked[j] = Tensor.Stack(column);
        }
        return stacked;
    }

    private static Tensor?[] FlattenCarry<TCarry>(TCarry carry)
    {
        var leaves = new List<Tensor?>();
        TreeLike.Flatten(carry, leaves, "Scan's carry");
        return leaves.ToArray();
    }

    private static (TCarry, TOut)? TryLowered<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TCarry,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TOut>(
        IScanLowering lowering, Func<TCarry, Tensor, (TCarry Carry, TOut Output)> f, TCarry init, Tensor?[] initLeaves, Tensor? xs, long length)
    {
        bool traced = false;
        TOut template = default!;
        var program = new ScanProgram(length, initLeaves, xs, (carryLeaves, x) =>
        {
            var (next, output) = f(TreeLike.Rebuild(init, carryLeaves, "Scan's carry"), x!);
            if (TreeLike.Difference(init, next, "carry") is { } change)
                throw new ArgumentException($"Scan needs a carry of fixed structure, shape and dtype, but {change}.", nameof(f));
            if (!traced) (template, traced) = (output, true);
            var leaves = new List<Tensor?>();
            TreeLike.Flatten(output, leaves, "Scan's output");
            return (FlattenCarry(next), leaves.ToArray());
        });
        if (!lowering.TryRun(program, out var carry, out var stacked)) return null;
        if (!traced) throw new InvalidOperationException("The Scan lowering returned a result without running the body.");
        var outputs = stacked.Length == 0 && template is null ? template : TreeLike.Rebuild(template, stacked, "Scan's output");
        return (TreeLike.Rebuild(init, carry, "Scan's carry"), outputs);
    }
}
