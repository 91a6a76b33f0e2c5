using System.CommandLine;
using System.Globalization;
using Fos.Bench;
using Spectre.Console;

namespace Fos.Cli;

/// <summary>
/// <c>fos bench SCENARIO</c>: measures a fos figure against its baselines in the same run.
/// With <c>--json</c>, stdout carries only the JSON lines (progress goes to stderr), so a script can
/// pipe it; without, a table.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var names = BenchCatalog.Scenarios.Select(s => s.Name).ToArray();
        var scenario = new Argument<string>("scenario")
        {
            Description = $"what to measure: {string.Join(", ", names)}",
        };
        scenario.AcceptOnlyFromAmong(names);
        var json = new Option<bool>("--json") { Description = "one JSON object per result, then a summary line" };
        var quick = new Option<bool>("--quick") { Description = "short chunks: a rough figure in a few seconds" };
        var chunks = new Option<int>("--chunks")
        {
            Description = "alternating chunks per contender; the median is reported",
            DefaultValueFactory = _ => new BenchSettings().Chunks,
        };
        chunks.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1000) r.AddError("--chunks must be between 1 and 1000");
        });
        var command = new Command("bench", "Measure a fos scenario against raw baselines in the same run")
        {
            scenario,
            json,
            quick,
            chunks,
        };
        command.SetAction(async result =>
        {
            var name = result.GetValue(scenario)!;
            var settings = new BenchSettings { Quick = result.GetValue(quick), Chunks = result.GetValue(chunks) };
            var asJson = result.GetValue(json);
            var results = await BenchCatalog.Run(name, settings, line => Console.Error.WriteLine(line));
            if (asJson)
            {
                foreach (var r in results) Console.WriteLine(BenchJson.Line(r));
                Console.WriteLine(BenchJson.Summary(name, results));
            }
            else
            {
                Print(results);
            }
            return 0;
        });
        return command;
    }

    private static void Print(IReadOnlyList<BenchResult> results)
    {
        var table = new Table().AddColumns("metric", "fos", "baseline", "baseline value", "ratio");
        foreach (var r in results)
        {
            table.AddRow(
                Markup.Escape(r.Metric),
                Markup.Escape($"{Format(r.Value)} {r.Unit}"),
                Markup.Escape(r.Baseline),
                Markup.Escape($"{Format(r.BaselineValue)} {r.Unit}"),
                r.Ratio is { } ratio ? ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "-");
        }
        AnsiConsole.Write(table);
    }

    private static string Format(double value) =>
        value >= 1e6 ? (value / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + "M"
        : value.ToString("0.#", CultureInfo.InvariantCulture);
}
