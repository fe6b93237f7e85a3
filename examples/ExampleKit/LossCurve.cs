using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Equinox.Examples;

/// <summary>Writes a loss curve as a PNG image (ScottPlot), on a log scale, with a moving average over noisy runs.</summary>
public static class LossCurve
{
    /// <summary>
    /// Writes <c>{name}-loss.png</c> (800 x 450) into <paramref name="directory"/>, creating it, prints
    /// <c>loss curve: PATH</c> and returns the full path.
    /// </summary>
    public static string Write(TrainingLog log, string directory, string name)
    {
        ArgumentNullException.ThrowIfNull(log);
        Directory.CreateDirectory(directory);
        string path = Path.GetFullPath(Path.Combine(directory, $"{name}-loss.png"));

        // A log scale done by hand: plot log10(loss) and label the ticks with the loss itself.
        double[] logLoss = log.Losses.Select(l => Math.Log10(Math.Max(l, 1e-12))).ToArray();
        double[] steps = Enumerable.Range(1, logLoss.Length).Select(i => (double)i).ToArray();
        var plot = new Plot();
        var raw = plot.Add.ScatterLine(steps, logLoss);
        raw.LegendText = "loss";
        raw.LineWidth = 1;
        int window = Math.Max(1, logLoss.Length / 20);
        if (window > 1)
        {
            var smooth = plot.Add.ScatterLine(steps, MovingAverage(logLoss, window));
            smooth.LegendText = $"moving average ({window} steps)";
            smooth.LineWidth = 2;
            plot.ShowLegend();
        }
        plot.Axes.Left.TickGenerator = new NumericAutomatic
        {
            LabelFormatter = y => Math.Pow(10, y).ToString("G2", CultureInfo.InvariantCulture),
        };
        plot.Title($"{name}: training loss");
        plot.XLabel("step");
        plot.YLabel("loss (log scale)");
        plot.SavePng(path, 800, 450);
        Console.WriteLine($"loss curve: {path}");
        return path;
    }

    private static double[] MovingAverage(double[] values, int window)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
