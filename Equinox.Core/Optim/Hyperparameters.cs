namespace Equinox.Optim;

// The checks every optimiser's constructor makes, with torch.optim's bounds, so a typo fails at construction.
internal static class Hyperparameters
{
    internal static double NonNegative(double value, string name) =>
        double.IsFinite(value) && value >= 0 ? value
            : throw new ArgumentOutOfRangeException(name, $"{name} must be a finite number >= 0, got {value}.");

    internal static double Beta(double value, string name) =>
        value is >= 0 and < 1 ? value
            : throw new ArgumentOutOfRangeException(name, $"{name} must be in [0, 1), got {value}.");
}
