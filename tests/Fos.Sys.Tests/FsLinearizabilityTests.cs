using System.Text;
using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Services.FileSystem;
using Fos.Simulation;
using Xunit.Abstractions;
using static Fos.Sys.Tests.FsTestKit;

namespace Fos.Sys.Tests;

/// <summary>
/// Linearizability of the file system's metadata and whole-file calls, checked as Knossos and
/// Porcupine check a store: clients on several cores run random calls on a small shared tree, each
/// recording when it invoked a call, when the answer came (virtual time) and what it was; then a
/// search must find one order of all the calls, consistent with real time, in which a sequential
/// POSIX tree (<see cref="FsModel"/>) gives every answer the clients got. Calls that timed out
/// may have taken effect or not. A variant crashes a member in the middle and replaces it.
/// </summary>
public class FsLinearizabilityTests(ITestOutputHelper output)
{
    private const int Members = 3;
    private const int ValueLength = 9;

    private static readonly string[] Names = ["/a", "/b", "/c", "/a/a", "/a/b", "/b/a", "/b/c"];
    private static readonly string[] Inner = ["/a/a", "/a/b", "/b/a", "/b/c"]; // where files mostly go, so /a and /b stay directories more often

    // ---- the checker can say no -------------------------------------------------------------------

    private static LinOp Op(int client, LinKind kind, string path, long from, long to, string? result, string? other = null, string? value = null, int @ref = -1) =>
        new(client, kind, path, from, to, result, other, value, @ref);

    private static bool Linearizable(params LinOp[] ops) => new LinearizabilityChecker(ops).Check();

    [Fact]
    public void Two_renames_of_one_file_that_both_succeed_are_not_linearizable()
    {
        LinOp[] history =
        [
            Op(0, LinKind.CreateExclusive, "/a", 0, 10, "ok"),
            Op(1, LinKind.Rename, "/a", 20, 40, "ok", other: "/b"),
            Op(2, LinKind.Rename, "/a", 25, 35, "ok", other: "/c"),
        ];
        Assert.False(Linearizable(history));
        Assert.True(Linearizable([.. history[..2], history[2] with { Result = "ENOENT" }]));
        Assert.True(Linearizable([.. history[..2], history[2] with { Result = null }])); // a timeout: it did not happen
    }

    [Fact]
    public void A_read_of_the_old_contents_after_a_finished_write_is_not_linearizable()
    {
        LinOp[] history =
        [
            Op(0, LinKind.OpenWrite, "/f", 0, 10, "ok"),
            Op(0, LinKind.PWrite, "/f", 20, 30, "ok", value: "first", @ref: 0),
            Op(0, LinKind.OpenWrite, "/f", 40, 50, "ok"),
            Op(0, LinKind.PWrite, "/f", 60, 70, "ok", value: "second", @ref: 2),
            Op(1, LinKind.OpenRead, "/f", 80, 90, "ok"),
            Op(1, LinKind.PRead, "/f", 100, 110, "first", @ref: 4),
        ];
        Assert.False(Linearizable(history));
        Assert.True(Linearizable([.. history[..5], history[5] with { Result = "second" }]));
        // Overlapping the second write, the read may see either.
        Assert.True(Linearizable([.. history[..4], history[4] with { Invoke = 55, Response = 56 }, history[5] with { Invoke = 57, Response = 110 }]));
    }

    [Fact]
    public void Real_time_order_binds_calls_that_do_not_overlap()
    {
        var mkdir = Op(0, LinKind.Mkdir, "/a", 0, 10, "ok");
        var stat = Op(1, LinKind.Stat, "/a", 20, 30, "ENOENT");
        Assert.False(Linearizable(mkdir, stat));
        Assert.True(Linearizable(mkdir, stat with { Invoke = 5 }));
        Assert.True(Linearizable(mkdir with { Result = null, Response = long.MaxValue }, stat)); // timed out, may not have happened yet
    }

    [Fact]
    public void A_directory_moved_into_itself_is_EINVAL_and_a_cycle_is_not_linearizable()
    {
        LinOp[] history =
        [
            Op(0, LinKind.Mkdir, "/a", 0, 10, "ok"),
            Op(0, LinKind.Mkdir, "/b", 20, 30, "ok"),
            Op(1, LinKind.Rename, "/a", 40, 60, "ok", other: "/b/a"),
            Op(2, LinKind.Rename, "/b", 45, 55, "ok", other: "/a/b"),
        ];
        Assert.False(Linearizable(history)); // both crossing renames succeeded
        Assert.True(Linearizable([.. history[..3], history[3] with { Result = "ENOENT" }]));
        Assert.False(Linearizable([.. history[..3], history[3] with { Result = "EINVAL" }])); // /a/b's parent is gone
        Assert.True(Linearizable(history[0], Op(1, LinKind.Rename, "/a", 20, 30, "EINVAL", other: "/a/x")));
        Assert.True(Linearizable(history[0], history[1], Op(1, LinKind.Mkdir, "/a/x", 40, 50, "ok"),
            Op(1, LinKind.Rename, "/b", 60, 70, "ENOTEMPTY", other: "/a"), Op(1, LinKind.ReadDir, "/", 80, 90, "a,b")));
    }

    // ---- random calls on a live fleet ----------------------------------------------------------------

    /// <summary>Seeds 1 to 40.</summary>
    public static TheoryData<ulong> Seeds => [.. Enumerable.Range(1, 40).Select(s => (ulong)s)];

    public static TheoryData<ulong> CrashSeeds => [.. Enumerable.Range(1, 20).Select(s => (ulong)s)];


    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Random_concurrent_calls_are_linearizable(ulong seed)
    {
        await using var booted = await BootSim(seed, Members, clients: 4);
        var system = booted.System;
        var setup = await Setup(system, booted.Clients[0]);
        var start = system.NowNanoseconds;
        var histories = await Together(system, [.. booted.Clients.Select((core, c) => (core, (Func<Task<List<LinOp>>>)(() => Client(system, seed, c, 15))))]);
        var history = Merge([setup, .. histories]);
        output.WriteLine($"{history.Count} calls in {(system.NowNanoseconds - start) / 1000} µs");
        Assert.All(history, op => Assert.True(op.Known, $"without a crash, a call timed out: {op} (seed {seed})"));
        Check(history, seed);
        system.RunFor(TimeSpan.FromSeconds(1));
        await FsckStopped(system, booted.Members, booted.MemberCores, booted.Clients[0], $"(seed {seed})");
    }

    [Theory]
    [MemberData(nameof(CrashSeeds))]
    public async Task Random_concurrent_calls_with_a_member_crashing_and_replaced_are_linearizable(ulong seed)
    {
        await using var booted = await BootSim(seed, Members, clients: 4, spares: 1);
        var system = booted.System;
        var random = new Random((int)seed * 7919);
        var victim = random.Next(Members);
        var after = TimeSpan.FromMicroseconds(random.Next(100, 1000));
        var setup = await Setup(system, booted.Clients[0]);
        var start = system.NowNanoseconds;
        var clients = await Start(system, [.. booted.Clients.Select((core, c) => (core, (Func<Task<List<LinOp>>>)(() => Client(system, seed, c, 15))))]);
        system.RunFor(after);
        system.CrashCore(booted.MemberCores[victim]);
        var members = booted.Members.ToArray();
        var cores = booted.MemberCores.ToArray();
        members[victim] = await FsFleet.Replace(system, victim, booted.Spares[0], members[(victim + 1) % Members].Peer);
        cores[victim] = booted.Spares[0];
        var all = Task.WhenAll(clients);
        system.RunUntil(() => all.IsCompleted, system.NowNanoseconds + SimLimit.Ticks * 100);
        Assert.True(all.IsCompleted, $"the clients did not finish (seed {seed}, member {victim} crashed after {after.TotalMicroseconds} µs)");
        var history = Merge([setup, .. await all]);
        var crashedAt = start + (long)after.TotalNanoseconds;
        output.WriteLine($"member {victim} crashed after {after.TotalMicroseconds} µs; {history.Count} calls, {history.Count(o => o.Invoke > crashedAt)} after it, " +
            $"{history.Count(o => !o.Known)} unknown; the clients ended at {(history.Max(o => o.Known ? o.Response : o.Invoke) - start) / 1000} µs");
        Check(history, seed, $"member {victim} crashed after {after.TotalMicroseconds} µs");
        system.RunFor(TimeSpan.FromMinutes(1)); // recovery settles
        await FsckStopped(system, members, cores, booted.Clients[0], $"(seed {seed}, member {victim} crashed after {after.TotalMicroseconds} µs)");
    }

    /// <summary>/a and /b made as directories before the clients start, recorded as the calls of a client of their own.</summary>
    private static async Task<List<LinOp>> Setup(SimulatedSystem system, CoreId core) =>
        await system.Execute(core, async _ =>
        {
            var log = new List<LinOp>();
            foreach (var dir in new[] { "/a", "/b" })
            {
                var invoke = system.NowNanoseconds;
                await FosPosix.Mkdir(dir);
                log.Add(new LinOp(9, LinKind.Mkdir, dir, invoke, system.NowNanoseconds, "ok"));
            }
            return log;
        });

    private void Check(List<LinOp> history, ulong seed, string crash = "")
    {
        var checker = new LinearizabilityChecker(history);
        var ok = checker.Check();
        output.WriteLine($"searched {checker.Explored} states; answers: " +
            string.Join(", ", history.GroupBy(o => $"{o.Kind} {(o.Result is null ? "?" : o.Result.StartsWith('E') ? o.Result : "ok")}").OrderBy(g => g.Key).Select(g => $"{g.Key} ×{g.Count()}")));
        if (!ok) throw new Xunit.Sdk.XunitException($"not linearizable (seed {seed}{(crash.Length > 0 ? ", " + crash : "")})\n{checker.Explain()}");
    }

    /// <summary>The clients' histories as one; a handle's call index (Ref) becomes the merged one.</summary>
    private static List<LinOp> Merge(IEnumerable<List<LinOp>> histories)
    {
        var merged = new List<LinOp>();
        foreach (var history in histories)
        {
            var offset = merged.Count;
            merged.AddRange(history.Select(op => op.Ref >= 0 ? op with { Ref = op.Ref + offset } : op));
        }
        return merged;
    }

    /// <summary>What a call answered: its text, an errno's name, or null when it failed without one (a timeout: unknown).</summary>
    private static async Task<string?> Outcome(Func<Task<string>> call)
    {
        try
        {
            return await call();
        }
        catch (FosIOException ex)
        {
            return ex.Errno.ToString();
        }
        catch (FosException)
        {
            return null;
        }
    }

    /// <summary>Client <paramref name="c"/>'s random calls, each recorded with its virtual invoke and response times.</summary>
    private static async Task<List<LinOp>> Client(SimulatedSystem system, ulong seed, int c, int count)
    {
        var random = new Random((int)seed * 1_000_003 + c);
        var kernel = KernelContext.Current;
        var log = new List<LinOp>();

        async Task<string?> Record(LinKind kind, string path, Func<Task<string>> call, string? other = null, string? value = null, int @ref = -1)
        {
            var invoke = system.NowNanoseconds;
            var result = await Outcome(call);
            log.Add(new LinOp(c, kind, path, invoke, result is null ? long.MaxValue : system.NowNanoseconds, result, other, value, @ref));
            return result;
        }

        for (var i = 0; i < count; i++)
        {
            if (random.Next(3) == 0) await kernel.Delay(TimeSpan.FromMicroseconds(random.Next(1, 400)));
            var path = random.Next(2) == 0 ? Inner[random.Next(Inner.Length)] : Names[random.Next(Names.Length)];
            var other = Names[random.Next(Names.Length)];
            switch (random.Next(15))
            {
                case 0 or 1 or 2:
                    await Record(LinKind.Mkdir, path, async () =>
                    {
                        await FosPosix.Mkdir(path);
                        return "ok";
                    });
                    break;
                case 3:
                    await Record(LinKind.Rmdir, path, async () =>
                    {
                        await FosPosix.Rmdir(path);
                        return "ok";
                    });
                    break;
                case 4:
                    await Record(LinKind.Unlink, path, async () =>
                    {
                        await FosPosix.Unlink(path);
                        return "ok";
                    });
                    break;
                case 5:
                    await Record(LinKind.CreateExclusive, path, async () =>
                    {
                        await FosPosix.Close(await FosPosix.Open(path, new FsOpenFlags(Create: true, Exclusive: true, Write: true)));
                        return "ok";
                    });
                    break;
                case 6 or 7:
                {
                    // A whole-file write: every value has the same length, so it covers the one before it whole.
                    var value = $"c{c}v{i:D2}s{seed % 1000:D3}";
                    FsOpened? file = null;
                    var opened = await Record(LinKind.OpenWrite, path, async () =>
                    {
                        file = await FosPosix.Open(path, new FsOpenFlags(Create: true, Write: true));
                        return "ok";
                    });
                    if (opened != "ok" || file is null) break;
                    var at = log.Count - 1;
                    await Record(LinKind.PWrite, path, async () =>
                    {
                        // Written and fsynced before it counts as done: data is durable at fsync, so a
                        // crash may take back a write nobody fsynced, which no serial order explains.
                        await FosPosix.PWrite(file, 0, Encoding.UTF8.GetBytes(value));
                        await FosPosix.FSync(file);
                        return "ok";
                    }, value: value, @ref: at);
                    await Outcome(async () =>
                    {
                        await FosPosix.Close(file);
                        return "ok";
                    });
                    break;
                }
                case 8:
                {
                    FsOpened? file = null;
                    var opened = await Record(LinKind.OpenRead, path, async () =>
                    {
                        file = await FosPosix.Open(path, new FsOpenFlags());
                        return "ok";
                    });
                    if (opened != "ok" || file is null) break;
                    var at = log.Count - 1;
                    await Record(LinKind.PRead, path, async () => Encoding.UTF8.GetString(await FosPosix.PRead(file, 0, 64)), @ref: at);
                    await Outcome(async () =>
                    {
                        await FosPosix.Close(file);
                        return "ok";
                    });
                    break;
                }
                case 9:
                    await Record(LinKind.Stat, path, async () =>
                    {
                        var stat = await FosPosix.Stat(path);
                        return stat.Kind == FsNodeKind.Directory ? "dir" : $"file {stat.Size}";
                    });
                    break;
                case 10:
                {
                    var dir = random.Next(3) == 0 ? "/" : path;
                    await Record(LinKind.ReadDir, dir, async () => string.Join(",", (await FosPosix.ReadDir(dir)).Select(e => e.Name)));
                    break;
                }
                default:
                {
                    // Renames move only what no other call's path passes through (the names under /a and
                    // /b): like Linux, a call acts on the directories its path walk found, so moving an
                    // ancestor between another call's walk and its effect is not a linearizable event.
                    var (from, to) = (Inner[random.Next(Inner.Length)], Inner[random.Next(Inner.Length)]);
                    await Record(LinKind.Rename, from, async () =>
                    {
                        await FosPosix.Rename(from, to);
                        return "ok";
                    }, other: to);
                    break;
                }
            }
        }
        return log;
    }
}
