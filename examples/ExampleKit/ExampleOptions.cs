using System.Globalization;
using Spectre.Console;

namespace Equinox.Examples;

/// <summary>
/// The command line every training example accepts: <c>--steps N</c> (how long to train; tests run examples briefly
/// with a small N) and <c>--out DIR</c> (where the loss curve goes; <c>artifacts/examples</c> by default).
/// </summary>
/// <param name="Steps">Training steps to run.</param>
/// <param name="OutputDirectory">The folder the loss-curve image is written to.</param>
public sealed record ExampleOptions(int Steps, string OutputDirectory)
{
    /// <summary>The folder used when <c>--out</c> is not given, relative to the current directory.</summary>
    public const string DefaultOutputDirectory = "artifacts/examples";

    /// <summary>
    /// Reads <c>--steps N</c> and <c>--out DIR</c>; anything else is an error that shows the usage. When standard
    /// output is redirected it also turns Spectre.Console's colours and styles off, so a log holds plain text.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown argument, a missing value, or a step count that is not a positive integer.</exception>
    public static ExampleOptions Parse(string[] args, int defaultSteps)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Capabilities.Ansi = false;
            AnsiConsole.Profile.Capabilities.ColorSystem = ColorSystem.NoColors;
        }
        int steps = defaultSteps;
        string output = DefaultOutputDirectory;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length
                ? args[++i]
                : throw new ArgumentException($"{args[i]} needs a value. {Usage(defaultSteps)}");
            switch (args[i])
            {
                case "--steps":
                    string text = Value();
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out steps) || steps < 1)
                        throw new ArgumentException($"--steps takes a positive integer; got '{text}'. {Usage(defaultSteps)}");
                    break;
                case "--out":
                    output = Value();
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. {Usage(defaultSteps)}");
            }
        }
        return new ExampleOptions(steps, output);
    }

    private static string Usage(int defaultSteps) =>
        $"Usage: [--steps N (default {defaultSteps})] [--out DIR (default {DefaultOutputDirectory})]";
}
