namespace Equinox.Tensors;

/// <summary>
/// A LibTorch operation failed. Carries the operation, a description of its inputs (<c>f32[2,3]</c>, ...) and
/// LibTorch's own message; the process and every other tensor are unaffected.
/// </summary>
public sealed class TorchException : Exception
{
    /// <summary>
    /// Creates the exception; the message reads <c>operation(inputs, arguments) failed: nativeMessage</c>, then
    /// <paramref name="detail"/> when LibTorch's message needs one (which index, which value).
    /// </summary>
    public TorchException(string operation, IReadOnlyList<string> inputs, string nativeMessage, string? arguments = null, string? detail = null)
        : base(Format(operation, inputs, arguments, nativeMessage, detail))
    {
        Operation = operation;
        Inputs = inputs;
        Arguments = arguments;
        NativeMessage = nativeMessage;
        Detail = detail;
    }

    /// <summary>The operation that failed, e.g. <c>matmul</c>.</summary>
    public string Operation { get; }

    /// <summary>Each input's dtype, shape and device, in argument order.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>The non-tensor arguments that matter to the failure, e.g. <c>shape=[4,4]</c>, if any.</summary>
    public string? Arguments { get; }

    /// <summary>LibTorch's message, without its C++ backtrace.</summary>
    public string NativeMessage { get; }

    /// <summary>What Equinox adds where LibTorch's message names too little (the offending index, say), if anything.</summary>
    public string? Detail { get; }

    private static string Format(string operation, IReadOnlyList<string> inputs, string? arguments, string nativeMessage, string? detail)
    {
        var parts = arguments is null ? inputs : [.. inputs, arguments];
        var message = $"{operation}({string.Join(", ", parts)}) failed: {nativeMessage.Trim()}";
        return detail is null ? message : $"{message}. {detail}";
    }
}
