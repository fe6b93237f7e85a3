namespace Equinox.Tests;

/// <summary>
/// Live-tensor counts and memory figures are process-wide: tests that read them first let the finalizers of earlier
/// tests' unscoped tensors run. Finalizing one object can release others, hence a few rounds.
/// </summary>
internal static class Finalizers
{
    public static void RunPending()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
