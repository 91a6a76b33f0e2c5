namespace Fos.Integration.Tests;

/// <summary>`fos fsck` on a real node's data directory: whole after use and a clean stop, refused while the node runs, and a clear error where there is nothing to check.</summary>
public sealed class FsckTests : IDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-fsck-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_used_and_stopped_node_checks_whole_and_a_running_one_is_not_checked()
    {
        await using (var node = FosCommand.Start("boot", "--headless", "--cores", "4", "--data", data))
        {
            await node.WaitForLine("fos is up", FosCommand.Deadline);
            var shell = await FosCommand.Run("shell", "--data", data, "-c", "mkdir /a; mkdir /a/b; mkdir /c; mv /a/b /c/b; rm -r /a");
            Assert.True(shell.ExitCode == 0, shell.Stderr);
            var busy = await FosCommand.Run("fsck", "--data", data);
            Assert.Equal(2, busy.ExitCode);
            Assert.Contains("in use", busy.Stderr, StringComparison.Ordinal);
            Assert.Equal(0, (await FosCommand.Run("stop", "--data", data)).ExitCode);
            Assert.Equal(0, await node.WaitForExit(FosCommand.Deadline));
        }
        var check = await FosCommand.Run("fsck", "--data", data);
        Assert.True(check.ExitCode == 0, string.Join('\n', check.Stdout) + check.Stderr);
        Assert.Contains("0 files, 3 directories, 0 bytes; no problems", check.Stdout);
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

    public void Dispose()
    {
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
