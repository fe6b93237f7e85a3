using Equinox.Tensors;

namespace Equinox.Transforms;

/// <summary>A check recorded during capture: a device code (0: passed; k: messages[k - 1]), its messages and where it was written.</summary>
internal readonly record struct ErrorCheck(Tensor Code, string[] Messages, CheckSite Site);

/// <summary>
/// Where a check was written: the Eqx method (<c>ErrorIf</c>, <c>BranchedErrorIf</c>) and the caller's file and line,
/// from <c>[CallerFilePath]</c>/<c>[CallerLineNumber]</c>. A recorded check is raised long after its call returned
/// (after a replay, when a FilterVmap returns), so the message has to say where it came from.
/// </summary>
internal readonly record struct CheckSite(string Method, string File, int Line)
{
    /// <summary>The exception for a failure of this check: <paramref name="message"/>, then <c> (ErrorIf at Model.cs:42)</c>.</summary>
    internal EquinoxRuntimeException Failure(string message)
    {
        if (string.IsNullOrEmpty(File) || Line <= 0) return new EquinoxRuntimeException(message);
        return new EquinoxRuntimeException($"{message} ({Method} at {FileName(File)}:{Line})", File, Line);
    }

    // The name only: the path is the build machine's, and may use either separator whatever runs the code.
    private static string FileName(string path) => path[(path.LastIndexOfAny(['/', '\\']) + 1)..];
}

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
            throw check.Site.Failure(check.Messages.Length == 1 ? check.Messages[0] : Message(check.Messages, code - 1));
        }
    }

    internal static string Message(string[] messages, long index) =>
        index >= 0 && index < messages.Length
            ? messages[index]
            : $"BranchedErrorIf: a check failed with index {index}, but only {messages.Length} messages were given.";
}
