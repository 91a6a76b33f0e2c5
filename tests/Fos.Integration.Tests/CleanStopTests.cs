namespace Fos.Integration.Tests;

/// <summary>
/// What a user does on each engine, across a clean stop: mkdir, put a file, mkdir again, `fos stop`,
/// boot again. Everything is there, and fsck finds the file system whole. (The SQLite store once
/// rolled back on a clean stop whatever had not been synced: the last directory was gone.)
/// </summary>
public sealed class CleanStopTests : IDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-stop-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string host = Path.Combine(Path.GetTempPath(), "fos-stop-host-" + Guid.NewGuid().ToString("N")[..8]);

    [Theory]
    [InlineData("rocksdb")]
    [InlineData("sqlite")]
    public async Task Everything_is_there_after_a_clean_stop_and_a_boot(string engine)
    {
        Directory.CreateDirectory(host);
        var file = Path.Combine(host, "f.bin");
        var bytes = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        await File.WriteAllBytesAsync(file, bytes);
        await using (var node = FosCommand.Start("boot", "--headless", "--cores", "4", "--engine", engine, "--data", data))
        {
            await node.WaitForLine("fos is up", FosCommand.Deadline);
            var made = await FosCommand.Run("shell", "--data", data, "-c", $"mkdir /first; put {file} /first/f.bin; mkdir /last");
            Assert.True(made.ExitCode == 0, made.Stderr);
            Assert.Equal(0, (await FosCommand.Run("stop", "--data", data)).ExitCode);
            Assert.Equal(0, await node.WaitForExit(FosCommand.Deadline));
        }
        await using (var node = FosCommand.Start("boot", "--headless", "--cores", "4", "--engine", engine, "--data", data))
        {
            await node.WaitForLine("fos is up", FosCommand.Deadline);
            var listing = await FosCommand.Run("shell", "--data", data, "-c", "ls /");
            Assert.Equal(["first/", "last/"], listing.Stdout.Where(l => l.Length > 0).Order(StringComparer.Ordinal));
            var back = Path.Combine(host, "back.bin");
            var got = await FosCommand.Run("shell", "--data", data, "-c", $"get /first/f.bin {back}");
            Assert.True(got.ExitCode == 0, got.Stderr);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(back));
            Assert.Equal(0, (await FosCommand.Run("stop", "--data", data)).ExitCode);
            Assert.Equal(0, await node.WaitForExit(FosCommand.Deadline));
        }
        var check = await FosCommand.Run("fsck", "--data", data);
        Assert.True(check.ExitCode == 0, string.Join('\n', check.Stdout) + check.Stderr);
    }

    public void Dispose()
    {
        foreach (var dir in new[] { data, host })
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
