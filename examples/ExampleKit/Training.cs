using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Equinox.Examples;

/// <summary>
/// Runs a training loop with a live display: on a terminal a progress bar with the loss, steps/s and the time left;
/// when standard output is redirected (a log file, a test), one plain line every tenth of the run instead.
/// </summary>
public static class Training
{
    /// <summary>True when the live progress bar is shown: standard output is an interactive terminal.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Calls <paramref name="step"/> for steps 0 to <paramref name="steps"/> − 1; each call returns that step's loss.</summary>
    public static TrainingLog Run(int steps, Func<int, double> step, string what = "training")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentNullException.ThrowIfNull(step);
        var losses = new List<double>(steps);
        var clock = Stopwatch.StartNew();
        if (Interactive)
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask(what, maxValue: steps);
                    for (int i = 0; i < steps; i++)
                    {
                        losses.Add(step(i));
                        task.Description = Describe(i + 1, steps, losses[^1], clock.Elapsed, eta: false);
                        task.Increment(1);
                    }
                });
        }
        else
        {
            int every = Math.Max(1, steps / 10);
            for (int i = 0; i < steps; i++)
            {
                losses.Add(step(i));
                if ((i + 1) % every == 0 || i + 1 == steps)
                    Console.WriteLine(Describe(i + 1, steps, losses[^1], clock.Elapsed, eta: true));
            }
        }
        return new TrainingLog(losses, clock.Elapsed);
    }

    private static string Describe(int done, int steps, double loss, TimeSpan elapsed, bool eta)
    {
        double rate = done / Math.Max(elapsed.TotalSeconds, 1e-9);
        string text = string.Create(CultureInfo.InvariantCulture,
            $"step {done.ToString(CultureInfo.InvariantCulture).PadLeft(steps.ToString(CultureInfo.InvariantCulture).Length)}/{steps}  loss {loss:F5}  {rate,7:F1} steps/s");
        if (!eta) return text;
        var left = TimeSpan.FromSeconds((steps - done) / rate);
        return text + string.Create(CultureInfo.InvariantCulture, $"  ETA {(int)left.TotalMinutes}:{left.Seconds:D2}");
    }
}
