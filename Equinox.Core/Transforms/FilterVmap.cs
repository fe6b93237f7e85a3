using System.Text;
using Equinox.Tensors;

namespace Equinox;

public static partial class Eqx
{
    /// <summary>
    /// Vectorises <paramref name="f"/>, written for one example, over a batch: the result takes inputs with an extra
    /// batch dimension and returns outputs with one. It runs through LibTorch's functorch batching, so the batch goes
    /// through each op at once (batched speed), not example by example.
    /// </summary>
    /// <param name="f">The per-example function: takes and returns a <see cref="Tensor"/> or a [Module] tree.</param>
    /// <param name="inAxes">Which dimension of the input's tensors is the batch (a prefix spec, see
    /// <see cref="VmapAxes"/>); null means 0 for every tensor. <see cref="VmapAxes.None"/> broadcasts.</param>
    /// <param name="outAxes">Where the batch dimension goes in the outputs; null means 0. An output that does not
    /// depend on the batch is broadcast along it; <see cref="VmapAxes.None"/> returns it without one.</param>
    /// <param name="randomness">What random ops on LibTorch's global generator do inside (functorch's rule).</param>
    /// <param name="axisName">A name for the batch: <see cref="Psum(Tensor, string)"/>, <see cref="Pmean(Tensor, string)"/>,
    /// <see cref="Pmax(Tensor, string)"/>, <see cref="Pmin(Tensor, string)"/>, <see cref="AllGather(Tensor, string)"/> and
    /// <see cref="AxisIndex(string, Device?)"/> inside act over it by that name.</param>
    /// <param name="axisSize">The batch size. With no batched input (every inAxes None) the function runs this many times,
    /// each output gaining a batch dimension of this size; with batched inputs it must equal their size.</param>
    /// <remarks>Call the result on the thread that will run it end to end: functorch's layers are per thread.</remarks>
    public static Func<TIn, TOut> FilterVmap<TIn, TOut>(Func<TIn, TOut> f, VmapAxes? inAxes = null, VmapAxes? outAxes = null,
        VmapRandomness randomness = VmapRandomness.Error,
        string? axisName = null, long? axisSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return x => (TOut)Vmap.Run([x], inAxes, args => [f((TIn)args[0]!)], outAxes, 1, randomness, axisName, axisSize)[0]!;
    }

    /// <summary>
    /// <see cref="FilterVmap{TIn, TOut}(Func{TIn, TOut}, VmapAxes?, VmapAxes?, VmapRandomness, string?, long?)"/> for two arguments;
    /// <paramref name="inAxes"/> is one spec for both or a pair, e.g. <c>(0, VmapAxes.None)</c>.
    /// </summary>
    /// <param name="f">The per-example function.</param>
    /// <param name="inAxes">The batch dimension of each argument (null: 0 for every tensor).</param>
    /// <param name="outAxes">Where the batch dimension goes in the outputs (null: 0).</param>
    /// <param name="randomness">What random ops on LibTorch's global generator do inside.</param>
    /// <param name="axisName">A name for the batch, for the collectives inside (<see cref="Psum(Tensor, string)"/>).</param>
    /// <param name="axisSize">The batch size; needed when no input is batched, checked against the inputs otherwise.</param>
    public static Func<T1, T2, TOut> FilterVmap<T1, T2, TOut>(Func<T1, T2, TOut> f, VmapAxes? inAxes = null,
        VmapAxes? outAxes = null, VmapRandomness randomness = VmapRandomness.Error,
        string? axisName = null, long? axisSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return (a, b) => (TOut)Vmap.Run([a, b], inAxes, args => [f((T1)args[0]!, (T2)args[1]!)], outAxes, 1, randomness, axisName, axisSize)[0]!;
    }

    /// <summary>
    /// <see cref="FilterVmap{TIn, TOut}(Func{TIn, TOut}, VmapAxes?, VmapAxes?, VmapRandomness, string?, long?)"/> for three arguments.
    /// </summary>
    /// <param name="f">The per-example function.</param>
    /// <param name="inAxes">The batch dimension of each argument (null: 0 for every tensor).</param>
    /// <param name="outAxes">Where the batch dimension goes in the outputs (null: 0).</param>
    /// <param name="randomness">What random ops on LibTorch's global generator do inside.</param>
    /// <param name="axisName">A name for the batch, for the collectives inside (<see cref="Psum(Tensor, string)"/>).</param>
    /// <param name="axisSize">The batch size; needed when no input is batched, checked against the inputs otherwise.</param>
    public static Func<T1, T2, T3, TOut> FilterVmap<T1, T2, T3, TOut>(Func<T1, T2, T3, TOut> f, VmapAxes? inAxes = null,
        VmapAxes? outAxes = null, VmapRandomness randomness = VmapRandomness.Error,
        string? axisName = null, long? axisSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return (a, b, c) =>
            (TOut)Vmap.Run([a, b, c], inAxes, args => [f((T1)args[0]!, (T2)args[1]!, (T3)args[2]!)], outAxes, 1, randomness, axisName, axisSize)[0]!;
    }

    /// <summary>
    /// <see cref="FilterVmap{TIn, TOut}(Func{TIn, TOut}, VmapAxes?, VmapAxes?, VmapRandomness, string?, long?)"/> for a function
    /// with two outputs; <paramref name="outAxes"/> is one spec for both or a pair.
    /// </summary>
    /// <param name="f">The per-example function.</param>
    /// <param name="inAxes">The batch dimension of the argument (null: 0 for every tensor).</param>
    /// <param name="outAxes">Where the batch dimension goes in each output (null: 0).</param>
    /// <param name="randomness">What random ops on LibTorch's global generator do inside.</param>
    /// <param name="axisName">A name for the batch, for the collectives inside (<see cref="Psum(Tensor, string)"/>).</param>
    /// <param name="axisSize">The batch size; needed when no input is batched, checked against the inputs otherwise.</param>
    public static Func<TIn, (TOut1, TOut2)> FilterVmap<TIn, TOut1, TOut2>(Func<TIn, (TOut1, TOut2)> f,
        VmapAxes? inAxes = null, VmapAxes? outAxes = null, VmapRandomness randomness = VmapRandomness.Error,
        string? axisName = null, long? axisSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return x =>
        {
            var outs = Vmap.Run([x], inAxes, args => { var (o1, o2) = f((TIn)args[0]!); return [o1, o2]; }, outAxes, 2, randomness, axisName, axisSize);
            return ((TOut1)outs[0]!, (TOut2)outs[1]!);
        };
    }

    /// <summary>
    /// <see cref="FilterVmap{TIn, TOut}(Func{TIn, TOut}, VmapAxes?, VmapAxes?, VmapRandomness, string?, long?)"/> for two arguments
    /// and two outputs.
    /// </summary>
    /// <param name="f">The per-example function.</param>
    /// <param name="inAxes">The batch dimension of each argument (null: 0 for every tensor).</param>
    /// <param name="outAxes">Where the batch dimension goes in each output (null: 0).</param>
    /// <param name="randomness">What random ops on LibTorch's global generator do inside.</param>
    /// <param name="axisName">A name for the batch, for the collectives inside (<see cref="Psum(Tensor, string)"/>).</param>
    /// <param name="axisSize">The batch size; needed when no input is batched, checked against the inputs otherwise.</param>
    public static Func<T1, T2, (TOut1, TOut2)> FilterVmap<T1, T2, TOut1, TOut2>(Func<T1, T2, (TOut1, TOut2)> f,
        VmapAxes? inAxes = null, VmapAxes? outAxes = null, VmapRandomness randomness = VmapRandomness.Error,
        string? axisName = null, long? axisSize = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return (a, b) =>
        {
            var outs = Vmap.Run([a, b], inAxes, args => { var (o1, o2) = f((T1)args[0]!, (T2)args[1]!); return [o1, o2]; },
                outAxes, 2, randomness, axisName, axisSize);
            return ((TOut1)outs[0]!, (TOut2)outs[1]!);
        };
    }

    /// <summary>
    /// Runs <paramref name="f"/>, which takes no input, <paramref name="axisSize"/> times as one batch: every output
    /// gains a batch dimension of that size. With <c>randomness: VmapRandomness.Different</c> each example draws its own
    /// random values (an ensemble's initial weights, say); otherwise the outputs are broadcast along the batch.
    /// </summary>
    /// <param name="f">The per-example function.</param>
    /// <param name="axisSize">How many examples.</param>
    /// <param name="outAxes">Where the batch dimension goes in the outputs (null: 0).</param>
    /// <param name="randomness">What random ops on LibTorch's global generator do inside.</param>
    /// <param name="axisName">A name for the batch, for the collectives inside (<see cref="Psum(Tensor, string)"/>).</param>
    public static Func<TOut> FilterVmap<TOut>(Func<TOut> f, long axisSize, VmapAxes? outAxes = null,
        VmapRandomness randomness = VmapRandomness.Error, string? axisName = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return () => (TOut)Vmap.Run([], VmapAxes.None, _ => [f()], outAxes, 1, randomness, axisName, axisSize)[0]!;
    }

    /// <summary>
    /// <see cref="FilterVmap{TOut}(Func{TOut}, long, VmapAxes?, VmapRandomness, string?)"/> with two outputs.
    /// </summary>
    /// <param name="f">The per-example function.</param>
    /// <param name="axisSize">How many examples.</param>
    /// <param name="outAxes">Where the batch dimension goes in each output (null: 0).</param>
    /// <param name="randomness">What random ops on LibTorch's global generator do inside.</param>
    /// <param name="axisName">A name for the batch, for the collectives inside.</param>
    public static Func<(TOut1, TOut2)> FilterVmap<TOut1, TOut2>(Func<(TOut1, TOut2)> f, long axisSize, VmapAxes? outAxes = null,
        VmapRandomness randomness = VmapRandomness.Error, string? axisName = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return () =>
        {
            var outs = Vmap.Run([], VmapAxes.None, _ => { var (o1, o2) = f(); return [o1, o2]; }, outAxes, 2, randomness, axisName, axisSize);
            return ((TOut1)outs[0]!, (TOut2)outs[1]!);
        };
    }
}

/// <summary>The one implementation behind every FilterVmap overload.</summary>
internal static class Vmap
{
    private static readonly VmapAxes Zero = 0;

    /// <summary>Whether a FilterVmap's function is running on this thread (its tensors may be batched).</summary>
    internal static bool IsRunning => VmapErrorChecks.InsideVmap;

    internal static object?[] Run(object?[] args, VmapAxes? inAxes, Func<object?[], object?[]> body, VmapAxes? outAxes,
        int outputCount, VmapRandomness randomness, string? axisName = null, long? axisSize = null)
    {
        inAxes ??= Zero;
        outAxes ??= Zero;
        if (axisSize < 0)
            throw new ArgumentOutOfRangeException(nameof(axisSize), axisSize, "FilterVmap: axisSize must not be negative.");
        if (axisName is { Length: 0 })
            throw new ArgumentException("FilterVmap: axisName must not be empty; leave it null for an unnamed batch.", nameof(axisName));

        // Which leaf of which argument is batched along which axis, checked before any layer is open.
        var leaves = new Tensor?[args.Length][];
        var axes = new int?[args.Length][];
        long batchSize = -1;
        bool sizesAgree = true;
        for (int a = 0; a < args.Length; a++)
        {
            leaves[a] = VmapTrees.Flatten(args[a], $"FilterVmap: argument {a}");
            axes[a] = new int?[leaves[a].Length];
            var spec = inAxes.Element(a, args.Length, "inAxes");
            var paths = spec.NeedsPaths ? VmapTrees.Paths(args[a]) : null;
            for (int i = 0; i < leaves[a].Length; i++)
            {
                if (leaves[a][i] is not { } leaf) continue;
                if (spec.AxisFor(leaf, paths?[i]) is not { } axis) continue;
                int rank = leaf.Rank;
                if (axis < -rank || axis >= rank)
                    throw new ArgumentException(
                        $"FilterVmap: inAxes maps {Where(args, a, i)} ({leaf.Describe()}) along axis {axis}, but it has only " +
                        $"{rank} dimension{(rank == 1 ? "" : "s")}; use an axis in [{-rank}, {rank - 1}], or VmapAxes.None to broadcast it.",
                        nameof(inAxes));
                axes[a][i] = axis < 0 ? axis + rank : axis;
                long size = leaf.Shape[axes[a][i]!.Value];
                if (batchSize < 0) batchSize = size;
                else if (size != batchSize) sizesAgree = false;
            }
        }
        if (!sizesAgree) throw MismatchedSizes(args, leaves, axes);
        if (axisSize is { } given && batchSize >= 0 && given != batchSize) throw WrongAxisSize(args, leaves, axes, given);
        if (batchSize < 0)
            batchSize = axisSize ?? throw new ArgumentException(
                "FilterVmap: no input tensor is batched (inAxes maps every one to None), so there is no batch size. " +
                "Batch at least one input, e.g. inAxes: 0, or give the size with axisSize.", nameof(inAxes));

        var outputs = new object?[outputCount];
        var checks = new List<Transforms.ErrorCheck>();
        using (var layer = new Functorch.VmapLayer(batchSize, randomness))
        using (var scope = CallScope.Open())
        {
            using var recording = VmapErrorChecks.Record(checks);
            using var named = axisName is null ? default(Transforms.TransformContext.Scope?) :
                Transforms.TransformContext.Install(Transforms.TransformContext.Current with
                {
                    NamedAxes = new Transforms.VmapAxisName(axisName, layer.Level, batchSize, Transforms.TransformContext.Current.NamedAxes),
                });
            var batched = new object?[args.Length];
            for (int a = 0; a < args.Length; a++)
            {
                var inner = (Tensor?[])leaves[a].Clone();
                for (int i = 0; i < inner.Length; i++)
                    if (axes[a][i] is { } axis) inner[i] = layer.AddBatchDim(inner[i]!, axis);
                batched[a] = VmapTrees.Rebuild(args[a], inner);
            }

            var results = body(batched);
            scope.CheckFunctionClosedItsScopes("FilterVmap");
            for (int c = 0; c < checks.Count; c++)
                checks[c] = checks[c] with { Code = scope.MoveOut(layer.RemoveBatchDim(checks[c].Code, 0)) };
            for (int o = 0; o < outputCount; o++)
            {
                var outLeaves = VmapTrees.Flatten(results[o], $"FilterVmap: output {o}");
                var spec = outAxes.Element(o, outputCount, "outAxes");
                var paths = spec.NeedsPaths ? VmapTrees.Paths(results[o]) : null;
                for (int i = 0; i < outLeaves.Length; i++)
                {
                    if (outLeaves[i] is not { } leaf) continue;
                    var axis = spec.AxisFor(leaf, paths?[i]);
                    if (axis is null)
                    {
                        if (layer.IsBatched(leaf))
                            throw new ArgumentException(
                                $"FilterVmap: outAxes says {WhereOut(results[o], o, outputCount, i)} ({leaf.Describe()} per example) " +
                                "is not batched, but it depends on the batched inputs; give it an axis (e.g. 0) instead of VmapAxes.None.",
                                nameof(outAxes));
                        outLeaves[i] = scope.MoveOut(leaf);
                        continue;
                    }
                    int rank = leaf.Rank + 1;
                    if (axis < -rank || axis >= rank)
                        throw new ArgumentException(
                            $"FilterVmap: outAxes puts the batch of {WhereOut(results[o], o, outputCount, i)} ({leaf.Describe()} per example) " +
                            $"at axis {axis}, but the batched result has only {rank} dimensions; use an axis in [{-rank}, {rank - 1}].",
                            nameof(outAxes));
                    outLeaves[i] = scope.MoveOut(layer.RemoveBatchDim(leaf, axis.Value < 0 ? axis.Value + rank : axis.Value));
                }
                outputs[o] = VmapTrees.Rebuild(results[o], outLeaves);
            }
        }
        VmapErrorChecks.Deliver(checks);
        return outputs;
    }

    private static string Where(object?[] args, int a, int i) =>
        VmapTrees.Describe("argument", a, args.Length, args[a] is ITreeNode ? VmapTrees.Paths(args[a])[i] : null);

    private static string WhereOut(object? output, int o, int count, int i) =>
        VmapTrees.Describe("output", o, count, output is ITreeNode ? VmapTrees.Paths(output)[i] : null);

    private static ArgumentException WrongAxisSize(object?[] args, Tensor?[][] leaves, int?[][] axes, long axisSize)
    {
        for (int a = 0; a < args.Length; a++)
            for (int i = 0; i < leaves[a].Length; i++)
            {
                if (axes[a][i] is not { } axis) continue;
                var leaf = leaves[a][i]!;
                return new ArgumentException(
                    $"FilterVmap: axisSize is {axisSize}, but {Where(args, a, i)} ({leaf.Describe()}) is batched along axis {axis} " +
                    $"with size {leaf.Shape[axis]}; give axisSize: {leaf.Shape[axis]}, or leave it out to take the size from the inputs.",
                    "axisSize");
            }
        throw new InvalidOperationException("no batched input");
    }

    private static ArgumentException MismatchedSizes(object?[] args, Tensor?[][] leaves, int?[][] axes)
    {
        var text = new StringBuilder("FilterVmap: the batched inputs disagree on the batch size: ");
        int shown = 0;
        for (int a = 0; a < args.Length; a++)
        {
            var paths = args[a] is ITreeNode ? VmapTrees.Paths(args[a]) : null;
            for (int i = 0; i < leaves[a].Length; i++)
            {
                if (axes[a][i] is not { } axis) continue;
                if (shown == 12) { text.Append(", ..."); goto done; }
                if (shown++ > 0) text.Append(", ");
                var leaf = leaves[a][i]!;
                text.Append(VmapTrees.Describe("argument", a, args.Length, paths?[i]))
                    .Append(' ').Append(leaf.Describe()).Append(" has ").Append(leaf.Shape[axis]).Append(" along axis ").Append(axis);
            }
        }
    done:
        text.Append(". Every batched tensor needs the same size along its inAxes axis; broadcast the others with VmapAxes.None.");
        return new ArgumentException(text.ToString(), "inAxes");
    }
}
