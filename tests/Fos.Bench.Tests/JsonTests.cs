using System.Globalization;
using System.Text.Json;
using Fos.Bench;

namespace Fos.Bench.Tests;

/// <summary>The --json output: one object per line, exactly the contract's fields, the summary last.</summary>
public class JsonTests
{
    private static readonly BenchResult Sample = new("nullcall", "ns_per_call", 250.5, "ns", "raw-spin-pingpong", 200.4);

    [Fact]
    public void A_result_line_carries_exactly_the_contract_fields()
    {
        var text = BenchJson.Line(Sample);
        Assert.DoesNotContain('\n', text);

        using var doc = JsonDocument.Parse(text);
        var json = doc.RootElement;
        Assert.Equal(
            ["scenario", "metric", "value", "unit", "baseline", "baseline_value", "ratio"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("nullcall", json.GetProperty("scenario").GetString());
        Assert.Equal("ns_per_call", json.GetProperty("metric").GetString());
        Assert.Equal(250.5, json.GetProperty("value").GetDouble());
        Assert.Equal("ns", json.GetProperty("unit").GetString());
        Assert.Equal("raw-spin-pingpong", json.GetProperty("baseline").GetString());
        Assert.Equal(200.4, json.GetProperty("baseline_value").GetDouble());
        Assert.Equal(250.5 / 200.4, json.GetProperty("ratio").GetDouble());
    }

    [Fact]
    public void The_ratio_is_the_fos_value_over_the_baseline_value()
    {
        Assert.Equal(0.5, (Sample with { Value = 100, BaselineValue = 200 }).Ratio);
        Assert.Equal(4, (Sample with { Value = 800, BaselineValue = 200 }).Ratio);
        Assert.Null((Sample with { Baseline = BenchResult.Absolute, BaselineValue = 0 }).Ratio); // a fixed target: no ratio
    }

    [Fact]
    public void The_summary_line_names_the_scenario_the_count_the_machine_and_the_date()
    {
        var text = BenchJson.Summary("nullcall", [Sample, Sample with { Baseline = "linux-getppid", BaselineValue = 100 }]);
        Assert.DoesNotContain('\n', text);

        using var doc = JsonDocument.Parse(text);
        var json = doc.RootElement;
        Assert.Equal("nullcall", json.GetProperty("scenario").GetString());
        Assert.True(json.GetProperty("summary").GetBoolean());
        Assert.Equal(2, json.GetProperty("results").GetInt32());
        var machine = json.GetProperty("machine");
        Assert.Equal(Environment.ProcessorCount, machine.GetProperty("cpus").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty("model").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty("os").GetString()));
        Assert.True(DateOnly.TryParseExact(json.GetProperty("date").GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        // A result line has a metric; the summary does not, which is how a reader tells the last line apart.
        Assert.False(json.TryGetProperty("metric", out _));
    }
}
