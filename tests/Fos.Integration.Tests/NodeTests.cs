namespace Fos.Integration.Tests;

/// <summary>
/// A fos node driven as a user would: booted headless in a process of its own on a fresh data
/// directory, reached with `fos shell -c`, `fos run` and `fos stop`, killed with SIGKILL and
/// booted again on the same data.
/// </summary>
public sealed class NodeTests : IAsyncLifetime
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-node-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string work = Path.Combine(Path.GetTempPath(), "fos-host-" + Guid.NewGuid().ToString("N")[..8]);
    private FosCommand? node;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(work);
        return Task.CompletedTask;
    }

    private async Task<FosCommand> Boot()
    {
        var booted = FosCommand.Start("boot", "--headless", "--cores", "4", "--data", data);
        await booted.WaitForLine("fos is up", FosCommand.Deadline);
        return booted;
    }

    private Task<(int ExitCode, IReadOnlyList<string> Stdout, string Stderr)> Shell(string commands) =>
        FosCommand.Run("shell", "--data", data, "-c", commands);

    private static string Sample(string name)
    {
        // tests/Fos.Integration.Tests/bin/CONFIG/net10.0/ → samples/NAME/bin/CONFIG/net10.0/NAME.dll
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        var framework = bin.Name;
        var configuration = bin.Parent!.Name;
        var root = bin.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, "samples", name, "bin", configuration, framework, name + ".dll");
    }

    [Fact]
    public async Task A_user_puts_lists_reads_gets_runs_and_lists_processes()
    {
        node = await Boot();
        var text = string.Join('\n', Enumerable.Range(1, 50).Select(i => $"line {i} of the fleet")) + "\n";
        await File.WriteAllTextAsync(Path.Combine(work, "in.txt"), text);
        var (code, stdout, stderr) = await Shell(
            $"mkdir -p /home/u; put {work}/in.txt /home/u/in.txt; ls /home/u; cat /home/u/in.txt; get /home/u/in.txt {work}/out.txt; " +
            $"run {Sample("wc")} /home/u/in.txt; ps; top");
        Assert.True(code == 0, stderr);
        Assert.Contains($"{text.Length} bytes to /home/u/in.txt", stdout);
        Assert.Contains("in.txt", stdout);
        Assert.Contains("line 50 of the fleet", stdout);
        Assert.Equal(text, await File.ReadAllTextAsync(Path.Combine(work, "out.txt")));
        var wc = $"50 250 {text.Length} /home/u/in.txt"; // lines, words, bytes
        Assert.Contains(stdout, l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)) == wc);
        Assert.Contains(stdout, l => l.Contains("wc", StringComparison.Ordinal) && l.Contains("exited", StringComparison.Ordinal));
        Assert.Contains(stdout, l => l.StartsWith("m1.c0", StringComparison.Ordinal) && l.Contains("fs", StringComparison.Ordinal)); // top
        Assert.Equal("", stderr);
    }

    [Fact]
    public async Task Fos_run_and_the_parallel_word_count_use_every_application_core()
    {
        node = await Boot();
        for (var i = 0; i < 4; i++) await File.WriteAllTextAsync(Path.Combine(work, $"{i}.txt"), string.Join(' ', Enumerable.Repeat("alpha beta", i + 1)));
        var puts = string.Join("; ", Enumerable.Range(0, 4).Select(i => $"put {work}/{i}.txt /texts/{i}.txt"));
        Assert.Equal(0, (await Shell("mkdir /texts; " + puts)).ExitCode);

        var (code, stdout, stderr) = await FosCommand.Run("run", "--data", data, Sample("pwc"), "/texts");
        Assert.True(code == 0, stderr);
        Assert.Equal("4 files, 2 workers, 20 words, 2 distinct", stdout[0]);
        Assert.Equal(["      10 alpha", "      10 beta"], stdout.Skip(1));
        // fos run passes each argument whole, whatever quotes, spaces or backslashes it holds.
        const string odd = @"/texts/it's a ""name"" \ $HOME";
        Assert.Equal(0, (await Shell(@$"put {work}/0.txt '/texts/it'\''s a ""name"" \ $HOME'")).ExitCode);
        var wc = await FosCommand.Run("run", "--data", data, Sample("wc"), odd);
        Assert.True(wc.ExitCode == 0, wc.Stderr);
        Assert.EndsWith(" " + odd, Assert.Single(wc.Stdout));

        // pwc starts itself as its workers: the rows after the first pwc's, each on its own core.
        var ps = (await Shell("ps")).Stdout.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(r => r[2] == "pwc").ToList();
        Assert.Equal(3, ps.Count);
        Assert.All(ps, r => Assert.True(int.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture) > 0)); // each ran as a host process
        Assert.Equal(2, ps.Skip(1).Select(r => r[3]).Distinct().Count());
    }

    [Fact]
    public async Task Mistakes_get_one_clear_line_each_and_the_node_keeps_running()
    {
        node = await Boot();
        await File.WriteAllTextAsync(Path.Combine(work, "not-an-app.dll"), "plain text");
        var (code, stdout, stderr) = await Shell(
            $"cat /missing; frobnicate; mkdir relative; rm /; run {work}/not-an-app.dll; run {work}/absent.dll; kill abc; kill 999999; put {work}/absent.txt /x; ls /");
        Assert.Equal(0, code); // the last command (ls) succeeded
        var errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Collection(errors,
            e => Assert.Equal("cat: /missing: No such file or directory", e),
            e => Assert.Equal("frobnicate: no such command (type help for the list)", e),
            e => Assert.StartsWith("mkdir: 'relative' is not a fos path", e),
            e => Assert.Equal("rm: cannot remove '/': Is a directory", e),
            e => Assert.Contains("is not a .NET assembly", e),
            e => Assert.Equal($"run: {work}/absent.dll: No such file or directory", e),
            e => Assert.StartsWith("kill: 'abc' is not a pid", e),
            e => Assert.Equal("kill: 999999: No such process", e),
            e => Assert.Equal($"put: {work}/absent.txt: No such file or directory", e));
        Assert.Empty(stdout);

        var second = await FosCommand.Run("boot", "--headless", "--data", data);
        Assert.Equal(1, second.ExitCode);
        FosCommand.AssertOneClearLine(second.Stderr, "boot", "in use by another fos machine");
        Assert.Equal(0, (await Shell("ls /")).ExitCode); // the first node is untouched
    }

    [Fact]
    public async Task Fos_shell_writes_what_cat_reads_byte_for_byte_to_its_standard_output()
    {
        node = await Boot();
        var payload = new byte[300_000];
        new Random(11).NextBytes(payload);
        payload[^1] = 0xe2; // a cut UTF-8 sequence, and no newline at the end
        await File.WriteAllBytesAsync(Path.Combine(work, "binary.bin"), payload);
        Assert.Equal(0, (await Shell($"put {work}/binary.bin /binary.bin")).ExitCode);

        var (code, stdout, stderr) = await FosCommand.RunBytes("shell", "--data", data, "-c", "cat /binary.bin /binary.bin");
        Assert.True(code == 0, stderr);
        Assert.Equal([.. payload, .. payload], stdout);
    }

    [Fact]
    public async Task What_was_closed_before_a_SIGKILL_is_there_after_the_next_boot()
    {
        node = await Boot();
        var payload = new byte[1_000_000];
        new Random(7).NextBytes(payload);
        await File.WriteAllBytesAsync(Path.Combine(work, "payload.bin"), payload);
        Assert.Equal(0, (await Shell($"mkdir /keep; put {work}/payload.bin /keep/payload.bin")).ExitCode);

        node.Signal(9); // no chance to clean up
        Assert.Equal(137, await node.WaitForExit(FosCommand.Deadline));
        await node.DisposeAsync();

        node = await Boot(); // the lock died with the process; the socket it left is replaced
        var (code, _, stderr) = await Shell($"get /keep/payload.bin {work}/back.bin");
        Assert.True(code == 0, stderr);
        Assert.Equal(payload, await File.ReadAllBytesAsync(Path.Combine(work, "back.bin")));

        Assert.Equal(0, (await FosCommand.Run("stop", "--data", data)).ExitCode);
        Assert.Equal(0, await node.WaitForExit(FosCommand.Deadline));
        var check = await FosCommand.Run("fsck", "--data", data);
        Assert.True(check.ExitCode == 0, string.Join('\n', check.Stdout) + check.Stderr);
    }

    [Fact]
    public async Task Fos_stop_shuts_the_node_down_cleanly()
    {
        node = await Boot();
        var (code, stdout, _) = await FosCommand.Run("stop", "--data", data);
        Assert.Equal(0, code);
        Assert.Contains("stopping fos", stdout);
        Assert.Equal(0, await node.WaitForExit(FosCommand.Deadline));
        Assert.Contains(node.Stdout, l => l.Contains("fos stopped", StringComparison.Ordinal));
        var after = await Shell("ls /");
        Assert.Equal(1, after.ExitCode);
        Assert.Contains("no fos node is running", after.Stderr);
    }

    public async Task DisposeAsync()
    {
        if (node is not null) await node.DisposeAsync();
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
    }
}
