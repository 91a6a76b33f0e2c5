namespace Fos.Bench;

/// <summary>
/// One fos figure next to the baseline it is judged against, both measured in the same run. A
/// figure whose target is an absolute (allocation per call: none) has the baseline
/// <see cref="Absolute"/> with value 0, and no ratio.
/// </summary>
public sealed record BenchResult(string Scenario, string Metric, double Value, string Unit, string Baseline, double BaselineValue)
{
    /// <summary>The baseline of a figure judged against a fixed target rather than a measurement.</summary>
    public const string Absolute = "none";

    /// <summary>fos value / baseline value; null when the baseline is 0 (nothing to divide by).</summary>
    public double? Ratio => BaselineValue == 0 ? null : Value / BaselineValue;
}
