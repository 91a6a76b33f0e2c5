using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Simulation;

namespace Fos.Sys.Tests;

/// <summary>
/// A member that was not told of a replacement (the message was lost, or its machine's replica of
/// the names lags behind) finds the new member from a member that was told, instead of answering
/// EIO for every shard the replaced member keeps.
/// </summary>
public class FsRelearnTests
{
    [Fact]
    public async Task A_member_not_told_of_a_replacement_learns_it_from_a_member_that_was()
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 7, CoresPerMachine = 6 });
        await SystemBoot.StartNaming(system);
        var memberCores = system.Cores.Skip(1).Take(3).ToList();
        var members = await SystemBoot.StartFileSystem(system, memberCores);
        var client = system.Cores[0];
        var owners = (await FsFleet.State(system, client, members[0].Peer)).ShardOwners;
        var path = await system.Execute(client, async _ =>
        {
            for (var d = 0; ; d++)
            {
                Assert.True(d < 500, "no directory landed in member 1's shards");
                await FosDirectory.CreateDirectoryAsync($"/d{d}");
                if (owners[FsStore.ShardOf((await FosFile.StatAsync($"/d{d}")).Inode)] == 1) return $"/d{d}";
            }
        });

        system.CrashCore(memberCores[1]);
        var replacement = await FsFleet.Replace(system, 1, system.Cores[5], members[0].Peer);
        var stat = await system.Execute(system.Cores[5], async k =>
        {
            // Member 2 is told the old member again, as if the news had never reached it, and the
            // names no longer say who member 1 is: only member 0 knows.
            await k.Unregister(WellKnownNames.FileSystemFleet, replacement.Peer);
            await k.Call(members[2].Peer, new FsMemberAt(1, members[1]));
            return await k.Call<FsAttributes>(members[2].Public, new FsStat(path), TimeSpan.FromMinutes(2));
        }, TimeSpan.FromMinutes(5));
        Assert.Equal(FsNodeKind.Directory, stat.Kind);
        var view = await FsFleet.State(system, client, members[2].Peer);
        Assert.Equal(replacement.Peer, view.Members[1].Peer);
    }
}
