namespace Equinox.Transforms;

/// <summary>
/// <c>EQUINOX_LOG_COMPILES=1</c> (or <c>true</c>): FilterJit's compiles and fallbacks and Scan's unrolled loops are
/// written to standard error. Read on each event, so a program (or a test) may switch it on while it runs.
/// </summary>
internal static class CompileLog
{
    /// <summary>The environment variable that switches the log on.</summary>
    internal const string Variable = "EQUINOX_LOG_COMPILES";

    /// <summary>Whether the log is on.</summary>
    internal static bool Enabled => Environment.GetEnvironmentVariable(Variable) is "1" or "true";

    /// <summary>Writes <paramref name="line"/> to standard error when the log is on.</summary>
    internal static void Write(string line)
    {
        if (Enabled) Console.Error.WriteLine(line);
    }

    /// <summary>The line printed for a compile.</summary>
    internal static string Format(FilterJitCompiledEventArgs e)
    {
        var line = $"equinox: FilterJit {e.Function}: compile #{e.CompileCount}: {e.Reason}";
        if (e.Differences.Count > 1) line += $" (and {e.Differences.Count - 1} more: {string.Join("; ", e.Differences.Skip(1).Take(3))})";
        if (e.FallbackReason is not null) line += $"; running eagerly: {e.FallbackReason}";
        return line;
    }
}
