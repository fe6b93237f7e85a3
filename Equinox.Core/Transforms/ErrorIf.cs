using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

/// <summary>
/// A runtime check of <see cref="Eqx.ErrorIf"/> or <see cref="Eqx.BranchedErrorIf"/> failed: raised at once in eager
/// code, and at the FilterJit call site for a captured CUDA graph.
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
    /// if any example failed, with the index of the first one that did.
    /// </remarks>
    public static Tensor ErrorIf(Tensor x, Tensor pred, string message)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(message);
        if (ErrorChecks.Recording is { } checks)
        {
            using (Torch.NoGrad()) checks.Add(new ErrorCheck(pred.Any().To(DType.Int64), [message]));
            return x;
        }
        bool failed;
        using (Torch.NoGrad())
        using (var any = pred.Any())
            failed = any.Item<bool>();
        if (failed) throw new EquinoxRuntimeException(message);
        return x;
    }

    /// <summary>
    /// Like <see cref="ErrorIf"/>, with the message chosen by <paramref name="index"/> (a one-element integer tensor)
    /// among <paramref name="messages"/>: one check for several failure kinds.
    /// </summary>
    public static Tensor BranchedErrorIf(Tensor x, Tensor pred, Tensor index, string[] messages)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(pred);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Length == 0) throw new ArgumentException("BranchedErrorIf needs at least one message.", nameof(messages));
        if (ErrorChecks.Recording is { } checks)
        {
            // Code 0 is "no error"; otherwise index + 1.
            using (Torch.NoGrad())
            {
                var code = Tensor.Where(pred.Any(), index.To(DType.Int64).Reshape() + 1L, index.To(DType.Int64).Reshape().ZerosLike());
                checks.Add(new ErrorCheck(code, messages));
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
        if (failed) throw new EquinoxRuntimeException(ErrorChecks.Message(messages, chosen));
        return x;
    }
}
