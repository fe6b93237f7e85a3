namespace Equinox;

/// <summary>Which arguments of a FilterJit step give their tensors up to the call (see <see cref="Eqx.FilterJit{T1, TResult}"/>).</summary>
[Flags]
public enum Donate
{
    /// <summary>No argument is donated: the caller's tensors are left alone.</summary>
    None = 0,

    /// <summary>The first argument (usually the model).</summary>
    Arg1 = 1,

    /// <summary>The second argument (an optimiser state, say).</summary>
    Arg2 = 2,

    /// <summary>The third argument.</summary>
    Arg3 = 4,

    /// <summary>The fourth argument.</summary>
    Arg4 = 8,

    /// <summary>Every argument.</summary>
    All = Arg1 | Arg2 | Arg3 | Arg4,
}

/// <summary>How a compiled FilterJit entry runs.</summary>
public enum JitMode
{
    /// <summary>The function runs eagerly under the cache (always on the CPU, and on CUDA when capture failed).</summary>
    Eager,

    /// <summary>A captured CUDA graph is replayed.</summary>
    CudaGraph,
}
