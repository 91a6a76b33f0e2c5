using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Simulation;

namespace Fos.Sys.Tests;

/// <summary>
/// A name held for an operation that its coordinator no longer runs (a reservation or the rename
/// lock that arrived after the coordinator restarted and undid the operation) is let go once a
/// request has waited on it a while: the member asks the coordinating shard, which says it runs no
/// such operation. Nothing waits forever on an operation nobody will finish.
/// </summary>
public class FsStaleHoldTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_hold_whose_operation_no_longer_runs_is_let_go_when_someone_waits(bool renameLock)
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 5, CoresPerMachine = 6 });
        await SystemBoot.StartNaming(system);
        var memberCores = system.Cores.Skip(1).Take(3).ToList();
        var members = await SystemBoot.StartFileSystem(system, memberCores);
        var client = system.Cores[0];
        await system.Execute(client, async _ =>
        {
            await FosDirectory.CreateDirectoryAsync("/a/x");
            await FosDirectory.CreateDirectoryAsync("/b");
            return true;
        });

        // Member 0 keeps the root's shard (and the rename lock); it stops, and its store gets a
        // hold for operation 42 of shard 5, which no member runs.
        system.CrashCore(memberCores[0]);
        await system.Execute(system.Cores[4], async k =>
        {
            using var store = k.OpenStore("fs/member-0");
            var batch = new StoreBatch();
            if (renameLock) FsStore.PutRenameLock(batch, new FsStore.Hold(42, 5));
            else FsStore.PutReservation(batch, FsStore.RootInode, "ghost", new FsStore.Hold(42, 5));
            store.Write(batch);
            await store.Sync();
            return true;
        });
        await FsFleet.Replace(system, 0, system.Cores[5], members[1].Peer);

        var (waited, outcome) = await system.Execute(client, async k =>
        {
            var start = k.Now;
            string outcome;
            if (renameLock)
            {
                await FosPosix.Rename("/a/x", "/b/x"); // a directory between directories takes the rename lock
                outcome = (await FosFile.StatAsync("/b/x")).Kind.ToString();
            }
            else
            {
                await FosPosix.Mkdir("/ghost");
                outcome = (await FosFile.StatAsync("/ghost")).Kind.ToString();
            }
            return (k.Now - start, outcome);
        }, TimeSpan.FromMinutes(1));
        Assert.Equal(nameof(FsNodeKind.Directory), outcome);
        Assert.True(waited >= TimeSpan.FromSeconds(2), $"it waited {waited} for the stale hold before asking whether its operation runs");
    }
}
