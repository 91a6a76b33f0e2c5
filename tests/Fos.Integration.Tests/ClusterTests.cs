namespace Fos.Integration.Tests;

/// <summary>
/// Machines as separate processes joined over loopback, driven as a user would: the first boot
/// with --listen makes a cluster, `fos cluster token` prints a token, a second machine joins with
/// it, `fos status` on each shows the other up; a wrong token is refused on both sides; a machine
/// that restarts on its data directory comes back without a token; a machine killed with SIGKILL
/// shows as down.
/// </summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private readonly string first = Path.Combine(Path.GetTempPath(), "fos-c1-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string second = Path.Combine(Path.GetTempPath(), "fos-c2-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<FosCommand> nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task<FosCommand> Boot(params string[] args)
    {
        var node = FosCommand.Start(["boot", "--headless", "--cores", "2", .. args]);
        nodes.Add(node);
        await node.WaitForLine("fos is up", FosCommand.Deadline);
        return node;
    }

    [Fact]
    public async Task A_machine_joins_with_a_token_restarts_without_one_and_is_seen_down_when_killed()
    {
        var (a, b) = (ClusterStatus.FreeAddress(), ClusterStatus.FreeAddress());
        var seed = await Boot("--data", first, "--listen", a);
        Assert.Contains(seed.Stdout, l => l.Contains("made a new cluster", StringComparison.Ordinal));
        var (code, token, error) = await FosCommand.Run("cluster", "token", "--data", first, "--ttl", "10m");
        Assert.True(code == 0, error);
        Assert.Contains($"fos boot --join {a}", error);

        var joined = await Boot("--data", second, "--listen", b, "--join", a, "--token", token.Single());
        Assert.Contains(joined.Stdout, l => l.Contains("joined as m2", StringComparison.Ordinal));
        await ClusterStatus.Until(first, "m2", "up");
        await ClusterStatus.Until(second, "m1", "up");

        // A restart on its data directory needs no token.
        Assert.Equal(0, (await FosCommand.Run("stop", "--data", second)).ExitCode);
        var again = await Boot("--data", second);
        Assert.DoesNotContain(again.Stdout, l => l.Contains("joining", StringComparison.Ordinal));
        await ClusterStatus.Until(second, "m1", "up");

        // The first machine dies without a word: the other sees it down.
        seed.Signal(FosCommand.SigKill);
        var noticed = await ClusterStatus.Until(second, "m1", "down");
        Assert.True(noticed < TimeSpan.FromSeconds(15), $"m1 was seen down after {noticed.TotalSeconds:0.#} s");
    }

    [Fact]
    public async Task A_wrong_token_is_refused_on_both_sides_and_the_cluster_serves_on()
    {
        var (a, b) = (ClusterStatus.FreeAddress(), ClusterStatus.FreeAddress());
        var seed = await Boot("--data", first, "--listen", a);
        var (_, token, _) = await FosCommand.Run("cluster", "token", "--data", first);
        var forged = token.Single()[..^4] + (token.Single().EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        var (code, _, error) = await FosCommand.Run("boot", "--headless", "--data", second, "--listen", b, "--join", a, "--token", forged);
        Assert.Equal(1, code);
        Assert.Contains("refused to admit this machine", error);
        Assert.Contains("not issued by this cluster", error);
        Assert.Contains("refused a machine joining", seed.Stderr);
        Assert.False(Directory.Exists(Path.Combine(second, "cluster")), "a refused machine keeps no identity");

        var (garbled, _, said) = await FosCommand.Run("boot", "--headless", "--data", second, "--listen", b, "--join", a, "--token", "not-a-token");
        Assert.Equal((1, true), (garbled, said.Contains("not a fos join token", StringComparison.Ordinal)));
        var (noListen, _, why) = await FosCommand.Run("boot", "--headless", "--data", second, "--join", a, "--token", token.Single());
        Assert.Equal((1, true), (noListen, why.Contains("--join needs --listen", StringComparison.Ordinal)));
        var (notSeed, _, whyNot) = await FosCommand.Run("cluster", "token", "--data", second);
        Assert.Equal((1, true), (notSeed, whyNot.Contains("holds no cluster", StringComparison.Ordinal)));
        var (badTtl, _, _) = await FosCommand.Run("cluster", "token", "--data", first, "--ttl", "forever");
        Assert.Equal(1, badTtl);
        var (badListen, _, listenError) = await FosCommand.Run("boot", "--headless", "--data", second, "--listen", "nonsense");
        FosCommand.AssertOneClearLine(listenError, "boot", "'nonsense' is not HOST:PORT");
        Assert.Equal(1, badListen);
        var (loneToken, _, loneError) = await FosCommand.Run("boot", "--headless", "--data", second, "--token", token.Single());
        FosCommand.AssertOneClearLine(loneError, "boot", "--token goes with --join");
        Assert.Equal(1, loneToken);

        var (noNode, _, noNodeError) = await FosCommand.Run("status", "--data", Path.Combine(second, "never-booted"));
        FosCommand.AssertOneClearLine(noNodeError, "status", "no fos node is running");
        Assert.Equal(1, noNode);

        var (status, lines, _) = await FosCommand.Run("status", "--data", first);
        Assert.Equal(0, status);
        Assert.Contains(lines, l => l.StartsWith("m1 ", StringComparison.Ordinal) && l.Contains("this", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in nodes) await node.DisposeAsync();
        foreach (var data in new[] { first, second })
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
