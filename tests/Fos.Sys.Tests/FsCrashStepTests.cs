using System.Text;
using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Services.FileSystem;
using Fos.Simulation;
using Xunit.Abstractions;
using static Fos.Sys.Tests.FsTestKit;

namespace Fos.Sys.Tests;

/// <summary>
/// Crash at every step. An operation over several shards (rename of a file or a directory, mkdir,
/// rmdir) is run once to count the messages it takes, N; then, for every k from 1 to N, a fresh
/// fleet runs it again and the cores of the members it involves crash right after the k-th message.
/// Replacements take over their stores. Afterwards the operation has happened wholly or not at all,
/// the tree is one tree, and doing the operation again gives what POSIX says it gives.
/// </summary>
public class FsCrashStepTests(ITestOutputHelper output)
{
    private const int Members = 5; // member 0 keeps the root and the rename lock; member 4 looks on
    private const ulong Seed = 3;

    /// <summary>One operation under test: how to set it up, do it, and check it.</summary>
    private abstract class Scenario
    {
        /// <summary>Makes what the operation needs (on the client core); what it returns is handed to the rest.</summary>
        public abstract Task<Dictionary<string, string>> Setup();

        public abstract Task Operation(Dictionary<string, string> names);

        /// <summary>The members whose cores crash.</summary>
        public abstract int[] Victims(Dictionary<string, string> names);

        /// <summary>
        /// Checks the state after recovery (on a fresh client core); <paramref name="outcome"/> is
        /// what the crashed client was told: null for success, an errno, or a failure without one.
        /// </summary>
        public abstract Task Check(Dictionary<string, string> names, string? outcome);
    }

    private static async Task<long> InodeOf(string path) => (await FosPosix.Stat(path)).Inode;

    private static async Task<bool> Exists(string path) => await ErrnoOf(() => FosPosix.Stat(path)) is null;

    /// <summary>Makes <paramref name="parent"/>/{prefix}0, 1, ... until one's inode lies on <paramref name="member"/> → its path.</summary>
    private static async Task<string> SubdirectoryOn(string parent, string prefix, int member)
    {
        for (var i = 0; i < 300; i++)
        {
            var path = $"{parent}/{prefix}{i}";
            if (MemberOf((await FosPosix.Mkdir(path)).Inode, Members) == member) return path;
        }
        throw new Xunit.Sdk.XunitException($"no directory landed on member {member}");
    }

    private static bool Succeeded(string? outcome) => outcome is null;

    private static bool Refused(string? outcome) => outcome is not null && Enum.TryParse<Errno>(outcome, out _);

    // ---- the scenarios ---------------------------------------------------------------------------

    private sealed class RenameFile : Scenario
    {
        public override async Task<Dictionary<string, string>> Setup()
        {
            var d = await DirectoriesOn("d", Members, 1, 2);
            await FosFile.WriteAllTextAsync(d[0] + "/f", "payload");
            return new() { ["from"] = d[0] + "/f", ["to"] = d[1] + "/g", ["inode"] = (await InodeOf(d[0] + "/f")).ToString() };
        }

        public override Task Operation(Dictionary<string, string> n) => FosPosix.Rename(n["from"], n["to"]).AsTask();

        public override int[] Victims(Dictionary<string, string> n) => [1, 2];

        public override async Task Check(Dictionary<string, string> n, string? outcome)
        {
            var (atFrom, atTo) = (await Exists(n["from"]), await Exists(n["to"]));
            Assert.True(atFrom != atTo, $"the file is at from: {atFrom}, at to: {atTo}");
            if (Succeeded(outcome)) Assert.True(atTo, "the rename said it succeeded");
            if (Refused(outcome)) Assert.True(atFrom, $"the rename said {outcome}");
            var here = atTo ? n["to"] : n["from"];
            Assert.Equal(n["inode"], (await InodeOf(here)).ToString());
            Assert.Equal("payload", await FosFile.ReadAllTextAsync(here));
            var tree = await Walk();
            Assert.Equal([here], tree.Files.Values);
            // Again: from where it is now to the target works; from the old name is ENOENT.
            if (atFrom) await FosPosix.Rename(n["from"], n["to"]).AsTask();
            else Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Rename(n["from"], n["to"])));
            Assert.Equal("payload", await FosFile.ReadAllTextAsync(n["to"]));
        }
    }

    private sealed class RenameDirectoryOverEmpty : Scenario
    {
        public override async Task<Dictionary<string, string>> Setup()
        {
            var d = await DirectoriesOn("d", Members, 1, 2);
            var moving = await SubdirectoryOn(d[0], "m", 1);
            await FosFile.WriteAllTextAsync(moving + "/inside", "kept");
            var replaced = await SubdirectoryOn(d[1], "e", 3);
            return new()
            {
                ["from"] = moving, ["to"] = replaced,
                ["moving"] = (await InodeOf(moving)).ToString(), ["replaced"] = (await InodeOf(replaced)).ToString(),
            };
        }

        public override Task Operation(Dictionary<string, string> n) => FosPosix.Rename(n["from"], n["to"]).AsTask();

        public override int[] Victims(Dictionary<string, string> n) => [0, 1, 2, 3];

        public override async Task Check(Dictionary<string, string> n, string? outcome)
        {
            var atFrom = await Exists(n["from"]);
            var toInode = (await InodeOf(n["to"])).ToString(); // the target name is there either way
            var moved = toInode == n["moving"];
            Assert.True(atFrom != moved, $"the directory is at from: {atFrom}, and the target names {(moved ? "it" : toInode)}");
            if (Succeeded(outcome)) Assert.True(moved, "the rename said it succeeded");
            if (Refused(outcome)) Assert.False(moved, $"the rename said {outcome}");
            if (!moved) Assert.Equal(n["replaced"], toInode);
            var tree = await Walk();
            Assert.Equal(!moved, tree.Directories.ContainsKey(long.Parse(n["replaced"])));
            Assert.True(tree.Directories.ContainsKey(long.Parse(n["moving"])), "the moving directory is detached");
            var here = moved ? n["to"] : n["from"];
            Assert.Equal("kept", await FosFile.ReadAllTextAsync(here + "/inside"));
            if (atFrom) await FosPosix.Rename(n["from"], n["to"]).AsTask();
            else Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Rename(n["from"], n["to"])));
            Assert.Equal("kept", await FosFile.ReadAllTextAsync(n["to"] + "/inside"));
            await Walk();
        }
    }

    private sealed class Mkdir : Scenario
    {
        public override async Task<Dictionary<string, string>> Setup()
        {
            var d = await DirectoriesOn("d", Members, 1);
            return new() { ["path"] = d[0] + "/new" };
        }

        public override Task Operation(Dictionary<string, string> n) => FosPosix.Mkdir(n["path"]).AsTask();

        public override int[] Victims(Dictionary<string, string> n) => [1, int.Parse(n["home"])];

        public override async Task Check(Dictionary<string, string> n, string? outcome)
        {
            var made = await Exists(n["path"]);
            if (Succeeded(outcome)) Assert.True(made, "mkdir said it succeeded");
            if (Refused(outcome)) Assert.False(made, $"mkdir said {outcome}");
            await Walk();
            if (made)
            {
                Assert.Equal(FsNodeKind.Directory, (await FosPosix.Stat(n["path"])).Kind);
                await FosFile.WriteAllTextAsync(n["path"] + "/usable", "yes");
                Assert.Equal(["usable"], (await FosDirectory.EntriesAsync(n["path"])).Select(e => e.Name));
                Assert.Equal(Errno.EEXIST, await ErrnoOf(() => FosPosix.Mkdir(n["path"])));
            }
            else
            {
                await FosPosix.Mkdir(n["path"]).AsTask();
                Assert.Empty(await FosDirectory.EntriesAsync(n["path"]));
            }
            await Walk();
        }
    }

    private sealed class Rmdir : Scenario
    {
        public override async Task<Dictionary<string, string>> Setup()
        {
            var d = await DirectoriesOn("d", Members, 1);
            var victim = await SubdirectoryOn(d[0], "r", 2);
            return new() { ["path"] = victim, ["inode"] = (await InodeOf(victim)).ToString() };
        }

        public override Task Operation(Dictionary<string, string> n) => FosPosix.Rmdir(n["path"]).AsTask();

        public override int[] Victims(Dictionary<string, string> n) => [1, 2];

        public override async Task Check(Dictionary<string, string> n, string? outcome)
        {
            var there = await Exists(n["path"]);
            if (Succeeded(outcome)) Assert.False(there, "rmdir said it succeeded");
            if (Refused(outcome)) Assert.True(there, $"rmdir said {outcome}");
            var tree = await Walk();
            Assert.Equal(there, tree.Directories.ContainsKey(long.Parse(n["inode"])));
            if (there)
            {
                Assert.Empty(await FosDirectory.EntriesAsync(n["path"]));
                await FosPosix.Rmdir(n["path"]).AsTask();
            }
            else
            {
                Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Rmdir(n["path"])));
                await FosPosix.Mkdir(n["path"]).AsTask();
                await FosFile.WriteAllTextAsync(n["path"] + "/again", "yes");
                Assert.Equal("yes", await FosFile.ReadAllTextAsync(n["path"] + "/again"));
            }
            await Walk();
        }
    }

    // ---- the driver --------------------------------------------------------------------------------

    private static Scenario ScenarioNamed(string name) => name switch
    {
        "rename-file" => new RenameFile(),
        "rename-directory-over-empty" => new RenameDirectoryOverEmpty(),
        "mkdir" => new Mkdir(),
        "rmdir" => new Rmdir(),
        _ => throw new ArgumentException(name),
    };

    private static async Task<string?> Outcome(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (FosIOException ex)
        {
            return ex.Errno.ToString();
        }
        catch (FosException ex)
        {
            return ex.Error.ToString();
        }
    }

    /// <summary>A fleet set up for <paramref name="scenario"/>, and the delivered count just before the operation.</summary>
    private static async Task<(Booted Booted, Dictionary<string, string> Names, long Before)> Prepare(Scenario scenario)
    {
        var booted = await BootSim(Seed, Members, clients: 2, spares: Members);
        var names = await booted.System.Execute(booted.Clients[0], _ => scenario.Setup());
        booted.System.RunFor(TimeSpan.FromSeconds(1)); // nothing of the setup still under way
        return (booted, names, booted.System.Delivered);
    }

    /// <summary>
    /// The smallest case of the crash steps: a member crashes with a write it had not synced (a file
    /// just created in one of its directories), a replacement takes its store, and the next fsync there must complete.
    /// </summary>
    [Fact]
    public async Task A_replacement_member_can_sync_after_its_predecessor_lost_unsynced_writes()
    {
        await using var booted = await BootSim(Seed, Members, clients: 2, spares: 1);
        var system = booted.System;
        var dir = await system.Execute(booted.Clients[0], async _ =>
        {
            var d = (await DirectoriesOn("d", Members, 1))[0];
            await FosPosix.Close(await FosPosix.Open(d + "/unsynced", new FsOpenFlags(Create: true))); // written, never synced
            return d;
        });
        system.CrashCore(booted.MemberCores[1]);
        await FsFleet.Replace(system, 1, booted.Spares[0], booted.Members[Members - 1].Peer);
        await system.Execute(booted.Clients[1], async _ =>
        {
            var file = await FosPosix.Open(dir + "/synced", new FsOpenFlags(Create: true, Write: true));
            await FosPosix.PWrite(file, 0, "durable"u8);
            await FosPosix.FSync(file);
            await FosPosix.Close(file);
            Assert.Equal("durable", await FosFile.ReadAllTextAsync(dir + "/synced"));
            return true;
        });
        Assert.Empty(system.Faults);
    }

    [Theory]
    [InlineData("rename-directory-over-empty")]
    public Task A_crash_after_any_message_of_a_directory_rename_over_a_directory_leaves_it_whole_or_undone(string name) =>
        A_crash_after_any_message_leaves_the_operation_whole_or_undone(name);

    [Theory]
    [InlineData("rename-file")]
    [InlineData("mkdir")]
    [InlineData("rmdir")]
    public async Task A_crash_after_any_message_leaves_the_operation_whole_or_undone(string name)
    {
        var scenario = ScenarioNamed(name);

        // Once without a crash: how many messages the operation takes, and (for mkdir) where the new directory lands.
        long steps;
        int? home = null;
        {
            var (booted, names, before) = await Prepare(scenario);
            await using var _ = booted;
            var system = booted.System;
            Assert.Null(await system.Execute(booted.Clients[0], _ => Outcome(() => scenario.Operation(names))));
            system.RunFor(TimeSpan.FromSeconds(1));
            steps = system.Delivered - before;
            if (scenario is Mkdir)
            {
                home = await system.Execute(booted.Clients[1], async _ => MemberOf(await InodeOf(names["path"]), Members));
                Assert.NotEqual(1, home); // the new directory's inode is another member's: mkdir is an intent
            }
            await system.Execute(booted.Clients[1], async _ =>
            {
                await scenario.Check(names, null);
                return true;
            });
            system.RunFor(TimeSpan.FromSeconds(1));
            await FsckStopped(system, booted.Members, booted.MemberCores, booted.Clients[1], $"after {name} without a crash");
        }
        output.WriteLine($"{name}: {steps} messages");
        Assert.InRange(steps, 4, 400);

        for (var k = 1; k <= steps; k++)
            foreach (var victim in scenario.Victims(home is { } h ? new() { ["home"] = h.ToString() } : []).Distinct())
                await CrashAfter(scenario, name, k, steps, [victim], home);
    }

    /// <summary>
    /// Two members of an operation die at once. Each gets a replacement, though the other dead one
    /// cannot answer the first replacement's reconfiguration, and the operation is finished whole.
    /// </summary>
    [Fact]
    public async Task Two_members_that_die_together_can_both_be_replaced()
    {
        var scenario = new RenameFile();
        await CrashAfter(scenario, "rename-file", 3, 10, [1, 2], home: null);
    }

    /// <summary>A fresh fleet runs the operation; the cores of <paramref name="victims"/> crash after message <paramref name="k"/>; replacements take over; the state is checked.</summary>
    private async Task CrashAfter(Scenario scenario, string name, long k, long steps, int[] victims, int? home)
    {
        var (booted, names, before) = await Prepare(scenario);
        await using var _ = booted;
        var system = booted.System;
        if (home is { } h) names["home"] = h.ToString();
        var where = $"{name}, crash of member(s) {string.Join(",", victims)} after message {k} of {steps} (seed {Seed})";
        var operation = (await Start(system, (booted.Clients[0], () => Outcome(() => scenario.Operation(names)))))[0];
        system.RunUntil(() => system.Delivered >= before + k, system.NowNanoseconds + SimLimit.Ticks * 100);
        Assert.True(system.Delivered >= before + k, $"{where}: only {system.Delivered - before} messages came");
        foreach (var victim in victims) system.CrashCore(booted.MemberCores[victim]);

        var survivor = booted.Members[Members - 1].Peer;
        var members = booted.Members.ToArray();
        var memberCores = booted.MemberCores.ToArray();
        for (var i = 0; i < victims.Length; i++)
        {
            try
            {
                members[victims[i]] = await FsFleet.Replace(system, victims[i], booted.Spares[i], survivor);
                memberCores[victims[i]] = booted.Spares[i];
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"{where}: replacing member {victims[i]} failed: {ex.GetType().Name}: {ex.Message}");
            }
        }
        system.RunUntil(() => operation.IsCompleted, system.NowNanoseconds + SimLimit.Ticks * 100);
        Assert.True(operation.IsCompleted, $"{where}: the client never got an answer");
        var outcome = await operation;
        system.RunFor(TimeSpan.FromMinutes(1)); // recovery settles

        try
        {
            await system.Execute(booted.Clients[1], async _ =>
            {
                await scenario.Check(names, outcome);
                return true;
            });
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"{where}, the client was told {outcome ?? "success"}: {ex.Message}; faults: {string.Join(" | ", system.Faults)}");
        }
        system.RunFor(TimeSpan.FromSeconds(1)); // the check's own calls settle
        await FsckStopped(system, members, memberCores, booted.Clients[1], $"{where}, the client was told {outcome ?? "success"}");
    }
}
