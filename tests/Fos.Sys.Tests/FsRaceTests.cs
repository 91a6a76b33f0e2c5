using CsCheck;
using System.Text;
using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Simulation;
using static Fos.Sys.Tests.FsTestKit;

namespace Fos.Sys.Tests;

/// <summary>
/// Clients on different cores racing each other on the same names of a three-member fleet, with
/// the directories involved placed on different members so the operations cross shards. Whatever
/// order the seed gives the messages, the outcome must be one a single POSIX file system allows,
/// and the tree afterwards must be one tree.
/// </summary>
public class FsRaceTests : TestSystems
{
    private const int Members = 3;

    public static TheoryData<ulong> Seeds => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    /// <summary>
    /// A short wait drawn from the seed for client <paramref name="client"/> (0 or 1): one of the two
    /// starts up to 300 µs after the other (a rename takes a few syncs of 100 µs), the seed says which.
    /// </summary>
    private static TimeSpan Stagger(ulong seed, int salt, int client)
    {
        var draw = (seed * 2654435761UL + (ulong)salt * 40503UL) % 600;
        return (int)(draw % 2) == client ? TimeSpan.FromMicroseconds((long)(draw / 2)) : TimeSpan.Zero;
    }

    private static async Task Pause(IKernel kernel, TimeSpan wait)
    {
        if (wait > TimeSpan.Zero) await kernel.Delay(wait);
    }

    private async Task<(IFosRuntime System, CoreId[] Clients)> Boot(string kind, ulong seed)
    {
        var (system, clients, _, _) = await BootWithMembers(kind, seed);
        return (system, clients);
    }

    /// <summary>As <see cref="Boot"/>, with the members and their cores, for fsck afterwards.</summary>
    private async Task<(IFosRuntime System, CoreId[] Clients, FsMember[] Members, CoreId[] MemberCores)> BootWithMembers(string kind, ulong seed)
    {
        var system = Create(kind, cores: 3 + Members, seed);
        await SystemBoot.StartNaming(system);
        var memberCores = system.Cores.Skip(3).ToArray();
        var members = await SystemBoot.StartFileSystem(system, memberCores);
        return (system, system.Cores.Take(3).ToArray(), members, memberCores);
    }

    // ---- (a) two renames of one file -----------------------------------------------------------

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Two_renames_of_one_file_to_different_members_one_wins_the_other_gets_ENOENT_sim(ulong seed) =>
        Two_renames_of_one_file("simulated", seed);

    [Fact]
    public Task Two_renames_of_one_file_to_different_members_one_wins_the_other_gets_ENOENT_real() =>
        Two_renames_of_one_file("real", 1);

    private async Task Two_renames_of_one_file(string kind, ulong seed)
    {
        var (system, clients) = await Boot(kind, seed);
        await using var _ = system;
        var data = Encoding.UTF8.GetBytes($"the one file of seed {seed}");
        var dirs = await system.Execute(clients[0], async _ =>
        {
            var d = await DirectoriesOn("d", Members, 0, 1, 2);
            var file = await FosPosix.Open(d[0] + "/f", new FsOpenFlags(Create: true, Write: true));
            await FosPosix.PWrite(file, 0, data);
            await FosPosix.Close(file);
            return d;
        });
        var (from, to1, to2) = (dirs[0] + "/f", dirs[1] + "/f1", dirs[2] + "/f2");
        var sim = kind == "simulated";
        var results = await Together(system,
            (clients[1], async () =>
            {
                if (sim) await Pause(KernelContext.Current, Stagger(seed, 1, 0));
                return await ErrnoOf(() => FosPosix.Rename(from, to1));
            }),
            (clients[2], async () =>
            {
                if (sim) await Pause(KernelContext.Current, Stagger(seed, 1, 1));
                return await ErrnoOf(() => FosPosix.Rename(from, to2));
            }));
        Assert.Equal(1, results.Count(r => r is null));
        Assert.Equal(Errno.ENOENT, results.Single(r => r is not null));
        var winner = results[0] is null ? to1 : to2;
        var loser = results[0] is null ? to2 : to1;

        await system.Execute(clients[0], async _ =>
        {
            Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Stat(from)));
            Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Stat(loser)));
            Assert.Equal(data, await FosFile.ReadAllBytesAsync(winner));
            var tree = await Walk();
            Assert.Equal([winner], tree.Files.Values);
            return true;
        });
    }

    // ---- (b) crossing directory renames ----------------------------------------------------------

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Crossing_directory_renames_never_make_a_cycle_or_lose_a_directory(ulong seed)
    {
        var (system, clients) = await Boot("simulated", seed);
        await using var _ = system;
        var (x, y, inodes) = await system.Execute(clients[0], async _ =>
        {
            var d = await DirectoriesOn("d", Members, 1, 2);
            await FosPosix.Mkdir(d[0] + "/inside");
            var tree = await Walk();
            return (d[0], d[1], tree.Directories.Keys.ToHashSet());
        });
        var results = await Together(system,
            (clients[1], async () =>
            {
                await Pause(KernelContext.Current, Stagger(seed, 2, 0));
                return await ErrnoOf(() => FosPosix.Rename(x, y + x));
            }),
            (clients[2], async () =>
            {
                await Pause(KernelContext.Current, Stagger(seed, 2, 1));
                return await ErrnoOf(() => FosPosix.Rename(y, x + y));
            }));
        Assert.True(results.Count(r => r is null) <= 1, $"both crossing renames succeeded (seed {seed})");
        Assert.All(results.Where(r => r is not null), r => Assert.Contains(r!.Value, new[] { Errno.EINVAL, Errno.ENOENT }));

        await system.Execute(clients[0], async _ =>
        {
            var tree = await Walk();
            Assert.Equal(inodes.Order(), tree.Directories.Keys.Order()); // every directory, each once, none detached
            var expected = results[0] is null ? [y + x, y + x + "/inside"] : results[1] is null ? [x + y, x] : new[] { x, y };
            foreach (var path in expected) Assert.True(await FosDirectory.ExistsAsync(path), $"{path} is missing: {tree.Describe()}");
            return true;
        });
    }

    // ---- (c) mkdir -p twice ----------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Two_mkdir_p_of_one_path_both_succeed_sim(ulong seed) => Two_mkdir_p("simulated", seed);

    [Fact]
    public Task Two_mkdir_p_of_one_path_both_succeed_real() => Two_mkdir_p("real", 1);

    private async Task Two_mkdir_p(string kind, ulong seed)
    {
        var (system, clients) = await Boot(kind, seed);
        await using var _ = system;
        var sim = kind == "simulated";
        var results = await Together(system,
            (clients[1], async () =>
            {
                if (sim) await Pause(KernelContext.Current, Stagger(seed, 3, 0));
                return await ErrnoOf(() => FosDirectory.CreateDirectoryAsync("/p/q/r"));
            }),
            (clients[2], async () =>
            {
                if (sim) await Pause(KernelContext.Current, Stagger(seed, 3, 1));
                return await ErrnoOf(() => FosDirectory.CreateDirectoryAsync("/p/q/r"));
            }));
        Assert.Equal([null, null], results);
        await system.Execute(clients[0], async _ =>
        {
            var tree = await Walk();
            Assert.Equal(["/", "/p", "/p/q", "/p/q/r"], tree.Directories.Values.Order(StringComparer.Ordinal));
            await FosFile.WriteAllTextAsync("/p/q/r/usable", "yes");
            Assert.Equal("yes", await FosFile.ReadAllTextAsync("/p/q/r/usable"));
            return true;
        });
    }

    // ---- (d) create while another opens ----------------------------------------------------------

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Opening_a_file_being_created_sees_ENOENT_or_the_file_never_EEXIST(ulong seed)
    {
        var (system, clients) = await Boot("simulated", seed);
        await using var _ = system;
        var dir = await system.Execute(clients[0], async _ => (await DirectoriesOn("d", Members, 2))[0]);
        var path = dir + "/file";
        var results = await Together(system,
            (clients[1], async () =>
            {
                await Pause(KernelContext.Current, Stagger(seed, 4, (int)(seed % 2)) + Stagger(seed, 4, 1 - (int)(seed % 2)));
                var created = await FosPosix.Open(path, new FsOpenFlags(Create: true, Write: true));
                await FosPosix.PWrite(created, 0, "made"u8);
                await FosPosix.Close(created);
                return new List<Errno>();
            }),
            (clients[2], async () =>
            {
                var seen = new List<Errno>();
                for (var attempt = 0; attempt < 10_000; attempt++)
                {
                    try
                    {
                        var opened = await FosPosix.Open(path, new FsOpenFlags());
                        Assert.Equal(FsNodeKind.File, opened.Attributes.Kind);
                        await FosPosix.Close(opened);
                        return seen;
                    }
                    catch (FosIOException ex)
                    {
                        seen.Add(ex.Errno);
                    }
                }
                throw new Xunit.Sdk.XunitException("the file never appeared");
            }));
        Assert.All(results[1], e => Assert.Equal(Errno.ENOENT, e));
        await system.Execute(clients[0], async _ =>
        {
            Assert.Equal("made", await FosFile.ReadAllTextAsync(path));
            await Walk();
            return true;
        });
    }

    // ---- (e) rmdir against create inside -------------------------------------------------------

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Rmdir_and_a_create_inside_never_both_succeed(ulong seed)
    {
        var (system, clients) = await Boot("simulated", seed);
        await using var _ = system;
        // The directory's inode on another member than its parent (the root, on member 0): rmdir is an intent.
        var dir = await system.Execute(clients[0], async _ => (await DirectoriesOn("e", Members, (int)(seed % 2) + 1))[0]);
        var results = await Together(system,
            (clients[1], async () =>
            {
                await Pause(KernelContext.Current, Stagger(seed, 5, 0));
                return await ErrnoOf(() => FosPosix.Rmdir(dir));
            }),
            (clients[2], async () =>
            {
                await Pause(KernelContext.Current, Stagger(seed, 5, 1));
                return await ErrnoOf(async Task () => await FosPosix.Close(await FosPosix.Open(dir + "/file", new FsOpenFlags(Create: true, Write: true))));
            }));
        var (rmdir, create) = (results[0], results[1]);
        Assert.True((rmdir, create) is (null, Errno.ENOENT) or (Errno.ENOTEMPTY, null), $"rmdir said {rmdir?.ToString() ?? "ok"}, create said {create?.ToString() ?? "ok"} (seed {seed})");
        await system.Execute(clients[0], async _ =>
        {
            var tree = await Walk();
            if (rmdir is null)
            {
                Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Stat(dir)));
                Assert.Empty(tree.Files);
                await FosPosix.Mkdir(dir); // the name is free again
            }
            else
            {
                Assert.Equal([dir + "/file"], tree.Files.Values);
                Assert.Equal(Errno.ENOTEMPTY, await ErrnoOf(() => FosPosix.Rmdir(dir)));
            }
            return true;
        });
    }

    // ---- (g) rename over a directory against a create inside it --------------------------------

    /// <summary>
    /// rename(/p/x, /q/y) replaces the empty directory /q/y, which lives on the same member as /q,
    /// while another client creates /q/y/z. Either the create lands in the old y first (and the rename
    /// says ENOTEMPTY), or the rename wins (and the create finds y gone, or lands in x, now /q/y);
    /// never a file left in a deleted directory.
    /// </summary>
    public static TheoryData<ulong> Offsets => [.. Enumerable.Range(0, 60).Select(i => (ulong)(i * 10))];

    /// <param name="seed">Also how many microseconds the create starts after the rename (0 to 590): one of them lands in the rename's window.</param>
    [Theory]
    [MemberData(nameof(Offsets))]
    public async Task Rename_over_a_directory_and_a_create_inside_it_never_lose_the_file(ulong seed)
    {
        var (system, clients, members, memberCores) = await BootWithMembers("simulated", seed);
        await using var _ = system;
        var (from, to) = await system.Execute(clients[0], async _ =>
        {
            var (q, p) = (await DirectoriesOn("q", Members, 1, 2)) switch { var d => (d[0], d[1]) };
            string? y = null;
            for (var i = 0; y is null; i++) // an empty directory in /q whose inode is on /q's member, so the rename deletes it there
                if (MemberOf((await FosPosix.Mkdir($"{q}/y{i}")).Inode, Members) == 1) y = $"{q}/y{i}";
                else Assert.True(i < 200);
            await FosPosix.Mkdir(p + "/x");
            return (p + "/x", y);
        });
        var results = await Together(system,
            (clients[1], async () => await ErrnoOf(() => FosPosix.Rename(from, to))),
            (clients[2], async () =>
            {
                await Pause(KernelContext.Current, TimeSpan.FromMicroseconds((long)seed));
                return await ErrnoOf(async Task () => await FosPosix.Close(await FosPosix.Open(to + "/z", new FsOpenFlags(Create: true, Write: true))));
            }));
        var (rename, create) = (results[0], results[1]);
        Assert.True((rename, create) is (null, Errno.ENOENT) or (null, null) or (Errno.ENOTEMPTY, null),
            $"rename said {rename?.ToString() ?? "ok"}, create said {create?.ToString() ?? "ok"} (seed {seed})");
        await system.Execute(clients[0], async _ =>
        {
            var tree = await Walk();
            Assert.Equal(create is null ? [to + "/z"] : Array.Empty<string>(), tree.Files.Values.Order(StringComparer.Ordinal));
            Assert.Equal(rename is null, await ErrnoOf(() => FosPosix.Stat(from)) == Errno.ENOENT);
            return true;
        });
        await FsckStopped((SimulatedSystem)system, members, memberCores, clients[0], $"(seed {seed})");
    }

    // ---- (f) three clients doing random things to a small tree ---------------------------------

    private static readonly string[] Names = ["/a", "/b", "/c", "/a/a", "/a/b", "/b/a", "/b/c", "/c/b"];

    private static readonly (string From, string Into)[] Crossings = [("/a", "/b"), ("/b", "/a"), ("/b", "/c"), ("/c", "/b"), ("/a", "/c"), ("/c", "/a")];

    public static TheoryData<ulong> ManySeeds => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

    /// <summary>One call of the mix: 0 mkdir, 1 rmdir, 2 write a file whole, 3 unlink, 4 rename, 5 a top-level directory into another.</summary>
    public readonly record struct MixOp(int Kind, int Path, int Other, int Crossing);

    private static readonly Gen<MixOp> MixOps = Gen.Select(
        Gen.Frequency((2, Gen.Const(0)), (1, Gen.Const(1)), (2, Gen.Const(2)), (1, Gen.Const(3)), (2, Gen.Const(4)), (2, Gen.Const(5))),
        Gen.Int[0, Names.Length - 1], Gen.Int[0, Names.Length - 1], Gen.Int[0, Crossings.Length - 1],
        (kind, path, other, crossing) => new MixOp(kind, path, other, crossing));

    [Theory]
    [MemberData(nameof(ManySeeds))]
    public Task Random_concurrent_operations_leave_one_tree_with_only_written_contents(ulong seed)
    {
        var plans = new MixOp[3][];
        for (var c = 0; c < plans.Length; c++)
        {
            var random = new Random((int)seed * 31 + c);
            plans[c] = [.. Enumerable.Range(0, 30).Select(_ => new MixOp(
                random.Next(10) switch { 0 or 1 => 0, 2 => 1, 3 or 4 => 2, 5 => 3, 6 or 7 => 4, _ => 5 },
                random.Next(Names.Length), random.Next(Names.Length), random.Next(Crossings.Length)))];
        }
        return RunMix(seed, plans);
    }

    /// <summary>
    /// The same mix as a property (CsCheck): three clients' calls and the simulator's seed are
    /// generated, and a failure shrinks to the shortest calls that still break an invariant.
    /// </summary>
    [Fact]
    public Task Any_concurrent_mix_leaves_one_tree_with_only_written_contents() =>
        Gen.Select(Gen.ULong[1, 1_000_000], MixOps.Array[1, 20].Array[3]).SampleAsync(
            async sample => await RunMix(sample.Item1, sample.Item2), iter: 40, threads: 1);

    private async Task RunMix(ulong seed, MixOp[][] plans)
    {
        var (system, clients, members, memberCores) = await BootWithMembers("simulated", seed);
        await using var _ = system;
        var written = new HashSet<string>();
        var work = clients.Select((core, c) => (core, (Func<Task<List<string>>>)(async () =>
        {
            var log = new List<string>();
            for (var op = 0; op < plans[c].Length; op++)
            {
                var step = plans[c][op];
                var (kind, path, other) = (step.Kind, Names[step.Path], Names[step.Other]);
                if (kind == 5)
                {
                    // A top-level directory into another: two of these crossing would make a cycle.
                    var (from, into) = Crossings[step.Crossing];
                    (path, other, kind) = (from, into + from, 4);
                }
                var value = $"c{c}-{op:D2}-{seed:D7}"; // all the same length, so a later write covers an earlier one whole
                if (kind == 2) written.Add(value);
                var errno = await ErrnoOf(kind switch
                {
                    0 => () => FosPosix.Mkdir(path).AsTask(),
                    1 => () => FosPosix.Rmdir(path).AsTask(),
                    2 => async () =>
                    {
                        var file = await FosPosix.Open(path, new FsOpenFlags(Create: true, Write: true, Truncate: true));
                        try
                        {
                            await FosPosix.PWrite(file, 0, Encoding.UTF8.GetBytes(value));
                        }
                        finally
                        {
                            await FosPosix.Close(file);
                        }
                    },
                    3 => () => FosPosix.Unlink(path).AsTask(),
                    _ => () => FosPosix.Rename(path, other).AsTask(),
                });
                log.Add($"{kind} {path} {other}: {errno?.ToString() ?? "ok"}");
            }
            return log;
        }))).ToArray();
        var logs = await Together(system, work);

        await system.Execute(clients[0], async _ =>
        {
            var tree = await Walk();
            foreach (var file in tree.Files.Values)
            {
                var text = await FosFile.ReadAllTextAsync(file);
                Assert.True(written.Contains(text), $"{file} holds '{text}', which nobody wrote (seed {seed}); tree: {tree.Describe()}\n{string.Join("\n", logs.SelectMany(l => l))}");
            }
            return true;
        });
        var sim = (SimulatedSystem)system;
        sim.RunFor(TimeSpan.FromSeconds(1)); // nothing still under way
        await FsckStopped(sim, members, memberCores, clients[0], $"(seed {seed})");
    }
}
