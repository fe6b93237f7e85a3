using System.Text;
using Equinox.Tensors;
using Equinox.Transforms;

namespace Equinox;

/// <summary>
/// <see cref="Eqx.ErrorIf"/> inside a FilterVmap. The predicate is batched there, one value per example, and LibTorch
/// cannot read a batched value on the host (<c>.item()</c>), so each FilterVmap records ErrorIf's checks the way a
/// CUDA capture does (<see cref="ErrorChecks.Record"/>), takes the batch dimension off each check's code when the
/// function returns, and raises the first failed check once its layer is closed, naming the example that failed.
/// </summary>
internal static class VmapErrorChecks
{
    /// <summary>Whether a FilterVmap is running on this thread.</summary>
    internal static bool InsideVmap => TransformContext.Current.VmapRecording is not null;

    /// <summary>Makes ErrorIf record into <paramref name="checks"/>, this FilterVmap's list, until disposed.</summary>
    internal static TransformContext.Scope Record(List<ErrorCheck> checks) =>
        TransformContext.Install(TransformContext.Current with { ErrorRecording = checks, VmapRecording = checks });

    /// <summary>
    /// After a FilterVmap's layer is closed, with the enclosing recorder current again: passes the checks (codes with
    /// the batch as their first dimension) on to an enclosing FilterVmap, which batches them once more; to a CUDA
    /// capture, as one code per check (the failed example's index cannot be reported from the device); or, with
    /// neither, reads them and throws <see cref="EquinoxRuntimeException"/> for the first check that failed.
    /// </summary>
    internal static void Deliver(List<ErrorCheck> checks)
    {
        if (checks.Count == 0) return;
        if (ErrorChecks.Recording is { } recorder && ReferenceEquals(recorder, TransformContext.Current.VmapRecording))
        {
            recorder.AddRange(checks);
            return;
        }
        if (ErrorChecks.Recording is { } capture)
        {
            using (Torch.NoGrad())
                foreach (var check in checks) capture.Add(check with { Code = check.Code.Max() });
            return;
        }
        // Read every code first and free them: nothing holds them after this.
        var read = new long[checks.Count][];
        var shapes = new TensorShape[checks.Count];
        for (int c = 0; c < checks.Count; c++)
        {
            read[c] = checks[c].Code.ToArray<long>();
            shapes[c] = checks[c].Code.Shape;
            checks[c].Code.Dispose();
        }
        for (int c = 0; c < checks.Count; c++)
        {
            var (check, codes) = (checks[c], read[c]);
            int first = Array.FindIndex(codes, code => code != 0);
            if (first < 0) continue;
            int failed = codes.Count(code => code != 0);
            var message = check.Messages.Length == 1 ? check.Messages[0] : ErrorChecks.Message(check.Messages, codes[first] - 1);
            throw check.Site.Failure(
                $"{message} (FilterVmap: at batch index {Index(first, shapes[c])}; {failed} of {codes.Length} " +
                $"example{(codes.Length == 1 ? "" : "s")} failed this check)");
        }
    }

    // A flat position as an index into the batch dimensions: `3`, or `[1, 2]` for nested FilterVmaps (outer first).
    private static string Index(int flat, TensorShape shape)
    {
        if (shape.Length == 1) return flat.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var index = new long[shape.Length];
        long rest = flat;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = rest % shape[d];
            rest /= shape[d];
        }
        return new StringBuilder("[").AppendJoin(", ", index).Append(']').ToString();
    }
}
