using System.Runtime.CompilerServices;
using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

/// <summary>
/// A runtime check of <see cref="Eqx.ErrorIf"/> or <see cref="Eqx.BranchedErrorIf"/> failed: raised at once in eager
/// code, when a FilterVmap returns for a check inside it, and at the FilterJit call site for a captured CUDA graph.
/// The message ends with where the check was written, <c>(ErrorIf at Model.cs:42)</c>, because the stack trace of a
/// deferred check shows where it was raised, not where it was written.
/// </summary>
public sealed class EquinoxRuntimeException : Exception
{
    /// <summary>A failed check with its message.</summary>
    public EquinoxRuntimeException(string message) : base(message)
    {
    }

    /// <summary>A failed check with its message and cause.</summary>
    public EquinoxRuntimeException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>A failed check with its message and the source file and line of the check.</summary>
    public EquinoxRuntimeException(string message, string? file, int line) : base(message)
    {
        File = file;
        Line = line;
    }

    /// <summary>The source file of the failed check as the compiler recorded it (<c>[CallerFilePath]</c>), or null when unknown.</summary>
    public string? File { get; }

    /// <summary>The line of the failed check in <see cref="File"/>, or 0 when unknown.</summary>
    public int Line { get; }
}

public static partial class Eqx
{
    /// <summary>
    /// Returns <paramref name="x"/> unchanged after checking that <paramref name="pred"/> is false everywhere; if any
    /// element is true, throws <see cref="EquinoxRuntimeException"/> with <paramref name="message"/>. Thread the result
    /// on (<c>x = Eqx.ErrorIf(x, x.IsNan().Any(), "NaN")</c>) so the check stays in the computation.
    /// </summary>
    /// <remarks>
    /// Eager code (and FilterJit on the CPU) checks at once. Inside a captured CUDA graph the check cannot stop the
    /// device, so it is recorded in a device flag that FilterJit reads after each replay and raises at the call site.
    /// Inside a FilterVmap the predicate has one value per example: the check is raised when the FilterVmap returns,
    /// if any example failed, with the index of the first one that did. Every failure's message ends with the file
    /// and line of this call, <c>(ErrorIf at Model.cs:42)</c>, also available as <see cref="EquinoxRuntimeException.File"/>
    /// and <see cref="EquinoxRuntimeException.Line"/>.
    /// </remarks>
    /// <param name="x">The value returned unchanged.</param>
    /// <param name="pred">The failure condition: the check fails when any element is true.</param>
    /// <param name="message">The exception's message.</param>
    /// <param name="file">Filled in by the compiler: the caller's source file.</param>
    /// <param name="line">Filled in by the compiler: the caller's line.</param>
    public static Tensor ErrorIf(Tensor x, Tensor pred, string message,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(message);
        var site = new CheckSite(nameof(ErrorIf), file, line);
        if (ErrorChecks.Recording is { } checks)
        {
            using (Torch.NoGrad()) checks.Add(new ErrorCheck(pred.Any().To(DType.Int64), [message], site));
            return x;
        }
        bool failed;
        using (Torch.NoGrad())
        using (var any = pred.Any())
            failed = any.Item<bool>();
        if (failed) throw site.Failure(message);
        return x;
    }

    /// <summary>
    /// Like <see cref="ErrorIf"/>, with the message chosen by <paramref name="index"/> (a one-element integer tensor)
    /// among <paramref name="messages"/>: one check for several failure kinds. The message ends with the file and line
    /// of this call, <c>(BranchedErrorIf at Model.cs:42)</c>.
    /// </summary>
    /// <param name="x">The value returned unchanged.</param>
    /// <param name="pred">The failure condition: the check fails when any element is true.</param>
    /// <param name="index">Which of <paramref name="messages"/> a failure reports (0-based).</param>
    /// <param name="messages">The messages to choose from.</param>
    /// <param name="file">Filled in by the compiler: the caller's source file.</param>
    /// <param name="line">Filled in by the compiler: the caller's line.</param>
    public static Tensor BranchedErrorIf(Tensor x, Tensor pred, Tensor index, string[] messages,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Length == 0) throw new ArgumentException("BranchedErrorIf needs at least one message.", nameof(messages));
        var site = new CheckSite(nameof(BranchedErrorIf), file, line);
        if (ErrorChecks.Recording is { } checks)
        {
            // Code 0 is "no error"; otherwise index + 1.
            using (Torch.NoGrad())
            {
                var code = Tensor.Where(pred.Any(), index.To(DType.Int64).Reshape() + 1L, index.To(DType.Int64).Reshape().ZerosLike());
                checks.Add(new ErrorCheck(code, messages, site));
            }
            return x;
        }
        bool failed;
        long chosen;
        using (Torch.NoGrad())
        using (var any = pred.Any())
        {
            failed = any.Item<bool>();
            chosen = failed ? index.Item<long>() : 0;
        }
        if (failed) throw site.Failure(ErrorChecks.Message(messages, chosen));
        return x;
    }
}
