namespace Fos.Integration.Tests;

/// <summary>
/// Three machine processes on loopback made one system, driven as a user would with fos boot,
/// shell, run, stop and status: a file written on one machine is read on the others by its path,
/// a program is placed on a chosen machine and listed from another, a machine that stops takes its
/// shards away with a clear error and brings them back when it boots again, one killed outright
/// is seen down while the others serve on, and the whole cluster stopped and booted in another
/// order comes back with every file.
/// </summary>
public sealed class OneSystemTests : IAsyncLifetime
{
    private readonly string[] data = [.. Enumerable.Range(1, 3).Select(m => Path.Combine(Path.GetTempPath(), $"fos-one-m{m}-" + Guid.NewGuid().ToString("N")[..8]))];
    private readonly Dictionary<int, FosCommand> nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task<FosCommand> Boot(int machine, params string[] args)
    {
        var node = FosCommand.Start(["boot", "--headless", "--cores", "2", "--data", data[machine - 1], .. args]);
        nodes[machine] = node;
        try
        {
            await node.WaitForLine("fos is up", TimeSpan.FromMinutes(2));
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            throw new InvalidOperationException($"m{machine} did not boot: {ex.Message}\n{string.Join('\n', node.Stderr)}", ex);
        }
        return node;
    }

    /// <param name="status">The status expected (the last command's), or null when some commands are meant to fail.</param>
    private async Task<string> Shell(int machine, string commands, int? status = 0)
    {
        var (code, stdout, stderr) = await FosCommand.Run("shell", "--data", data[machine - 1], "-c", commands);
        if (status is not null && code != status)
            Assert.Fail($"m{machine}: `{commands}` ended {code}, not {status}: {stderr}\n{NodesSaid()}");
        return string.Join('\n', stdout) + stderr;
    }

    /// <summary>The end of what each running node printed, so a failure shows what the machines saw.</summary>
    private string NodesSaid() => string.Join('\n', nodes.OrderBy(n => n.Key).Select(n =>
        $"--- m{n.Key} stdout:\n{string.Join('\n', n.Value.Stdout.TakeLast(30))}\n--- m{n.Key} stderr:\n{Tail(n.Value.Stderr, 4000)}"));

    private static string Tail(string text, int characters) => text.Length <= characters ? text : text[^characters..];

    private async Task Stop(int machine)
    {
        Assert.Equal(0, (await FosCommand.Run("stop", "--data", data[machine - 1])).ExitCode);
        await nodes[machine].DisposeAsync();
        nodes.Remove(machine);
    }

    private static string Sample(string name)
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        var tests = bin.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(Path.GetDirectoryName(tests)!, "samples", name, "bin", bin.Parent!.Name, bin.Name, name + ".dll");
    }

    private const int Dirs = 36;

    [Fact]
    public async Task Three_machines_are_one_system_through_stops_deaths_and_a_whole_restart()
    {
        var (a, b, c) = (ClusterStatus.FreeAddress(), ClusterStatus.FreeAddress(), ClusterStatus.FreeAddress());
        await Boot(1, "--listen", a);
        var (_, token, _) = await FosCommand.Run("cluster", "token", "--data", data[0]);
        await Boot(2, "--listen", b, "--join", a, "--token", token.Single());
        await Boot(3, "--listen", c, "--join", a, "--token", token.Single());

        // Files written on m3 are read on m1 and m2 by the same paths, spread over every machine's
        // members. A directory's inode goes to a shard at random: with this many, the chance that
        // none lands on m2 (which the stop below needs) is below one in ten thousand.
        var host = Path.Combine(data[2], "hello.txt");
        await File.WriteAllTextAsync(host, "one system\n");
        await Shell(3, string.Join("; ", Enumerable.Range(1, Dirs).Select(d => $"mkdir /d{d}; put {host} /d{d}/x")));
        foreach (var reader in new[] { 1, 2 })
            Assert.Equal(string.Concat(Enumerable.Repeat("one system\n", Dirs)).TrimEnd('\n'),
                await Shell(reader, string.Join("; ", Enumerable.Range(1, Dirs).Select(d => $"cat /d{d}/x"))));
        var status = await Shell(1, "status");
        foreach (var m in new[] { "m2", "m3" }) Assert.Matches($@"(?m)^{m} .* up .* 2  fs mem proc name layout proxy$", status);

        // A program placed on m2 from m1, listed from m3 with its machine's core.
        var (code, output, error) = await FosCommand.Run("run", "--data", data[0], "--machine", "m2", Sample("wc"), "/d1/x");
        Assert.True(code == 0, error);
        Assert.Contains("/d1/x", Assert.Single(output));
        Assert.Matches(@"(?m)^\s+\d+\s+\S+\s+wc\s+m2\.c\d\s+exited", await Shell(3, "ps"));

        // m2 stops cleanly: its shards are unavailable, saying where; back when it boots again, with no token.
        await Stop(2);
        var during = await Shell(1, string.Join("; ", Enumerable.Range(1, Dirs).Select(d => $"cat /d{d}/x")), status: null);
        Assert.Contains("Input/output error", during);
        Assert.Contains("on m2, which does not answer", during);
        Assert.Contains("one system", during); // the other machines' shards serve on
        await Boot(2);
        Assert.Equal(Dirs, (await Shell(3, string.Join("; ", Enumerable.Range(1, Dirs).Select(d => $"cat /d{d}/x")))).Split('\n').Length);

        // The whole cluster stops, and boots again founder last: every file is back.
        foreach (var m in new[] { 1, 2, 3 }) await Stop(m);
        await Task.WhenAll(Boot(2), Boot(3));
        await Boot(1);
        Assert.Equal(Dirs, (await Shell(2, string.Join("; ", Enumerable.Range(1, Dirs).Select(d => $"cat /d{d}/x")))).Split('\n').Length);

        // m3 dies without a word: the others see it down within the bound, its names go, and they serve on.
        nodes[3].Signal(FosCommand.SigKill);
        var noticed = await ClusterStatus.Until(data[0], "m3", "down");
        Assert.True(noticed < TimeSpan.FromSeconds(10), $"m3 was seen down after {noticed.TotalSeconds:0.#} s");
        // Its names are withdrawn once it is seen down: status lists no servers of it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string status3;
        while (!System.Text.RegularExpressions.Regex.IsMatch(status3 = await Shell(1, "status"), @"(?m)^m3 .* down .* -\s+-$"))
            Assert.True(DateTime.UtcNow < deadline, $"m3's servers are still named:\n{status3}");
        Assert.Contains($"d{Dirs}/", await Shell(2, "ls /"));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in nodes.Values) await node.DisposeAsync();
        foreach (var directory in data)
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }
}
