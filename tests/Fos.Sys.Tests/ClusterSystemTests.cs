using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Kernel.Processes;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Processes;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Simulation;

namespace Fos.Sys.Tests;

/// <summary>
/// One system over three simulated machines: files written on one machine are read on another by
/// the same path, processes on any machine are listed, waited for and killed from any other, and a
/// machine that dies takes only its own shards and processes with it, with a clear error.
/// </summary>
public sealed class ClusterSystemTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static async Task<(SimulatedSystem System, SystemLayout Layout)> Boot(ulong seed = 11)
    {
        var system = new SimulatedSystem(new SimOptions { Seed = seed, Machines = 3, CoresPerMachine = 4 });
        return (system, await SystemBoot.StartCluster(system));
    }

    private static Task<T> On<T>(SimulatedSystem system, int machine, Func<Task<T>> work) =>
        system.Execute(new CoreId((ushort)machine, 0), _ => work(), Deadline);

    private static readonly AppProgram Holder = new("holder", async args =>
    {
        await using var held = await FosFile.OpenAsync(args[0], FileMode.Create, FileAccess.Write);
        await held.WriteAsync("held open"u8.ToArray());
        await held.FlushAsync();
        FosProcess.Out.WriteLine("holding");
        while (true) await FosFile.StatAsync(args[0]); // until it is killed
    });

    [Fact]
    public async Task A_file_written_on_one_machine_is_read_on_every_other_by_the_same_path()
    {
        var (system, layout) = await Boot();
        await using var _ = system;
        Assert.Equal([1, 2, 3], layout.FileSystem.Select(m => (int)m.Public.Address.Machine).Distinct().Order());

        await On(system, 1, async () =>
        {
            for (var d = 0; d < 12; d++) await FosDirectory.CreateDirectoryAsync($"/d{d}");
            await FosFile.WriteAllTextAsync("/d5/from-m1.txt", "written on m1");
            return true;
        });
        var (text, owners) = await On(system, 3, async () =>
        {
            await FosFile.WriteAllTextAsync("/d7/from-m3.txt", "written on m3");
            var inodes = new List<long>();
            for (var d = 0; d < 12; d++) inodes.Add((await FosFile.StatAsync($"/d{d}")).Inode);
            return (await FosFile.ReadAllTextAsync("/d5/from-m1.txt"), inodes);
        });
        Assert.Equal("written on m1", text);
        Assert.Equal("written on m3", await On(system, 2, () => FosFile.ReadAllTextAsync("/d7/from-m3.txt")));
        // The tree is spread over the members of more than one machine.
        var machines = owners.Select(i => layout.FileSystem[FsStore.ShardOf(i) % layout.FileSystem.Count].Public.Address.Machine).Distinct().Count();
        Assert.True(machines > 1, $"the directories' shards are owned on {machines} machine(s)");
    }

    [Fact]
    public async Task A_process_on_one_machine_is_listed_waited_for_and_killed_from_another()
    {
        var (system, _) = await Boot();
        await using var __ = system;
        var pid = await On(system, 2, () => FosProcess.StartAsync(Holder, ["/held-by-m2"]));
        Assert.Equal(2, pid % 64); // a pid names its machine

        // m1 sees it in ps, with its machine, once it has started.
        var listed = await On(system, 1, async () =>
        {
            while (!await FosFile.ExistsAsync("/held-by-m2")) await Task.Yield();
            return await FosProcess.ListAsync();
        });
        var row = Assert.Single(listed, p => p.Pid == pid);
        Assert.Equal((2, ProcState.Running), (row.Core.Machine, row.State));

        // m3 waits for it and kills it, and hears how it ended.
        var exit = await On(system, 3, async () =>
        {
            var waiting = FosProcess.WaitAsync(pid);
            await FosProcess.KillAsync(pid);
            return await waiting;
        });
        Assert.Equal(ProcState.Killed, exit.State);
        Assert.Contains("holding", exit.Output);
        var after = await On(system, 3, FosProcess.ListAsync);
        Assert.Equal(ProcState.Killed, Assert.Single(after, p => p.Pid == pid).State);
    }

    [Fact]
    public async Task Without_a_machine_a_program_goes_to_the_least_busy_machine_and_a_wrong_machine_is_refused()
    {
        var (system, _) = await Boot();
        await using var _ = system;
        // Two application cores a machine: m1's fill first (a tie stays home)...
        var pids = new List<long>();
        for (var i = 0; i < 2; i++) pids.Add(await On(system, 1, () => FosProcess.StartAsync(Holder, [$"/spread{i}"])));
        Assert.Equal([1, 1], pids.Select(p => p % 64));
        // ...then a program asked for anywhere goes to the next least busy machine (where the simulator, which runs only code, says it cannot start it).
        var elsewhere = await On(system, 1, () => Failure(() => FosProcess.StartAsync("/apps/hello.dll")));
        Assert.Contains("cannot start hello", elsewhere);
        Assert.Contains("(on m2.c2)", elsewhere);
        Assert.Contains("(on m3.", await On(system, 1, () => Failure(() => FosProcess.StartAsync("/apps/hello.dll", machine: 3))));
        Assert.Contains("machine m9 has no process service", await On(system, 1, () => Failure(() => FosProcess.StartAsync("/apps/hello.dll", machine: 9))));
        Assert.Contains("no machine m0", await On(system, 1, () => Failure(() => FosProcess.StartAsync("/apps/hello.dll", machine: 0))));
        Assert.Contains("ESRCH", await On(system, 2, () => Failure(() => FosProcess.KillAsync(64 * 5 + 9))));
        foreach (var pid in pids) await On(system, 2, async () => { await FosProcess.KillAsync(pid); return true; });
    }

    private static async Task<string> Failure(Func<Task> call)
    {
        try
        {
            await call();
            return "succeeded";
        }
        catch (Exception ex) when (ex is FosException or IOException)
        {
            return ex.Message;
        }
    }

    [Fact]
    public async Task A_memory_member_that_runs_dry_borrows_from_its_own_machine_first_and_other_machines_last()
    {
        var (system, _) = await Boot();
        await using var _ = system;
        // Six members (two a machine) share the pool; the one on m1.c1 is asked for more than two members hold.
        system.RunFor(TimeSpan.FromMilliseconds(10)); // the last registrations reach m1's replica
        var before = await system.Execute(new CoreId(1, 1), _ => FosMemory.UsageAsync(), Deadline);
        Assert.Equal(6, before.Length);
        var each = before[1].FreePages;
        var pages = 2 * each + 1000;
        var usage = await system.Execute(new CoreId(1, 1), async _ =>
        {
            var buffer = await FosMemory.AllocateAsync(pages * FosMemory.PageSize);
            "borrowed"u8.CopyTo(buffer.Memory.Span[^8..]);
            return await FosMemory.UsageAsync();
        }, Deadline);
        Assert.Equal(pages, usage.Sum(u => u.AllocatedPages));
        Assert.Equal(before[0].FreePages / 4, usage[0].FreePages); // its own machine's sibling lent first, all but the quarter a member keeps
        Assert.True(usage[2].FreePages + usage[3].FreePages < before[2].FreePages + before[3].FreePages, "then m2's members lent the rest");
        Assert.Equal(before[4].FreePages + before[5].FreePages, usage[4].FreePages + usage[5].FreePages); // m3, farther, was not asked
        Assert.Equal(before.Sum(u => u.FreePages), usage.Sum(u => u.FreePages + u.AllocatedPages)); // no page lost or made up
    }

    [Fact]
    public async Task An_application_cannot_find_or_list_the_fleets_own_mailboxes()
    {
        var (system, _) = await Boot();
        await using var _ = system;
        var snoop = new AppProgram("snoop", async _ =>
        {
            var listed = await FosNames.ListAsync("/sys/");
            FosProcess.Out.WriteLine(string.Join(",", listed.Select(n => n.Name)));
            try
            {
                await FosNames.LookupAllAsync(WellKnownNames.FileSystemFleet);
                FosProcess.Out.WriteLine("found");
            }
            catch (FosException ex)
            {
                FosProcess.Out.WriteLine(ex.Error.ToString());
            }
            return 0;
        });
        var exit = await On(system, 1, async () => await FosProcess.WaitAsync(await FosProcess.StartAsync(snoop)));
        var lines = exit.Output.ReplaceLineEndings("\n").Split('\n');
        Assert.Contains("/sys/fs", lines[0].Split(','));
        Assert.DoesNotContain(WellKnownNames.FileSystemFleet, lines[0].Split(','));
        Assert.Equal(nameof(FosError.CapabilityRefused), lines[1]);
        // The system itself finds them.
        Assert.Equal(6, (await On(system, 1, () => FosNames.LookupAllAsync(WellKnownNames.FileSystemFleet))).Members.Length);
    }

    [Fact]
    public async Task A_dead_machine_takes_only_its_own_shards_and_processes_and_says_so()
    {
        var (system, layout) = await Boot();
        await using var _ = system;
        // A file lives in its directory's shard, and directories spread over every member: some on m3.
        await On(system, 1, async () =>
        {
            for (var d = 0; d < 24; d++)
            {
                await FosDirectory.CreateDirectoryAsync($"/d{d}");
                await FosFile.WriteAllTextAsync($"/d{d}/f", $"file {d}");
            }
            return true;
        });
        var onM3 = new List<int>();
        var elsewhere = new List<int>();
        await On(system, 1, async () =>
        {
            for (var d = 0; d < 24; d++)
            {
                var owner = layout.FileSystem[FsStore.ShardOf((await FosFile.StatAsync($"/d{d}/f")).Inode) % layout.FileSystem.Count];
                (owner.Public.Address.Machine == 3 ? onM3 : elsewhere).Add(d);
            }
            return true;
        });
        Assert.NotEmpty(onM3);
        Assert.NotEmpty(elsewhere);

        system.CrashMachine(3);
        var started = system.Now;
        var (failure, good) = await On(system, 1, async () =>
        {
            string failure;
            try
            {
                await FosFile.ReadAllTextAsync($"/d{onM3[0]}/f");
                failure = "read";
            }
            catch (Exception ex) when (ex is FosException or IOException)
            {
                failure = ex.Message;
            }
            return (failure, await FosFile.ReadAllTextAsync($"/d{elsewhere[0]}/f"));
        });
        Assert.NotEqual("read", failure);
        Assert.Contains("m3", failure);
        Assert.True(system.Now - started < TimeSpan.FromSeconds(10), $"the failure took {(system.Now - started).TotalSeconds:0.#} s");
        Assert.Equal($"file {elsewhere[0]}", good);
    }
}
