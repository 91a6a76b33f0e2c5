namespace Fos.Bench;

/// <summary>One fos figure next to the baseline it is judged against, both measured in the same run.</summary>
public sealed record BenchResult(string Scenario, string Metric, double Value, string Unit, string Baseline, double BaselineValue)
{
    /// <summary>fos value / baseline value.</summary>
    public double Ratio => Value / BaselineValue;
}
