namespace Equinox.Examples;

/// <summary>What a training loop run by <see cref="Training.Run"/> recorded: every step's loss and the time taken.</summary>
public sealed class TrainingLog
{
    internal TrainingLog(IReadOnlyList<double> losses, TimeSpan elapsed)
    {
        Losses = losses;
        Elapsed = elapsed;
    }

    /// <summary>The loss of each step, in order.</summary>
    public IReadOnlyList<double> Losses { get; }

    /// <summary>Wall-clock time of the whole loop.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The first step's loss.</summary>
    public double InitialLoss => Losses[0];

    /// <summary>The last step's loss.</summary>
    public double FinalLoss => Losses[^1];

    /// <summary>Steps per second over the whole loop (the first step, which compiles, included).</summary>
    public double StepsPerSecond => Losses.Count / Math.Max(Elapsed.TotalSeconds, 1e-9);
}
