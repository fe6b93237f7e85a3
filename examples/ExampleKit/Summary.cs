using System.Globalization;
using Spectre.Console;

namespace Equinox.Examples;

/// <summary>The small table an example prints at the end.</summary>
public static class Summary
{
    /// <summary>Prints a two-column table: what, and its value.</summary>
    public static void Print(string title, params (string Name, string Value)[] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = new Table { Title = new TableTitle(Markup.Escape(title)) }.AddColumn("").AddColumn(new TableColumn("").RightAligned());
        table.ShowHeaders = false;
        foreach (var (name, value) in rows) table.AddRow(Markup.Escape(name), Markup.Escape(value));
        AnsiConsole.Write(table);
    }

    /// <summary>The rows every training run has: steps, time, steps/s, initial and final loss.</summary>
    public static (string Name, string Value)[] TrainingRows(TrainingLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        return
        [
            ("steps", log.Losses.Count.ToString(CultureInfo.InvariantCulture)),
            ("time", string.Create(CultureInfo.InvariantCulture, $"{log.Elapsed.TotalSeconds:F1} s")),
            ("steps/s", string.Create(CultureInfo.InvariantCulture, $"{log.StepsPerSecond:F1}")),
            ("initial loss", string.Create(CultureInfo.InvariantCulture, $"{log.InitialLoss:F5}")),
            ("final loss", string.Create(CultureInfo.InvariantCulture, $"{log.FinalLoss:F5}")),
        ];
    }
}
