using Fos.Simulation;

namespace Fos.Scenarios;

/// <summary>A named, seeded run of the simulator: what <c>fos sim --scenario NAME</c> runs.</summary>
public sealed record SimScenario(string Name, string Description, Func<ulong, SimOptions> Options, Func<SimulatedSystem, Task<string>> Body)
{
    /// <summary>Makes a simulated system for <paramref name="seed"/>, runs the scenario (which boots what it needs) and reports its trace.</summary>
    public async Task<SimRunResult> Run(ulong seed, bool keepLog = false)
    {
        await using var system = new SimulatedSystem(Options(seed) with { KeepLog = keepLog });
        var summary = await Body(system);
        return new SimRunResult(Name, seed, summary, system.TraceDigest, system.Now, system.Delivered,
            system.Dropped, system.Duplicated, system.Delayed, system.LostToCrash, system.Faults.ToList(), system.Log.ToList());
    }
}

/// <summary>What a scenario run produced. Equal seeds give equal results, digest included.</summary>
public sealed record SimRunResult(
    string Scenario, ulong Seed, string Summary, string TraceDigest, TimeSpan VirtualTime, long Delivered,
    long Dropped, long Duplicated, long Delayed, long LostToCrash, IReadOnlyList<string> Faults, IReadOnlyList<string> Log);

/// <summary>The scenarios the simulator ships with.</summary>
public static class SimScenarios
{
    public static IReadOnlyList<SimScenario> All { get; } = [PingPong.Scenario, FanOut.Scenario, FaultyFleet.Scenario, Cluster.Scenario];

    public static SimScenario Find(string name) =>
        All.FirstOrDefault(s => s.Name == name)
        ?? throw new ArgumentException($"no scenario '{name}'; the scenarios are: {string.Join(", ", All.Select(s => s.Name))}", nameof(name));
}
