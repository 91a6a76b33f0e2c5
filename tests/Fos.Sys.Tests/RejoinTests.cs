using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.FileSystem;

namespace Fos.Sys.Tests;

/// <summary>
/// A machine of a cluster coming back on its data directory with nobody else up: its file-system
/// members start from the fleet their stores last knew, serve their own shards, and say which
/// machine the others' shards wait for.
/// </summary>
public sealed class RejoinTests : TestSystems
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Members_restarted_alone_serve_their_shards_from_the_fleet_their_stores_knew()
    {
        // First boot: the fleet grows onto a third member, as when a machine joins, and files are written.
        int dirs;
        await using (var first = Machine.Start(new MachineOptions { Cores = 4, DataDirectory = Data }))
        {
            var layout = await SystemBoot.StartSystem(first);
            await FsFleet.AddMember(first, first.Cores[2], first.Cores[0], layout.FileSystem[0].Peer);
            var owners = (await FsFleet.State(first, first.Cores[0], layout.FileSystem[0].Peer)).ShardOwners;
            // Inodes go to shards at random: files are written until some lie wholly with members 0
            // and 1 and some with member 2, whatever share of the shards it took.
            dirs = await first.Execute(first.Cores[0], async _ =>
            {
                var (theirs, others, d) = (0, 0, 0);
                for (; d < 12 || theirs < 2 || others < 2; d++)
                {
                    Assert.True(d < 500, $"member 2 keeps {owners.Count(o => o == 2)} shards, yet no file landed there");
                    await FosDirectory.CreateDirectoryAsync($"/d{d}");
                    await FosFile.WriteAllTextAsync($"/d{d}/f", $"file {d}");
                    var onTwo = new[] { $"/d{d}", $"/d{d}/f" }.Select(async p => owners[FsStore.ShardOf((await FosFile.StatAsync(p)).Inode)] == 2);
                    if ((await Task.WhenAll(onTwo)).Any(x => x)) theirs++;
                    else others++;
                }
                return d;
            }, Deadline);
        }

        // Second boot: members 0 and 1 come back (0 keeps the root's shard); member 2 stands for a machine still down.
        await using var second = Machine.Start(new MachineOptions { Cores = 4, DataDirectory = Data });
        var back = await SystemBoot.RejoinSystem(second, 1, [0, 1]);
        Assert.Equal(2, back.FileSystem.Count);
        var view = await FsFleet.State(second, second.Cores[0], back.FileSystem[0].Peer);
        Assert.Equal(3, view.Members.Length);
        Assert.Equal(FileSystemServer.Absent(1), view.Members[2].Peer);
        Assert.Equal(0, view.ShardOwners[FsStore.ShardOf(FsStore.RootInode)]); // a member that joins leaves the root's shard where the file system began
        Assert.Contains(view.ShardOwners, o => o == 2); // the third member took shards, and they stay its

        var (read, failed) = await second.Execute(second.Cores[0], async _ =>
        {
            var (ok, bad) = (0, new List<string>());
            for (var d = 0; d < dirs; d++)
            {
                try
                {
                    Assert.Equal($"file {d}", await FosFile.ReadAllTextAsync($"/d{d}/f"));
                    ok++;
                }
                catch (Exception ex) when (ex is FosException or IOException)
                {
                    bad.Add(ex.Message);
                }
            }
            return (ok, bad);
        }, Deadline);
        Assert.True(read > 0, "the restarted members serve their own shards");
        Assert.True(failed.Count > 0, "some directories live in the absent member's shards");
        Assert.All(failed, message => Assert.Matches(@"^EIO: /d\d+/f: shard \d+ is kept by file-system member 2 on m1, which does not answer", message));
        // The system's own names are this boot's alone.
        var names = await second.Execute(second.Cores[0], k => k.LookupAll(WellKnownNames.FileSystemFleet).AsTask(), Deadline);
        Assert.Equal(2, names.Members.Length);
    }

    [Fact]
    public async Task A_store_with_no_fleet_in_it_is_refused_with_a_reason()
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 2, DataDirectory = Data });
        var error = await Assert.ThrowsAsync<FosException>(() => SystemBoot.RejoinSystem(machine, 1, [5]));
        Assert.Contains("holds no fleet", error.Message);
    }
}
