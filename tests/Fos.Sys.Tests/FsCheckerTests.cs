using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Sys.Tests;

/// <summary>
/// The checker finds each kind of damage it names, in stores written by a real fleet, and its
/// repair leaves a file system it passes; a whole file system passes untouched.
/// </summary>
public class FsCheckerTests
{
    private const int Members = 3;

    /// <summary>A fleet that wrote a small tree and stopped → its members' stores, open for the test.</summary>
    private static async Task<(SimulatedSystem System, List<IStore> Stores, long File, long Dir)> WrittenAndStopped(ulong seed)
    {
        var system = new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = Members + 1 });
        await SystemBoot.StartNaming(system);
        var members = await SystemBoot.StartFileSystem(system, system.Cores.Skip(1).ToList());
        var client = system.Cores[0];
        var (file, dir) = await system.Execute(client, async _ =>
        {
            for (var d = 0; d < 6; d++)
            {
                await FosDirectory.CreateDirectoryAsync($"/d{d}/sub");
                await FosFile.WriteAllTextAsync($"/d{d}/sub/f", new string('x', 70_000 + d));
            }
            await FosPosix.Rename("/d1/sub", "/d2/moved");
            return ((await FosFile.StatAsync("/d3/sub/f")).Inode, (await FosFile.StatAsync("/d4")).Inode);
        });
        for (var i = 0; i < Members; i++)
        {
            var member = members[i];
            await system.Execute(client, async k =>
            {
                await k.Stop(member.Public);
                return true;
            });
        }
        var stores = new List<IStore>();
        for (var i = 0; i < Members; i++)
        {
            var name = $"fs/member-{i}";
            stores.Add(await system.Execute(system.Cores[i + 1], k => Task.FromResult(k.OpenStore(name))));
        }
        return (system, stores, file, dir);
    }

    [Fact]
    public async Task A_whole_file_system_passes()
    {
        var (system, stores, _, _) = await WrittenAndStopped(1);
        await using var _ = system;
        var checker = new FsChecker(stores).Check();
        Assert.Empty(checker.Problems);
        Assert.Equal((6, 13), (checker.Files, checker.Directories));
    }

    [Fact]
    public async Task A_file_without_its_name_is_found_and_moved_to_lost_and_found()
    {
        var (system, stores, file, _) = await WrittenAndStopped(2);
        await using var _ = system;
        foreach (var store in stores) // the entry /d3/sub/f goes, the file stays
            foreach (var (key, value) in store.Scan([]).Where(e => e.Key.Length > 10 && e.Key[1] == (byte)'e' && BitConverter.ToInt64([.. e.Value.Take(8).Reverse()]) == file))
                store.Write(new StoreBatch().Delete(key));
        var checker = new FsChecker(stores).Check();
        Assert.Contains(checker.Problems, p => p.Contains($"inode {file}") && p.Contains("reachable from no directory"));
        Assert.True(checker.Repair() > 0);
        var again = new FsChecker(stores).Check();
        Assert.Empty(again.Problems);
        Assert.Equal(6, again.Files);
    }

    [Fact]
    public async Task A_directory_whose_inode_is_gone_leaves_dangling_names_that_repair_mends()
    {
        var (system, stores, _, dir) = await WrittenAndStopped(3);
        await using var _ = system;
        foreach (var store in stores)
            foreach (var (key, _) in store.Scan([]).Where(e => e.Key.Length == 10 && e.Key[1] == (byte)'i' && BitConverter.ToInt64([.. e.Key.Skip(2).Reverse()]) == dir))
                store.Write(new StoreBatch().Delete(key));
        var checker = new FsChecker(stores).Check();
        Assert.Contains(checker.Problems, p => p.Contains("'d4'") && p.Contains("does not exist"));
        Assert.Contains(checker.Problems, p => p.Contains($"directory {dir} was removed"));
        checker.Repair();
        Assert.Empty(new FsChecker(stores).Check().Problems);
    }

    [Fact]
    public async Task A_block_past_its_files_end_and_a_stale_reservation_are_found()
    {
        var (system, stores, file, _) = await WrittenAndStopped(4);
        await using var _ = system;
        var key = new byte[18];
        key[0] = (byte)FsStore.ShardOf(file);
        key[1] = (byte)'b';
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(2), file);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(10), 9);
        var damage = new StoreBatch().Put(key, new byte[100]);
        FsStore.PutReservation(damage, FsStore.RootInode, "ghost", new FsStore.Hold(42, 0));
        stores[0].Write(damage);
        var problems = new FsChecker(stores).Check().Problems;
        Assert.Contains(problems, p => p.Contains($"block 9 of inode {file}") && p.Contains("past the file's size"));
        Assert.Contains(problems, p => p.Contains("reserved for operation 2a"));
    }
}
