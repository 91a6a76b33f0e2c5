using System.Diagnostics;
using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Runtime;
using Fos.Services;
using Fos.Sys;

namespace Fos.Bench;

/// <summary>
/// Applications as processes:
/// <list type="bullet">
/// <item><c>nullcall</c>'s second figure: the same null call made from an application process (its
/// own Linux process, joined by the shared-memory rings), against the call between two of the
/// machine's cores measured in the same run (baseline <c>fos-nullcall</c>).</item>
/// <item><c>spawn</c>: an application process started and ended (a hello world, from the kernel's
/// start to its end being reported, as <c>fos run</c> does inside the node), against
/// <c>dotnet hello.dll</c> on the host (<c>host-dotnet</c>): from a warm host, and cold.</item>
/// </list>
/// </summary>
internal static class ProcessScenarios
{
    public const string Spawn = "spawn";
    public const string MemMap = "mem-map";
    public const string FosNullCall = "fos-nullcall";
    public const string HostDotnet = "host-dotnet";
    public const string FosStat = "fos-stat";

    private static string Client => Path.Combine(AppContext.BaseDirectory, "Fos.Bench.Client.dll");

    /// <summary>
    /// Starts the benchmark client in a process of its own on <paramref name="near"/>'s CPU, serving
    /// null calls to <paramref name="target"/>, and answers the endpoint that takes chunk requests.
    /// </summary>
    public static async Task<(ProcessHandle Process, Endpoint Control)> StartCaller(Machine machine, CoreId near, Endpoint target)
    {
        await machine.Execute(machine.Cores[0], k => k.Register("/user/bench-null", target), Scenarios.Deadline);
        return await StartClient(machine, near, "call", "/user/bench-null");
    }

    /// <summary>Starts the benchmark client serving chunks of <paramref name="operation"/> on <paramref name="argument"/>.</summary>
    public static async Task<(ProcessHandle Process, Endpoint Control)> StartClient(Machine machine, CoreId near, string operation, string argument)
    {
        var system = machine.Cores[0];
        var process = await machine.Execute(system, k => Task.FromResult(k.StartProcess(
            new ProcessLaunch(1, "bench-client", ["serve", "/user/bench-caller", operation, argument]) { AssemblyPath = Client }, near, (_, _) => { })), Scenarios.Deadline);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var members = await machine.Execute(system, k => k.LookupAll("/user/bench-caller").AsTask(), Scenarios.Deadline);
            if (members.Members.Length > 0) return (process, members.Members[0]);
            if (process.Ended.IsCompleted) throw new InvalidOperationException($"the benchmark client ended before it served: {await process.Ended}");
            if (deadline.Elapsed > Scenarios.Deadline) throw new TimeoutException("the benchmark client did not register within the deadline");
            await machine.Execute(system, async k =>
            {
                await k.Delay(TimeSpan.FromMilliseconds(5));
                return true;
            }, Scenarios.Deadline);
        }
    }

    /// <summary>A chunk of operations made by the client process; the time is what it measured itself.</summary>
    public static async Task<TimeSpan> FromProcess(Machine machine, Endpoint control, long count) =>
        TimeSpan.FromTicks(await machine.Execute(machine.Cores[0], k => k.Call<long>(control, count, Timeout.InfiniteTimeSpan).AsTask(), Scenarios.Deadline));

    /// <summary>
    /// mem-map: an application process takes 2 MiB buffers from the memory fleet, writes a byte on
    /// each page and frees them (1 GiB per 512), against mmap, touch and munmap of the same on the host.
    /// </summary>
    public static Task<IReadOnlyList<BenchResult>> RunMemMap(BenchSettings settings, Action<string>? progress) =>
        Scenarios.OnMachine<IReadOnlyList<BenchResult>>(progress, async machine =>
        {
            // A fleet of one member with 64 MiB of pages: each buffer goes back before the next is taken.
            await SystemBoot.StartMemory(machine, [machine.Cores[0]], pages: (64 << 20) / FosMemory.PageSize);
            var (process, control) = await StartClient(machine, machine.Cores[^1], "map", Baselines.HostMmap.BufferBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var samples = await Interleaved.Measure(
            [
                new("fos buffers from a process", count => FromProcess(machine, control, count)),
                new(Baselines.HostMmap.Id, Baselines.HostMmap.Measure),
            ], settings, progress);
            process.Kill();
            await process.Ended;
            return [new(MemMap, "us_per_2mib_buffer", Scenarios.Nanoseconds(samples[0]) / 1e3, "us", Baselines.HostMmap.Id, Scenarios.Nanoseconds(samples[1]) / 1e3)];
        });

    /// <summary>
    /// Two figures, each against <c>dotnet hello.dll</c> measured in the same run: a start that
    /// finds a warm host (the machine keeps one for the directory of the program it started last,
    /// and each start here waits, untimed, until it is warm again), and a cold start (a machine that
    /// keeps none), which pays .NET's whole start-up.
    /// </summary>
    public static async Task<IReadOnlyList<BenchResult>> RunSpawn(BenchSettings settings, Action<string>? progress)
    {
        var warm = await SpawnAgainstHost(settings, progress, "ms_per_spawn", warmHosts: true);
        var cold = await SpawnAgainstHost(settings, progress, "ms_per_cold_spawn", warmHosts: false);
        return [warm, cold];
    }

    private static Task<BenchResult> SpawnAgainstHost(BenchSettings settings, Action<string>? progress, string metric, bool warmHosts) =>
        Scenarios.OnMachine(progress, async machine =>
        {
            var pid = 0L;
            async Task Hello()
            {
                var end = await machine.Execute(machine.Cores[0], k => k.StartProcess(
                    new ProcessLaunch(++pid, "hello", ["hello"]) { AssemblyPath = Client }, machine.Cores[^1], (_, _) => { }).Ended, Scenarios.Deadline);
                if (end.ExitCode != 0) throw new InvalidOperationException($"hello ended with {end}");
            }
            if (warmHosts) await Hello(); // the first start from a directory is cold: it is what leaves a host warm
            var samples = await Interleaved.Measure(
            [
                new(warmHosts ? "fos spawn (warm host)" : "fos spawn (cold)", async count =>
                {
                    var spent = TimeSpan.Zero;
                    for (var i = 0; i < count; i++)
                    {
                        if (warmHosts && !await machine.WarmHostReady(Path.GetDirectoryName(Client)!).WaitAsync(Scenarios.Deadline))
                            throw new InvalidOperationException("the machine kept no warm host for the client's directory");
                        var start = Stopwatch.GetTimestamp();
                        await Hello();
                        spent += Stopwatch.GetElapsedTime(start);
                    }
                    // The next host warms while nobody measures (the baseline's chunk would pay for it).
                    if (warmHosts) await machine.WarmHostReady(Path.GetDirectoryName(Client)!).WaitAsync(Scenarios.Deadline);
                    return spent;
                }, FixedCount: 4),
                new(HostDotnet, async count =>
                {
                    var start = Stopwatch.GetTimestamp();
                    for (var i = 0; i < count; i++)
                    {
                        var hello = new ProcessStartInfo(Machine.Dotnet, [Client, "hello"])
                        { RedirectStandardOutput = true };
                        using var process = Process.Start(hello)!;
                        await process.StandardOutput.ReadToEndAsync();
                        await process.WaitForExitAsync();
                    }
                    return Stopwatch.GetElapsedTime(start);
                }, FixedCount: 4),
            ], settings, progress);
            return new BenchResult(Spawn, metric, Scenarios.Nanoseconds(samples[0]) / 1e6, "ms", HostDotnet, Scenarios.Nanoseconds(samples[1]) / 1e6);
        }, new MachineOptions { Cores = 2, WarmHosts = warmHosts });
}
