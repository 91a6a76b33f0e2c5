using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Simulation;
using Xunit.Sdk;

namespace Fos.Sys.Tests;

/// <summary>
/// What the race, hostile and crash-step tests of the file system share: booting a fleet in the
/// simulator, running clients on several cores at once, errno of a call, directories placed on
/// chosen members, and the walker that checks the tree is one tree.
/// </summary>
internal static class FsTestKit
{
    /// <summary>Virtual time a simulated test lets pass at most for one step (long enough for every retry and peer timeout).</summary>
    public static readonly TimeSpan SimLimit = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A simulated system of <paramref name="clients"/> client cores, then <paramref name="members"/>
    /// member cores, then <paramref name="spares"/> spare cores, with naming and the file system running.
    /// </summary>
    public static async Task<Booted> BootSim(ulong seed, int members = 3, int clients = 3, int spares = 0)
    {
        var system = new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = clients + members + spares });
        await SystemBoot.StartNaming(system);
        var memberCores = system.Cores.Skip(clients).Take(members).ToArray();
        var fleet = await SystemBoot.StartFileSystem(system, memberCores);
        return new Booted(system, fleet, system.Cores.Take(clients).ToArray(), memberCores, system.Cores.Skip(clients + members).ToArray());
    }

    public sealed record Booted(SimulatedSystem System, FsMember[] Members, CoreId[] Clients, CoreId[] MemberCores, CoreId[] Spares) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => System.DisposeAsync();
    }

    /// <summary>The member (its index) whose shards hold <paramref name="inode"/>, as boot lays shards out.</summary>
    public static int MemberOf(long inode, int members) => FsStore.ShardOf(inode) % members;

    /// <summary>
    /// Starts every client's work on its core without waiting for any, then lets them all run to
    /// their ends: in the simulator they interleave in virtual time; on real cores they run in parallel.
    /// </summary>
    public static async Task<T[]> Together<T>(IFosRuntime runtime, params (CoreId Core, Func<Task<T>> Work)[] clients)
    {
        if (runtime is not SimulatedSystem system)
            return await Task.WhenAll(clients.Select(c => runtime.Execute(c.Core, _ => c.Work(), TimeSpan.FromSeconds(60))));
        var started = await Start(system, clients);
        var all = Task.WhenAll(started);
        system.RunUntil(() => all.IsCompleted, system.NowNanoseconds + SimLimit.Ticks * 100);
        Assert.True(all.IsCompleted, "the clients did not finish in virtual time");
        return await all;
    }

    /// <summary>Starts each client's work on its core (its first steps run) and returns the unfinished tasks.</summary>
    public static async Task<Task<T>[]> Start<T>(SimulatedSystem system, params (CoreId Core, Func<Task<T>> Work)[] clients)
    {
        var started = new Task<T>[clients.Length];
        for (var i = 0; i < clients.Length; i++)
        {
            var (n, work) = (i, clients[i].Work);
            // The program returns at once; the work goes on as later events of the simulation.
            await system.Execute(clients[i].Core, _ =>
            {
                started[n] = work();
                return Task.FromResult(true);
            });
        }
        return started;
    }

    /// <summary>null if <paramref name="call"/> succeeds, else the errno it failed with (any other failure fails the test).</summary>
    public static async Task<Errno?> ErrnoOf(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (FosIOException ex)
        {
            return ex.Errno;
        }
    }

    /// <summary>The same for a system call, which hands back the kernel's record of the call.</summary>
    public static Task<Errno?> ErrnoOf(Func<ValueTask> call) => ErrnoOf(() => call().AsTask());

    /// <inheritdoc cref="ErrnoOf(Func{ValueTask})"/>
    public static Task<Errno?> ErrnoOf<T>(Func<ValueTask<T>> call) => ErrnoOf(() => call().AsTask());

    /// <summary>null if a raw call succeeds, else its errno; a failure without one is returned as a FosError name.</summary>
    public static async Task<string?> RawError(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (FosException ex)
        {
            return FsError.ErrnoOf(ex)?.ToString() ?? ex.Error.ToString();
        }
        catch (FosIOException ex)
        {
            return ex.Errno.ToString();
        }
    }

    /// <summary>
    /// Makes directories /{prefix}0, /{prefix}1, ... (on the calling core) until one lies on each
    /// of <paramref name="wanted"/> members (by index) → their paths in that order.
    /// </summary>
    public static async Task<string[]> DirectoriesOn(string prefix, int members, params int[] wanted)
    {
        var found = new string?[wanted.Length];
        for (var i = 0; i < 200 && found.Any(f => f is null); i++)
        {
            var path = $"/{prefix}{i}";
            var member = MemberOf((await FosPosix.Mkdir(path)).Inode, members);
            var slot = Enumerable.Range(0, wanted.Length).FirstOrDefault(s => wanted[s] == member && found[s] is null, -1);
            if (slot >= 0) found[slot] = path;
        }
        Assert.All(found, f => Assert.NotNull(f));
        return found!;
    }

    /// <summary>
    /// fsck of a simulated fleet: stops every member in <paramref name="members"/> (the live ones,
    /// replacements in place of the dead; from <paramref name="via"/>), opens member i's store
    /// <c>fs/member-i</c> on <paramref name="cores"/>[i] and runs <see cref="FsChecker"/> over them all,
    /// failing with every problem it names. The fleet serves no more afterwards.
    /// </summary>
    public static async Task<FsChecker> FsckStopped(SimulatedSystem system, IReadOnlyList<FsMember> members, IReadOnlyList<CoreId> cores, CoreId via, string where = "")
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(cores);
        foreach (var member in members)
            await system.Execute(via, async k =>
            {
                await k.Stop(member.Public);
                return true;
            });
        var stores = new List<Fos.Kernel.Storage.IStore>();
        for (var i = 0; i < members.Count; i++)
        {
            var name = $"fs/member-{i}";
            stores.Add(await system.Execute(cores[i], k => Task.FromResult(k.OpenStore(name))));
        }
        var checker = new FsChecker(stores).Check();
        if (checker.Problems.Count > 0)
            throw new XunitException($"fsck found {checker.Problems.Count} problem(s){(where.Length > 0 ? " " + where : "")}:\n  " +
                string.Join("\n  ", checker.Problems) + (checker.Unfinished.Count > 0 ? $"\n  ({checker.Unfinished.Count} operation(s) still recorded as intents)" : ""));
        return checker;
    }

    /// <summary>What the walker found: every directory and file by inode, with the one path it has.</summary>
    public sealed record Tree(Dictionary<long, string> Directories, Dictionary<long, string> Files)
    {
        public string Describe() => string.Join(", ", Directories.Values.Concat(Files.Values).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Walks the whole tree from / (on the calling core): every directory is reached exactly once (no
    /// cycle, no directory under two names), every file inode has one name, every entry stats to the
    /// inode and kind its directory lists, and every listing is in name order without repeats.
    /// </summary>
    public static async Task<Tree> Walk()
    {
        var tree = new Tree(new() { [FsStore.RootInode] = "/" }, []);
        var pending = new Queue<string>();
        pending.Enqueue("/");
        while (pending.Count > 0)
        {
            var dir = pending.Dequeue();
            string? last = null;
            await foreach (var entry in FosDirectory.EnumerateAsync(dir))
            {
                if (last is not null && string.CompareOrdinal(last, entry.Name) >= 0)
                    throw new XunitException($"{dir} lists {entry.Name} after {last}");
                last = entry.Name;
                var path = FosDirectory.Combine(dir, entry.Name);
                var stat = await FosPosix.Stat(path);
                if (stat.Inode != entry.Inode || stat.Kind != entry.Kind)
                    throw new XunitException($"{path} is listed as {entry.Kind} {entry.Inode} but stats as {stat.Kind} {stat.Inode}");
                var seen = entry.Kind == FsNodeKind.Directory ? tree.Directories : tree.Files;
                if (seen.TryGetValue(entry.Inode, out var other))
                    throw new XunitException($"inode {entry.Inode} is reached as both {other} and {path} (a cycle or a second name)");
                seen.Add(entry.Inode, path);
                if (entry.Kind == FsNodeKind.Directory)
                {
                    if (tree.Directories.Count > 10_000) throw new XunitException("the tree does not end");
                    pending.Enqueue(path);
                }
            }
        }
        return tree;
    }
}
