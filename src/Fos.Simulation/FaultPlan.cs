namespace Fos.Simulation;

/// <summary>
/// Faults the simulator injects into messages between cores, each drawn from the seeded source so
/// a seed reproduces them exactly. Crashes of servers, cores and machines are injected by calls on
/// <see cref="SimulatedSystem"/> (at a chosen virtual time).
/// </summary>
public sealed record FaultPlan
{
    public static readonly FaultPlan None = new();

    /// <summary>Probability that a message between cores is lost.</summary>
    public double DropRate { get; init; }

    /// <summary>Probability that a message between cores arrives twice.</summary>
    public double DuplicateRate { get; init; }

    /// <summary>Probability that a message between cores is held back by up to <see cref="MaxExtraDelay"/>.</summary>
    public double DelayRate { get; init; }

    public TimeSpan MaxExtraDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    public bool Any => DropRate > 0 || DuplicateRate > 0 || DelayRate > 0;

    public override string ToString() =>
        Any ? $"drop {DropRate:P1}, duplicate {DuplicateRate:P1}, delay {DelayRate:P1} (up to {MaxExtraDelay.TotalMicroseconds:0} µs)" : "none";
}
