using System.Diagnostics;
using System.Net;
using Fos.Bench.Baselines;
using Fos.Kernel;
using Fos.Protocols.Proxy;
using Fos.Runtime;
using Fos.Runtime.Network;
using Fos.Services;

namespace Fos.Bench;

/// <summary>
/// Between machines, through their proxies over TCP with mutual TLS on loopback:
/// <list type="bullet">
/// <item><c>remote-call</c>: a null call from a core of m1 to a server on m2, against a raw TCP
/// request and response of the size the call's frame has (<c>raw-tcp</c>).</item>
/// <item><c>remote-throughput</c>: one-way messages per second from m1 to a counting sink on m2
/// over one link, against a raw TCP stream of 64-byte frames.</item>
/// <item><c>remote-fs</c>: the <c>fs-small</c> and <c>fs-seq</c> work from a client on m2 against
/// a file-system member on m1 (every shard is the other machine's), against the same work from a
/// client on m1 itself (<c>fs-same-machine</c>).</item>
/// </list>
/// The two machines run in this process, each with its own cores, proxy, certificate and TCP
/// listener: everything between them crosses the loopback network as between two hosts.
/// </summary>
internal static class RemoteScenarios
{
    public const string Call = "remote-call";
    public const string Throughput = "remote-throughput";
    public const string Fs = "remote-fs";

    /// <summary>The baseline of <c>remote-fs</c>: the same calls from a client on the file system's own machine.</summary>
    private const string SameMachine = "fs-same-machine";

    /// <summary>The bytes a null call's data frame takes on the wire: length, link header, envelope header, the null body's id.</summary>
    private const int NullCallFrameBytes = 4 + 17 + 48 + 2;

    public static Task<IReadOnlyList<BenchResult>> RunCall(BenchSettings settings, Action<string>? progress) =>
        OnTwoMachines(progress, async (m1, m2) =>
        {
            var server = await m2.Execute(m2.Cores[1], k => Task.FromResult(k.CreateMailbox(_ => ValueTask.FromResult<object?>(null))), Scenarios.Deadline);
            var samples = await Interleaved.Measure(
            [
                new("fos remote call", count => m1.Execute(m1.Cores[1], async k =>
                {
                    var start = Stopwatch.GetTimestamp();
                    for (var i = 0L; i < count; i++) await k.Call(server, null);
                    return Stopwatch.GetElapsedTime(start);
                }, Scenarios.Deadline)),
                new(RawTcp.Id, count => RawTcp.PingPong(count, NullCallFrameBytes)),
            ], settings, progress);
            return (IReadOnlyList<BenchResult>)[new(Call, "us_per_call", Scenarios.Nanoseconds(samples[0]) / 1e3, "us", RawTcp.Id, Scenarios.Nanoseconds(samples[1]) / 1e3)];
        });

    public static Task<IReadOnlyList<BenchResult>> RunThroughput(BenchSettings settings, Action<string>? progress) =>
        OnTwoMachines(progress, async (m1, m2) =>
        {
            var sink = await m2.Execute(m2.Cores[1], k => k.Spawn(CountingSink.Image, m2.Cores[1]), Scenarios.Deadline);
            var samples = await Interleaved.Measure(
            [
                new("fos remote send", count => m1.Execute(m1.Cores[1], k => SendLoop(k, sink, count), Scenarios.Deadline)),
                new($"{RawTcp.Id} stream", RawTcp.Stream),
            ], settings, progress);
            return (IReadOnlyList<BenchResult>)[new(Throughput, "msgs_per_sec", Scenarios.PerSecond(samples[0]), "msg/s", RawTcp.Id, Scenarios.PerSecond(samples[1]))];
        });

    public static async Task<IReadOnlyList<BenchResult>> RunFs(BenchSettings settings, Action<string>? progress)
    {
        using var scratch = new FsScenarios.Scratch();
        return await OnTwoMachines(progress, async (m1, m2) =>
        {
            // One member on m1 keeps every shard; m2's /sys/fs names it, so m2's calls all cross the link.
            var members = await SystemBoot.StartFileSystem(m1, [m1.Cores[0]]);
            await m2.Execute(m2.Cores[0], k => k.Register(Kernel.Naming.WellKnownNames.FileSystem, members[0].Public), Scenarios.Deadline);
            var (local, remote) = ((Machine: m1, Client: m1.Cores[1]), (Machine: m2, Client: m2.Cores[1]));
            var payload = new byte[FsScenarios.SmallFile];
            Random.Shared.NextBytes(payload);
            var chunk = new byte[FsScenarios.SeqWrite];
            Random.Shared.NextBytes(chunk);
            var megabytes = settings.Quick ? 8 : 64;
            var round = 0;
            Contender Small(string name, (Machine Machine, CoreId Client) at) =>
                new(name, count => at.Machine.Execute(at.Client, _ => FsScenarios.SmallFiles($"/r{round++}", count, payload), Scenarios.Deadline));
            Contender Write(string name, (Machine Machine, CoreId Client) at, string path) =>
                new(name, count => at.Machine.Execute(at.Client, _ => FsScenarios.WriteSequential(path, count, chunk), Scenarios.Deadline), megabytes);
            Contender Read(string name, (Machine Machine, CoreId Client) at, string path) =>
                new(name, count => at.Machine.Execute(at.Client, _ => FsScenarios.ReadSequential(path, count), Scenarios.Deadline), megabytes);
            var small = await Interleaved.Measure([Small("fos remote small files", remote), Small("fos same-machine small files", local)], settings, progress);
            var few = settings with { Chunks = Math.Min(settings.Chunks, 3) };
            var seq = await Interleaved.Measure(
            [
                Write("fos remote write", remote, "/remote.bin"), Write("fos same-machine write", local, "/local.bin"),
                Read("fos remote read", remote, "/remote.bin"), Read("fos same-machine read", local, "/local.bin"),
            ], few, progress);
            return (IReadOnlyList<BenchResult>)
            [
                new(Fs, "files_per_sec", Scenarios.PerSecond(small[0]), "files/s", SameMachine, Scenarios.PerSecond(small[1])),
                new(Fs, "write_mb_per_sec", Scenarios.PerSecond(seq[0]), "MiB/s", SameMachine, Scenarios.PerSecond(seq[1])),
                new(Fs, "read_mb_per_sec", Scenarios.PerSecond(seq[2]), "MiB/s", SameMachine, Scenarios.PerSecond(seq[3])),
            ];
        }, dataDirectory: scratch.Path);
    }

    // The clock stops when the sink has answered a call made after the last send: FIFO per pair
    // holds across machines, so the count covers every message sent.
    private static async Task<TimeSpan> SendLoop(CoreKernel kernel, Endpoint sink, long count)
    {
        var before = await CountOf(kernel, sink);
        var start = Stopwatch.GetTimestamp();
        for (var sent = 0L; sent < count; sent++)
        {
            while (true)
            {
                try
                {
                    kernel.Send(sink, null);
                    break;
                }
                catch (FosException ex) when (ex.Error == FosError.Backpressure)
                {
                    await kernel.Delay(TimeSpan.Zero); // one turn of the loop drains the path to the proxy
                }
            }
            if (sent % 64 == 63) await Task.Yield();
        }
        var after = await CountOf(kernel, sink);
        var elapsed = Stopwatch.GetElapsedTime(start);
        if (after - before != count) throw new InvalidOperationException($"the sink counted {after - before} messages where {count} were sent");
        return elapsed;
    }

    /// <summary>What the sink counted so far; the call waits its turn when the path is full of sends.</summary>
    private static async Task<long> CountOf(CoreKernel kernel, Endpoint sink)
    {
        while (true)
        {
            try
            {
                return await kernel.Call<long>(sink, null, TimeSpan.FromSeconds(30));
            }
            catch (FosException ex) when (ex.Error == FosError.Backpressure)
            {
                await kernel.Delay(TimeSpan.Zero);
            }
        }
    }

    /// <summary>Two machines of one new cluster, linked, each with naming and a proxy; m1 keeps its stores in <paramref name="dataDirectory"/>, if given.</summary>
    private static async Task<T> OnTwoMachines<T>(Action<string>? progress, Func<Machine, Machine, Task<T>> body, string? dataDirectory = null)
    {
        progress?.Invoke("booting two 2-core machines linked by TCP and TLS on loopback");
        using var one = ClusterIdentity.CreateCluster(1);
        using var two = ClusterIdentity.Of(one.Authority, one.IssueFor(2));
        var quiet = (string _) => { };
        await using var m1 = Machine.Start(new MachineOptions
        {
            MachineId = 1, Cores = 2, Identity = one, Listen = new IPEndPoint(IPAddress.Loopback, 0), Log = quiet, DataDirectory = dataDirectory,
        });
        await using var m2 = Machine.Start(new MachineOptions { MachineId = 2, Cores = 2, Identity = two, Listen = new IPEndPoint(IPAddress.Loopback, 0), Log = quiet });
        foreach (var machine in new[] { m1, m2 }) await SystemBoot.StartNaming(machine);
        var p1 = await SystemBoot.StartProxy(m1, 1);
        var p2 = await SystemBoot.StartProxy(m2, 2);
        await SystemBoot.ConnectProxy(m1, p1, [new ProxyPeer(2, m2.Listening!.ToString())]);
        await SystemBoot.ConnectProxy(m2, p2, [new ProxyPeer(1, m1.Listening!.ToString())]);
        var deadline = DateTime.UtcNow + Scenarios.Deadline;
        while ((await m1.Execute(m1.Cores[0], k => k.Call<ProxyLinks>(p1.Public, new ProxyStatus()).AsTask())).Links.Single().State != "up")
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the link between the two machines did not come up");
            await Task.Delay(10);
        }
        var result = await body(m1, m2);
        foreach (var machine in new[] { m1, m2 })
            if (machine.Faults.Count > 0) throw new InvalidOperationException($"fos cores faulted during the benchmark: {string.Join("; ", machine.Faults)}");
        return result;
    }
}
