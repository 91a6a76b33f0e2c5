namespace Fos.Integration.Tests;

/// <summary>`fos fsck` on a real node's data directory: whole after use and a clean stop, refused while the node runs, and a clear error where there is nothing to check.</summary>
public sealed class FsckTests : IDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-fsck-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_used_and_stopped_node_checks_whole_and_a_running_one_is_not_checked()
    {
        await WhileUp(async () =>
        {
            await Shell("mkdir /a; mkdir /a/b; mkdir /c; mv /a/b /c/b; rm -r /a");
            var busy = await FosCommand.Run("fsck", "--data", data);
            Assert.Equal(2, busy.ExitCode);
            Assert.Contains("in use", busy.Stderr, StringComparison.Ordinal);
        });
        var check = await FosCommand.Run("fsck", "--data", data);
        Assert.True(check.ExitCode == 0, string.Join('\n', check.Stdout) + check.Stderr);
        Assert.Contains("0 files, 3 directories, 0 bytes; no problems", check.Stdout);
    }

    /// <summary>
    /// Damage made by hand in a stopped node's store (the root's entry for /c removed, so /c and
    /// what is in it are reached from nowhere): fsck says so and exits 1, --repair gives them
    /// names in /lost+found, and the node boots on the mended tree with nothing lost.
    /// </summary>
    [Fact]
    public async Task Repair_gives_what_nothing_reaches_a_name_in_lost_and_found()
    {
        await WhileUp(() => Shell("mkdir /c; mkdir /c/b; mkdir /kept"));
        using (var disk = new Fos.Runtime.Storage.DiskStores(data, Fos.Runtime.Storage.StoreEngine.RocksDb))
        using (var rootStore = disk.Open("fs/member-0")) // the root directory lives in shard 0, on member 0
        {
            var batch = new Fos.Kernel.Storage.StoreBatch();
            Fos.Services.FileSystem.FsStore.DeleteEntry(batch, Fos.Services.FileSystem.FsStore.RootInode, "c");
            rootStore.Write(batch);
        }

        var check = await FosCommand.Run("fsck", "--data", data);
        Assert.Equal(1, check.ExitCode);
        Assert.Contains(check.Stdout, line => line.Contains("is reachable from no directory", StringComparison.Ordinal));
        var repair = await FosCommand.Run("fsck", "--repair", "--data", data);
        Assert.True(repair.ExitCode == 0, string.Join('\n', repair.Stdout) + repair.Stderr);
        Assert.Contains(repair.Stdout, line => line.StartsWith("repaired: ", StringComparison.Ordinal));
        Assert.Equal(0, (await FosCommand.Run("fsck", "--data", data)).ExitCode);

        await WhileUp(async () =>
        {
            var ls = await Shell("ls /; ls /lost+found");
            Assert.Equal(["kept/", "lost+found/"], ls.Take(2));
            Assert.Single(ls.Skip(2)); // /c, under a name of its inode; /b came with it
            Assert.Equal(["b/"], await Shell($"ls /lost+found/{ls[2].TrimEnd('/')}"));
        });
    }

    [Fact]
    public async Task A_directory_without_a_file_system_is_a_clear_error()
    {
        Directory.CreateDirectory(data);
        var check = await FosCommand.Run("fsck", "--data", data);
        Assert.Equal(2, check.ExitCode);
        Assert.StartsWith("fos fsck: ", check.Stderr, StringComparison.Ordinal);
        Assert.Single(check.Stderr.Trim().Split('\n'));
    }

    /// <summary>Boots a node on the test's data directory, does <paramref name="work"/>, and stops it cleanly.</summary>
    private async Task WhileUp(Func<Task> work)
    {
        await using var node = FosCommand.Start("boot", "--headless", "--cores", "4", "--data", data);
        await node.WaitForLine("fos is up", FosCommand.Deadline);
        await work();
        Assert.Equal(0, (await FosCommand.Run("stop", "--data", data)).ExitCode);
        Assert.Equal(0, await node.WaitForExit(FosCommand.Deadline));
    }

    /// <summary>Runs shell commands on the running node, which must succeed; returns their output lines.</summary>
    private async Task<IReadOnlyList<string>> Shell(string commands)
    {
        var shell = await FosCommand.Run("shell", "--data", data, "-c", commands);
        Assert.True(shell.ExitCode == 0, shell.Stderr);
        return shell.Stdout;
    }

    public void Dispose()
    {
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
