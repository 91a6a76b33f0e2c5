using System.Diagnostics;
using Fos.Bench.Baselines;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Runtime;
using Fos.Runtime.Storage;
using Fos.Services;
using Fos.Sys;

namespace Fos.Bench;

/// <summary>
/// The file-system scenarios. fos runs as a whole system (file-system members on the system
/// cores, the client on an application core, through Fos.Sys) once on each storage engine, and the
/// baseline is the host file system through System.IO on the same disk with the same fsync
/// policy: a file is synced when it is closed, as fos does.
/// <list type="bullet">
/// <item><c>fs-small</c>: create, write 4 KiB, close, file after file: files per second; and the same
/// from eight writers at once, whose syncs may share commits.</item>
/// <item><c>fs-seq</c>: write a big file in 64 KiB writes and close it, then read it back: MB/s.</item>
/// <item><c>sys-stat</c>: stat of a path three directories deep, whose blocks are cached: ns per call,
/// against a null call from the same core to the member's core, to show what the library and a real
/// service add to a kernel call.</item>
/// </list>
/// </summary>
internal static class FsScenarios
{
    public const string Small = "fs-small";
    public const string Sequential = "fs-seq";
    public const string Stat = "sys-stat";

    internal const int SmallFile = 4096;
    internal const int Writers = 8;
    internal const int SeqWrite = 64 * 1024;
    private static readonly StoreEngine[] Engines = [StoreEngine.RocksDb, StoreEngine.Sqlite];

    public static async Task<IReadOnlyList<BenchResult>> RunSmall(BenchSettings settings, Action<string>? progress)
    {
        using var scratch = new Scratch();
        var systems = await Boot(scratch, progress);
        try
        {
            var payload = new byte[SmallFile];
            Random.Shared.NextBytes(payload);
            var round = 0;
            var contenders = new List<Contender>
            {
                new(HostFs.Id, count => HostFs.SmallFiles(Path.Combine(scratch.Path, "host", $"r{round++}"), count, payload)),
                new($"{HostFs.Id}, {Writers} writers", count => HostFs.SmallFilesConcurrently(Path.Combine(scratch.Path, "host", $"r{round++}"), count, payload, Writers)),
            };
            foreach (var (engine, machine, client) in systems)
            {
                contenders.Add(new($"fos on {engine}", count => machine.Execute(client, _ => SmallFiles($"/r{round++}", count, payload), Scenarios.Deadline)));
                contenders.Add(new($"fos on {engine}, {Writers} writers", count => machine.Execute(client, _ => SmallFilesConcurrently($"/r{round++}", count, payload, Writers), Scenarios.Deadline)));
            }
            var samples = await Interleaved.Measure(contenders, settings, progress);
            var host = Scenarios.PerSecond(samples[0]);
            var hostConcurrent = Scenarios.PerSecond(samples[1]);
            return
            [
                .. systems.SelectMany((s, i) => new[]
                {
                    new BenchResult(Small, $"files_per_sec_{Name(s.Engine)}", Scenarios.PerSecond(samples[2 + 2 * i]), "files/s", HostFs.Id, host),
                    new BenchResult(Small, $"files_per_sec_{Name(s.Engine)}_{Writers}_writers", Scenarios.PerSecond(samples[3 + 2 * i]), "files/s", HostFs.Id, hostConcurrent),
                }),
            ];
        }
        finally
        {
            await Stop(systems);
        }
    }

    public static async Task<IReadOnlyList<BenchResult>> RunSequential(BenchSettings settings, Action<string>? progress)
    {
        using var scratch = new Scratch();
        var systems = await Boot(scratch, progress);
        try
        {
            var megabytes = settings.Quick ? 16 : 256;
            var chunk = new byte[SeqWrite];
            Random.Shared.NextBytes(chunk);
            var few = settings with { Chunks = Math.Min(settings.Chunks, 3) }; // 256 MiB a chunk: three of each is plenty
            var hostFile = Path.Combine(scratch.Path, "host-seq.bin");
            var contenders = new List<Contender>
            {
                new($"{HostFs.Id} write", count => HostFs.WriteSequential(hostFile, count, chunk), megabytes),
                new($"{HostFs.Id} read", count => HostFs.ReadSequential(hostFile, count, chunk.Length), megabytes),
            };
            foreach (var (engine, machine, client) in systems)
            {
                contenders.Add(new($"fos on {engine} write", count => machine.Execute(client, _ => WriteSequential("/seq.bin", count, chunk), Scenarios.Deadline), megabytes));
                contenders.Add(new($"fos on {engine} read", count => machine.Execute(client, _ => ReadSequential("/seq.bin", count), Scenarios.Deadline), megabytes));
            }
            var samples = await Interleaved.Measure(contenders, few, progress);
            var hostWrite = Scenarios.PerSecond(samples[0]);
            var hostRead = Scenarios.PerSecond(samples[1]);
            var results = new List<BenchResult>();
            for (var i = 0; i < systems.Count; i++)
            {
                var name = Name(systems[i].Engine);
                results.Add(new(Sequential, $"write_mb_per_sec_{name}", Scenarios.PerSecond(samples[2 + 2 * i]), "MiB/s", HostFs.Id, hostWrite));
                results.Add(new(Sequential, $"read_mb_per_sec_{name}", Scenarios.PerSecond(samples[3 + 2 * i]), "MiB/s", HostFs.Id, hostRead));
            }
            return results;
        }
        finally
        {
            await Stop(systems);
        }
    }

    public static async Task<IReadOnlyList<BenchResult>> RunStat(BenchSettings settings, Action<string>? progress)
    {
        using var scratch = new Scratch();
        var systems = await Boot(scratch, progress, [StoreEngine.RocksDb]);
        try
        {
            var (_, machine, client) = systems[0];
            await machine.Execute(client, async _ =>
            {
                await FosDirectory.CreateDirectoryAsync("/bench/a/b");
                await FosFile.WriteAllTextAsync("/bench/a/b/c.txt", "stat me");
                return true;
            }, Scenarios.Deadline);
            // The baseline: a null call from the same core to a server on the member's core, the
            // least a stat can cost, so the figure is what the library and the path walk add.
            var member = await machine.Execute(client, async k => (await k.Lookup(WellKnownNames.FileSystem)).Address.CoreId, Scenarios.Deadline);
            var nullServer = await machine.Execute(client, k => k.Spawn(Services.Basic.NullServer.Image, member), Scenarios.Deadline);
            var (process, control) = await ProcessScenarios.StartClient(machine, client, "stat", "/bench/a/b/c.txt");
            var samples = await Interleaved.Measure(
            [
                new("fos stat through Fos.Sys", count => machine.Execute(client, _ => Stats("/bench/a/b/c.txt", count), Scenarios.Deadline)),
                new("fos stat from a process", count => ProcessScenarios.FromProcess(machine, control, count)),
                new("fos null call to the member's core", count => machine.Execute(client, k => NullCallScenario.CallLoop(k, nullServer, count), Scenarios.Deadline)),
            ], settings, progress);
            process.Kill();
            await process.Ended;
            var stat = Scenarios.Nanoseconds(samples[0]);
            return
            [
                new(Stat, "ns_per_stat", stat, "ns", ProcessScenarios.FosNullCall, Scenarios.Nanoseconds(samples[2])),
                new(Stat, "ns_per_stat_from_process", Scenarios.Nanoseconds(samples[1]), "ns", ProcessScenarios.FosStat, stat),
            ];
        }
        finally
        {
            await Stop(systems);
        }
    }

    private static string Name(StoreEngine engine) => engine.ToString().ToLowerInvariant();

    // ---- fos clients (run on an application core) --------------------------------------------

    internal static async Task<TimeSpan> SmallFiles(string directory, long count, byte[] payload)
    {
        await FosDirectory.CreateDirectoryAsync(directory);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0L; i < count; i++) await FosFile.WriteAllBytesAsync($"{directory}/f{i}", payload);
        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>
    /// <paramref name="writers"/> programs' worth of small files at once from one core: each writer
    /// its own directory, <paramref name="count"/> files in all, their syncs free to share commits.
    /// </summary>
    internal static async Task<TimeSpan> SmallFilesConcurrently(string directory, long count, byte[] payload, int writers)
    {
        for (var w = 0; w < writers; w++) await FosDirectory.CreateDirectoryAsync($"{directory}/w{w}");
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(async w =>
        {
            for (var i = 0L; i < HostFs.Share(count, writers, w); i++) await FosFile.WriteAllBytesAsync($"{directory}/w{w}/f{i}", payload);
        }));
        return Stopwatch.GetElapsedTime(start);
    }

    internal static async Task<TimeSpan> WriteSequential(string path, long megabytes, byte[] chunk)
    {
        var start = Stopwatch.GetTimestamp();
        await using (var file = await FosFile.OpenAsync(path, FileMode.Create, FileAccess.Write))
            for (var written = 0L; written < megabytes << 20; written += chunk.Length) await file.WriteAsync(chunk);
        return Stopwatch.GetElapsedTime(start);
    }

    internal static async Task<TimeSpan> ReadSequential(string path, long megabytes)
    {
        var buffer = new byte[1 << 20];
        var start = Stopwatch.GetTimestamp();
        await using var file = await FosFile.OpenReadAsync(path);
        var total = 0L;
        for (int n; (n = await file.ReadAsync(buffer)) > 0;) total += n;
        if (total != megabytes << 20) throw new InvalidOperationException($"read {total} bytes of {megabytes} MiB");
        return Stopwatch.GetElapsedTime(start);
    }

    private static async Task<TimeSpan> Stats(string path, long count)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0L; i < count; i++) await FosFile.StatAsync(path);
        return Stopwatch.GetElapsedTime(start);
    }

    // ---- systems -----------------------------------------------------------------------------

    private static async Task<List<(StoreEngine Engine, Machine Machine, CoreId Client)>> Boot(Scratch scratch, Action<string>? progress, StoreEngine[]? engines = null)
    {
        var systems = new List<(StoreEngine, Machine, CoreId)>();
        foreach (var engine in engines ?? Engines)
        {
            progress?.Invoke($"booting a 2-core fos on {engine}");
            var machine = Machine.Start(new MachineOptions { Cores = 2, DataDirectory = Path.Combine(scratch.Path, Name(engine)), StoreEngine = engine });
            var layout = await SystemBoot.StartSystem(machine);
            systems.Add((engine, machine, layout.ApplicationCores.Length > 0 ? layout.ApplicationCores[0] : layout.SystemCores[0]));
        }
        return systems;
    }

    private static async Task Stop(List<(StoreEngine Engine, Machine Machine, CoreId Client)> systems)
    {
        foreach (var (_, machine, _) in systems) await machine.DisposeAsync();
    }

    /// <summary>A directory for one run, on the disk of the system temp directory, removed after.</summary>
    internal sealed class Scratch : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fos-bench-" + Guid.NewGuid().ToString("N")[..8]);

        public Scratch() => Directory.CreateDirectory(Path);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
                // A store's files may still be closing; the temp directory is cleaned by the host.
            }
        }
    }
}
