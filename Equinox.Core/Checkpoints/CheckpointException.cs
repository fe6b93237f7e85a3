namespace Equinox;

/// <summary>
/// A checkpoint file that cannot be read (malformed, truncated, or describing tensors it does not hold) or does not fit
/// the tree it is loaded into. The message names the file, the entry and what is wrong.
/// </summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception for <paramref name="file"/> (null for a stream).</summary>
    public CheckpointException(string? file, string message, Exception? inner = null)
        : base(file is null ? message : $"{file}: {message}", inner) => File = file;

    /// <summary>The checkpoint's path, or null when it was read from a stream.</summary>
    public string? File { get; }
}
