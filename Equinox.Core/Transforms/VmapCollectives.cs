using Equinox.Tensors;
using Equinox.Tensors.Interop;
using Equinox.Transforms;

namespace Equinox.Transforms
{
    /// <summary>
    /// A named FilterVmap running on this thread: its name, functorch level and size, and the named one around it.
    /// An immutable list, innermost first, held in <see cref="TransformState.NamedAxes"/>.
    /// </summary>
    internal sealed record VmapAxisName(string Name, long Level, long Size, VmapAxisName? Outer)
    {
        /// <summary>The innermost running FilterVmap called <paramref name="name"/> (an inner one shadows an outer one).</summary>
        internal VmapAxisName? Find(string name)
        {
            for (var axis = this; axis is not null; axis = axis.Outer)
                if (axis.Name == name) return axis;
            return null;
        }

        /// <summary>The names in scope, innermost first: <c>"inner", "batch"</c>.</summary>
        internal string Names()
        {
            var names = new List<string>();
            for (var axis = this; axis is not null; axis = axis.Outer) names.Add($"\"{axis.Name}\"");
            return string.Join(", ", names);
        }
    }
}

namespace Equinox
{
    public static partial class Eqx
    {
        /// <summary>
        /// The sum of <paramref name="x"/> over every example of the FilterVmap called <paramref name="axisName"/>
        /// (JAX's <c>psum</c>): each example gets the same result, shaped like one example's <paramref name="x"/>.
        /// </summary>
        /// <param name="x">A tensor inside the FilterVmap's function (one example's value).</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap; nested FilterVmaps choose by name.</param>
        /// <exception cref="InvalidOperationException">No FilterVmap with that name is running on this thread.</exception>
        /// <exception cref="ArgumentException"><paramref name="x"/> is a bool tensor.</exception>
        /// <exception cref="NotSupportedException">A gradient transform inside the FilterVmap differentiates <paramref name="x"/>.</exception>
        public static Tensor Psum(Tensor x, string axisName) => VmapCollectives.Reduce(x, axisName, VmapCollectives.Op.Sum, null);

        /// <summary>
        /// The mean of <paramref name="x"/> over every example of the FilterVmap called <paramref name="axisName"/>
        /// (JAX's <c>pmean</c>). Floating-point and complex tensors only: the mean of integers is not an integer.
        /// </summary>
        /// <param name="x">A floating-point tensor inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        /// <exception cref="InvalidOperationException">No FilterVmap with that name is running on this thread.</exception>
        /// <exception cref="ArgumentException"><paramref name="x"/> is an integer or bool tensor.</exception>
        /// <exception cref="NotSupportedException">A gradient transform inside the FilterVmap differentiates <paramref name="x"/>.</exception>
        public static Tensor Pmean(Tensor x, string axisName) => VmapCollectives.Reduce(x, axisName, VmapCollectives.Op.Mean, null);

        /// <summary>
        /// The elementwise maximum of <paramref name="x"/> over every example of the FilterVmap called
        /// <paramref name="axisName"/> (JAX's <c>pmax</c>). Its gradient is shared evenly between tied examples.
        /// </summary>
        /// <param name="x">A real tensor inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        /// <exception cref="InvalidOperationException">No FilterVmap with that name is running on this thread.</exception>
        /// <exception cref="NotSupportedException">A gradient transform inside the FilterVmap differentiates <paramref name="x"/>.</exception>
        public static Tensor Pmax(Tensor x, string axisName) => VmapCollectives.Reduce(x, axisName, VmapCollectives.Op.Max, null);

        /// <summary>
        /// The elementwise minimum of <paramref name="x"/> over every example of the FilterVmap called
        /// <paramref name="axisName"/> (JAX's <c>pmin</c>). Its gradient is shared evenly between tied examples.
        /// </summary>
        /// <param name="x">A real tensor inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        /// <exception cref="InvalidOperationException">No FilterVmap with that name is running on this thread.</exception>
        /// <exception cref="NotSupportedException">A gradient transform inside the FilterVmap differentiates <paramref name="x"/>.</exception>
        public static Tensor Pmin(Tensor x, string axisName) => VmapCollectives.Reduce(x, axisName, VmapCollectives.Op.Min, null);

        /// <summary>
        /// Every example's <paramref name="x"/>, stacked along a new leading dimension (JAX's <c>all_gather</c>): each
        /// example gets the same <c>[axis size, ...x's shape]</c> tensor, in batch order. Differentiable like the others.
        /// </summary>
        /// <param name="x">A tensor inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        /// <exception cref="InvalidOperationException">No FilterVmap with that name is running on this thread.</exception>
        /// <exception cref="NotSupportedException">A gradient transform inside the FilterVmap differentiates <paramref name="x"/>.</exception>
        public static Tensor AllGather(Tensor x, string axisName) => VmapCollectives.Reduce(x, axisName, VmapCollectives.Op.Gather, null);

        /// <summary>
        /// Each example's index along the FilterVmap called <paramref name="axisName"/> (JAX's <c>axis_index</c>): an
        /// int64 scalar, 0 for the first example.
        /// </summary>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        /// <param name="device">Where the index lives (CPU unless given): the device of the tensors it meets.</param>
        /// <exception cref="InvalidOperationException">No FilterVmap with that name is running on this thread.</exception>
        public static Tensor AxisIndex(string axisName, Device? device = null)
        {
            ArgumentNullException.ThrowIfNull(axisName);
            var axis = VmapCollectives.Resolve(axisName, "AxisIndex");
            var d = device ?? Device.Cpu;
            return Tensor.Wrap(NativeMethods.eqx_vmap_axis_index(axis.Level, axis.Size, (int)d.Type, d.Index), "AxisIndex");
        }

        /// <summary><see cref="AllGather(Tensor, string)"/> of every tensor leaf of <paramref name="tree"/> (null slots stay null).</summary>
        /// <param name="tree">A [Module] tree inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        public static T AllGather<T>(T tree, string axisName) where T : ITreeNode => VmapCollectives.ReduceTree(tree, axisName, VmapCollectives.Op.Gather);

        /// <summary><see cref="Psum(Tensor, string)"/> of every tensor leaf of <paramref name="tree"/> (null slots stay null).</summary>
        /// <param name="tree">A [Module] tree inside the FilterVmap's function, e.g. one example's gradients.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        public static T Psum<T>(T tree, string axisName) where T : ITreeNode => VmapCollectives.ReduceTree(tree, axisName, VmapCollectives.Op.Sum);

        /// <summary><see cref="Pmean(Tensor, string)"/> of every tensor leaf of <paramref name="tree"/> (null slots stay null).</summary>
        /// <param name="tree">A [Module] tree of floating-point tensors inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        public static T Pmean<T>(T tree, string axisName) where T : ITreeNode => VmapCollectives.ReduceTree(tree, axisName, VmapCollectives.Op.Mean);

        /// <summary><see cref="Pmax(Tensor, string)"/> of every tensor leaf of <paramref name="tree"/> (null slots stay null).</summary>
        /// <param name="tree">A [Module] tree inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        public static T Pmax<T>(T tree, string axisName) where T : ITreeNode => VmapCollectives.ReduceTree(tree, axisName, VmapCollectives.Op.Max);

        /// <summary><see cref="Pmin(Tensor, string)"/> of every tensor leaf of <paramref name="tree"/> (null slots stay null).</summary>
        /// <param name="tree">A [Module] tree inside the FilterVmap's function.</param>
        /// <param name="axisName">The <c>axisName</c> of a running FilterVmap.</param>
        public static T Pmin<T>(T tree, string axisName) where T : ITreeNode => VmapCollectives.ReduceTree(tree, axisName, VmapCollectives.Op.Min);
    }

    /// <summary>
    /// The collectives over a named FilterVmap's batch. functorch has none (its ops never look across examples), so
    /// the native side opens the tensor at the axis's level, reduces along the batch dimension with ordinary ops and
    /// returns the result unbatched there: every example sees the same value, and autograd sees ordinary ops.
    /// </summary>
    internal static class VmapCollectives
    {
        internal enum Op { Sum = 0, Mean = 1, Max = 2, Min = 3, Gather = 4 }

        private static string Name(Op op) => op switch
        {
            Op.Sum => "Psum",
            Op.Mean => "Pmean",
            Op.Max => "Pmax",
            Op.Min => "Pmin",
            _ => "AllGather",
        };

        internal static T ReduceTree<T>(T tree, string axisName, Op op) where T : ITreeNode
        {
            ArgumentNullException.ThrowIfNull(tree);
            ArgumentNullException.ThrowIfNull(axisName);
            var axis = Resolve(axisName, Name(op));
            var leaves = Eqx.Flatten(tree);
            TreePath[]? paths = null;
            var reduced = new Tensor?[leaves.Length];
            for (int i = 0; i < leaves.Length; i++)
            {
                if (leaves[i] is not { } leaf) continue;
                if (Rejects(leaf, op))
                {
                    paths ??= Eqx.LeafPaths(tree);
                    throw BadDType(leaf, op, axisName, paths[i].ToString());
                }
                reduced[i] = Native(leaf, axis, op, axisName);
            }
            return (T)Eqx.Unflatten(tree, reduced);
        }

        internal static Tensor Reduce(Tensor x, string axisName, Op op, string? path)
        {
            ArgumentNullException.ThrowIfNull(x);
            ArgumentNullException.ThrowIfNull(axisName);
            var axis = Resolve(axisName, Name(op));
            if (Rejects(x, op)) throw BadDType(x, op, axisName, path);
            return Native(x, axis, op, axisName);
        }

        internal static VmapAxisName Resolve(string axisName, string op)
        {
            var named = TransformContext.Current.NamedAxes;
            if (named?.Find(axisName) is { } axis) return axis;
            throw new InvalidOperationException(named is null
                ? $"Eqx.{op}: there is no axis \"{axisName}\": no named FilterVmap is running on this thread. A collective " +
                  $"reduces over the examples of a FilterVmap: call it inside the function of Eqx.FilterVmap(f, axisName: \"{axisName}\")."
                : $"Eqx.{op}: there is no axis \"{axisName}\" here; the FilterVmap axes in scope are {named.Names()} " +
                  "(innermost first). Use one of those names, or give the FilterVmap you mean that axisName.");
        }

        // Bool tensors have no sum or mean of their own kind; integers have no mean of their kind.
        private static bool Rejects(Tensor x, Op op) => op switch
        {
            Op.Sum => x.DType == DType.Bool,
            Op.Mean => !x.DType.IsInexact(),
            _ => false,
        };

        private static ArgumentException BadDType(Tensor x, Op op, string axisName, string? path)
        {
            var what = path is null ? $"x is {x.Describe()}" : $"the leaf at {path} is {x.Describe()}";
            var fix = op == Op.Sum
                ? "count with Psum(x.To(DType.Int64), ...) instead, or use Pmax/Pmin for any/all"
                : x.DType == DType.Bool
                    ? "convert it first, e.g. Pmean(x.To(DType.Float32), ...)"
                    : "the mean of integers is not an integer: convert first, e.g. Pmean(x.To(DType.Float32), ...), or use Psum";
            return new ArgumentException($"Eqx.{Name(op)} over axis \"{axisName}\": {what}, {(x.DType == DType.Bool ? "a bool" : "an integer")} tensor; {fix}.",
                path is null ? "x" : "tree");
        }

        private static unsafe Tensor Native(Tensor x, VmapAxisName axis, Op op, string axisName)
        {
            int underGrad;
            var handle = NativeMethods.eqx_vmap_reduce(x, axis.Level, axis.Size, (int)op, &underGrad);
            GC.KeepAlive(x);
            if (underGrad != 0)
                throw new NotSupportedException(
                    $"Eqx.{Name(op)} over axis \"{axisName}\": the tensor is differentiated by a gradient transform (FilterGrad, " +
                    "FilterValueAndGrad, PerExampleGrads) running inside that axis's FilterVmap, and functorch in LibTorch 1.13 " +
                    "cannot reduce across the examples beneath its gradient layer. Take the collective outside the gradient, " +
                    "or differentiate outside the FilterVmap (a gradient through the FilterVmap works).");
            return Tensor.Wrap(handle, $"{Name(op)}", x);
        }
    }
}
