namespace Equinox.Testing;

/// <summary>
/// Thrown by <see cref="TreeAssert"/> and <see cref="GradCheck"/> when a check fails. It derives from
/// <see cref="Exception"/> only, so every test framework (NUnit, xUnit, MSTest) reports it as a failed test with its
/// message.
/// </summary>
public sealed class TreeAssertionException : Exception
{
    /// <summary>Creates the exception with the message that names what differs and where.</summary>
    public TreeAssertionException(string message) : base(message)
    {
    }
}
