namespace Fos.Bench;

/// <summary>The scenarios <c>fos bench</c> knows, and the way to run one.</summary>
public static class BenchCatalog
{
    public static IReadOnlyList<(string Name, string Description)> Scenarios { get; } =
    [
        (NullCallScenario.Name, "a call to a null server on another core, ns per call, against Linux getppid and a raw spin ping-pong; and from an application process against that call"),
        (MsgThroughputScenario.Name, "one-way messages per second to a sink on another core, unbatched and 64 per turn, against a raw SPSC ring"),
        (WakeupScenario.Name, "a null call after the server's core idled 20 µs or 200 µs, spinning 50 µs or parking at once, against a raw spin ping-pong"),
        (FsScenarios.Small, "create, write 4 KiB and close (synced) file after file, on RocksDB and on SQLite, against the host file system"),
        (FsScenarios.Sequential, "write a 256 MiB file in 64 KiB writes and close it, then read it back, on each engine, against the host file system"),
        (ProcessScenarios.MemMap, "2 MiB buffers from the memory fleet, mapped into an application process, each page touched, freed; against mmap and munmap on the host"),
        (ProcessScenarios.Spawn, "an application process started and ended (hello world), ms each, against dotnet hello.dll on the host"),
        (FsScenarios.Stat, "stat of a cached path three directories deep through Fos.Sys, against a raw spin ping-pong; and from an application process against that stat"),
        (RemoteScenarios.Call, "a null call to a server on another machine (TCP with TLS on loopback), us each, against a raw TCP request and response of the same size"),
        (RemoteScenarios.Throughput, "one-way messages per second to a sink on another machine over one link, against a raw TCP stream of 64-byte frames"),
        (RemoteScenarios.Fs, "fs-small and fs-seq from a client on another machine than the file system's, against the same from a client on its machine"),
    ];

    /// <summary>Runs a scenario: every fos figure next to its baselines, measured in alternating chunks in this run.</summary>
    /// <exception cref="ArgumentException">The scenario is unknown; the message lists the known ones.</exception>
    public static Task<IReadOnlyList<BenchResult>> Run(string scenario, BenchSettings settings, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Chunks < 1)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.Chunks, "a benchmark needs at least one chunk");
        return scenario switch
        {
            NullCallScenario.Name => NullCallScenario.Run(settings, progress),
            ProcessScenarios.Spawn => ProcessScenarios.RunSpawn(settings, progress),
            ProcessScenarios.MemMap => ProcessScenarios.RunMemMap(settings, progress),
            MsgThroughputScenario.Name => MsgThroughputScenario.Run(settings, progress),
            WakeupScenario.Name => WakeupScenario.Run(settings, progress),
            FsScenarios.Small => FsScenarios.RunSmall(settings, progress),
            FsScenarios.Sequential => FsScenarios.RunSequential(settings, progress),
            FsScenarios.Stat => FsScenarios.RunStat(settings, progress),
            RemoteScenarios.Call => RemoteScenarios.RunCall(settings, progress),
            RemoteScenarios.Throughput => RemoteScenarios.RunThroughput(settings, progress),
            RemoteScenarios.Fs => RemoteScenarios.RunFs(settings, progress),
            _ => throw new ArgumentException(
                $"unknown benchmark scenario '{scenario}'; known scenarios: {string.Join(", ", Scenarios.Select(s => s.Name))}", nameof(scenario)),
        };
    }
}
