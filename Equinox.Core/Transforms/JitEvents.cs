namespace Equinox;

/// <summary>Tells why a FilterJit function compiled (see <see cref="FilterJitFunction.Compiled"/>).</summary>
public sealed class FilterJitCompiledEventArgs : EventArgs
{
    internal FilterJitCompiledEventArgs(string function, string reason, IReadOnlyList<string> differences, int compileCount,
        JitMode mode, string? fallbackReason)
    {
        Function = function;
        Reason = reason;
        Differences = differences;
        CompileCount = compileCount;
        Mode = mode;
        FallbackReason = fallbackReason;
    }

    /// <summary>The function's name, as given to FilterJit or taken from its method.</summary>
    public string Function { get; }

    /// <summary>
    /// The first difference from the nearest cached entry: <c>x: f32[32,2] -> f32[31,2]</c>,
    /// <c>model.Layers[0].Weight: f32[8,2] -> f64[8,2]</c>, <c>model.Activation changed</c>, <c>n (int): 3 -> 4</c>;
    /// <c>first call</c> when the cache was empty.
    /// </summary>
    public string Reason { get; }

    /// <summary>Every difference from the nearest cached entry, in argument order (the first is <see cref="Reason"/>).</summary>
    public IReadOnlyList<string> Differences { get; }

    /// <summary>How many compiles the function has made, this one included.</summary>
    public int CompileCount { get; }

    /// <summary>How the new entry runs.</summary>
    public JitMode Mode { get; }

    /// <summary>Why tensors on a CUDA device run eagerly instead of as a captured graph; null otherwise.</summary>
    public string? FallbackReason { get; }
}

/// <summary>Warns that a FilterJit function compiles on most calls (see <see cref="FilterJitFunction.RecompilationWarning"/>).</summary>
public sealed class RecompilationWarningEventArgs : EventArgs
{
    internal RecompilationWarningEventArgs(string message, string argument)
    {
        Message = message;
        Argument = argument;
    }

    /// <summary>The warning, with the argument that keeps changing and how to stop it.</summary>
    public string Message { get; }

    /// <summary>The argument that changed most often.</summary>
    public string Argument { get; }
}
