namespace Equinox.Torch;

/// <summary>
/// A LibTorch operation failed. Carries the operation, a description of its inputs (<c>f32[2,3]</c>, ...) and
/// LibTorch's own message; the process and every other tensor are unaffected.
/// </summary>
public sealed class TorchException : Exception
{
    /// <summary>Creates the exception; the message combines all three parts.</summary>
    public TorchException(string operation, IReadOnlyList<string> inputs, string nativeMessage)
        : base(Format(operation, inputs, nativeMessage))
    {
        Operation = operation;
        Inputs = inputs;
        NativeMessage = nativeMessage;
    }

    /// <summary>The operation that failed, e.g. <c>matmul</c>.</summary>
    public string Operation { get; }

    /// <summary>Each input's dtype, shape and device, in argument order.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>LibTorch's message, without its C++ backtrace.</summary>
    public string NativeMessage { get; }

    private static string Format(string operation, IReadOnlyList<string> inputs, string nativeMessage)
    {
        var text = nativeMessage.Trim();
        return inputs.Count == 0
            ? $"{operation} failed: {text}"
            : $"{operation}({string.Join(", ", inputs)}) failed: {text}";
    }
}
