using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Services;
using Fos.Services.FileSystem;
using static Fos.Sys.Tests.FsTestKit;

namespace Fos.Sys.Tests;

/// <summary>
/// A member keeps the inode each path it walked led to, for the next stat of that path: a change
/// to any name on the path, or a shard that moves, must be seen by the very next stat.
/// </summary>
public sealed class FsPathCacheTests : TestSystems
{
    [Theory]
    [MemberData(nameof(Both))]
    public async Task A_stat_after_a_name_on_its_path_changed_sees_the_change(string kind)
    {
        var system = Create(kind, cores: 3, seed: 5);
        await using var _ = system;
        var layout = await SystemBoot.StartSystem(system);
        var client = layout.ApplicationCores[0];

        var moved = await system.Execute(client, async __ =>
        {
            await FosDirectory.CreateDirectoryAsync("/p/q");
            await FosFile.WriteAllTextAsync("/p/q/f", "first");
            var written = await FosPosix.Stat("/p/q/f");
            Assert.Equal(written, await FosPosix.Stat("/p/q/f")); // walked once, then remembered

            // The file changes under the remembered path: the next stat says so.
            var file = await FosPosix.Open("/p/q/f", new FsOpenFlags(Write: true));
            await FosPosix.PWrite(file, 5, " and more"u8);
            await FosPosix.Close(file);
            var first = await FosPosix.Stat("/p/q/f");
            Assert.Equal(("first and more".Length, written.Inode), (first.Size, first.Inode));
            Assert.NotEqual(written.Version, first.Version);

            // A directory on the path renamed: the old path names nothing, the new one the same file.
            await FosPosix.Rename("/p", "/r");
            Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Stat("/p/q/f")));
            Assert.Equal(first.Inode, (await FosPosix.Stat("/r/q/f")).Inode);

            // The old path made again names the new file, not the one it named before.
            await FosDirectory.CreateDirectoryAsync("/p/q");
            await FosFile.WriteAllTextAsync("/p/q/f", "second file");
            var second = await FosPosix.Stat("/p/q/f");
            Assert.NotEqual(first.Inode, second.Inode);
            Assert.Equal("second file".Length, second.Size);

            // A file replaced by a rename over it, a file removed, a directory made where a file was.
            await FosPosix.Rename("/r/q/f", "/p/q/f");
            Assert.Equal(first.Inode, (await FosPosix.Stat("/p/q/f")).Inode);
            await FosPosix.Unlink("/p/q/f");
            Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Stat("/p/q/f")));
            await FosPosix.Mkdir("/p/q/f");
            Assert.Equal(FsNodeKind.Directory, (await FosPosix.Stat("/p/q/f")).Kind);
            await FosPosix.Rmdir("/p/q/f");
            await FosFile.WriteAllTextAsync("/p/q/f", "third");
            return await FosPosix.Stat("/p/q/f");
        });

        // Every shard of the first member moves to a new one: the paths it remembered are no longer its to answer.
        var fleet = layout.FileSystem[0].Peer;
        await FsFleet.AddMember(system, layout.ApplicationCores[^1], system.Cores[0], fleet);
        await FsFleet.RemoveMember(system, 0, system.Cores[0], layout.FileSystem[^1].Peer);
        await system.Execute(client, async __ =>
        {
            Assert.Equal(moved, await FosPosix.Stat("/p/q/f"));
            await FosPosix.Rename("/p/q/f", "/p/q/g");
            Assert.Equal(Errno.ENOENT, await ErrnoOf(() => FosPosix.Stat("/p/q/f")));
            Assert.Equal(moved.Inode, (await FosPosix.Stat("/p/q/g")).Inode);
            return true;
        });
    }

    [Theory]
    [MemberData(nameof(Both))]
    public async Task A_member_that_gave_a_shard_away_does_not_answer_from_what_it_walked_before(string kind)
    {
        const int Directories = 24;
        var system = Create(kind, cores: 3, seed: 6);
        await using var _ = system;
        var layout = await SystemBoot.StartSystem(system);
        var client = layout.ApplicationCores[0];
        var first = layout.FileSystem[0].Public;

        // Asked of the first member directly, so each path it can walk alone is remembered there.
        await system.Execute(client, async k =>
        {
            for (var d = 0; d < Directories; d++)
            {
                await FosDirectory.CreateDirectoryAsync($"/d{d}");
                await FosFile.WriteAllTextAsync($"/d{d}/f", "x");
                await k.Call<FsAttributes>(first, new FsStat($"/d{d}/f"));
            }
            return true;
        });

        // Half the shards move to a new member, which then renames what it now keeps.
        await FsFleet.AddMember(system, layout.ApplicationCores[^1], system.Cores[0], layout.FileSystem[0].Peer);
        var stale = await system.Execute(client, async k =>
        {
            var wrong = new List<string>();
            for (var d = 0; d < Directories; d++)
            {
                await FosPosix.Rename($"/d{d}/f", $"/d{d}/g");
                try
                {
                    await k.Call<FsAttributes>(first, new FsStat($"/d{d}/f"));
                    wrong.Add($"/d{d}/f");
                }
                catch (FosException ex) when (FsError.ErrnoOf(ex) == Errno.ENOENT)
                {
                }
            }
            return wrong;
        });
        Assert.Empty(stale);
    }
}
