using Equinox.Tensors;

namespace Equinox.Transforms;

/// <summary>A check recorded during capture: a device code (0: passed; k: messages[k - 1]) and its messages.</summary>
internal readonly record struct ErrorCheck(Tensor Code, string[] Messages);

/// <summary>Where ErrorIf records its checks while a CUDA graph is being captured on this thread.</summary>
internal static class ErrorChecks
{
    /// <summary>The capture's list of checks, or null when ErrorIf should check eagerly.</summary>
    internal static List<ErrorCheck>? Recording => TransformContext.Current.ErrorRecording;

    /// <summary>Makes ErrorIf record into <paramref name="checks"/> until disposed.</summary>
    internal static TransformContext.Scope Record(List<ErrorCheck> checks) =>
        TransformContext.Install(TransformContext.Current with { ErrorRecording = checks });

    /// <summary>After a replay: raises the first recorded check that failed.</summary>
    internal static void Raise(List<ErrorCheck> checks)
    {
        foreach (var check in checks)
        {
            long code = check.Code.Item<long>();
            if (code == 0) continue;
            throw new EquinoxRuntimeException(check.Messages.Length == 1 ? check.Messages[0] : Message(check.Messages, code - 1));
        }
    }

    internal static string Message(string[] messages, long index) =>
        index >= 0 && index < messages.Length
            ? messages[index]
            : $"BranchedErrorIf: a check failed with index {index}, but only {messages.Length} messages were given.";
}
