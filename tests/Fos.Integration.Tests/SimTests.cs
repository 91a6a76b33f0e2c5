namespace Fos.Integration.Tests;

public class SimTests
{
    private static string Trace(IReadOnlyList<string> stdout)
    {
        var last = Assert.IsType<string>(stdout[^1]);
        Assert.Matches("^trace [0-9a-f]{64}$", last);
        return last;
    }

    [Theory]
    [InlineData("pingpong")]
    [InlineData("fanout")]
    [InlineData("faults")]
    public async Task The_same_seed_gives_the_same_trace_in_two_processes(string scenario)
    {
        var first = FosCommand.Run("sim", "--seed", "11", "--scenario", scenario);
        var second = FosCommand.Run("sim", "--seed", "11", "--scenario", scenario);
        var (a, b) = (await first, await second);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(0, b.ExitCode);
        Assert.Equal(Trace(a.Stdout), Trace(b.Stdout));
        Assert.Equal(a.Stdout, b.Stdout); // every figure of the run, not just the digest
    }

    [Fact]
    public async Task Two_seeds_give_two_traces()
    {
        var a = await FosCommand.Run("sim", "--seed", "1", "--scenario", "faults");
        var b = await FosCommand.Run("sim", "--seed", "2", "--scenario", "faults");
        Assert.NotEqual(Trace(a.Stdout), Trace(b.Stdout));
    }

    [Fact]
    public async Task Verbose_prints_every_delivered_message_before_the_digest()
    {
        var (code, stdout, _) = await FosCommand.Run("sim", "--seed", "3", "--scenario", "pingpong", "--verbose");
        Assert.Equal(0, code);
        Assert.True(stdout.Count > 2000, $"only {stdout.Count} lines");
        Trace(stdout);
    }

    [Theory]
    [InlineData("--scenario", "nosuch", "nosuch")]
    [InlineData("--seed", "-1", "-1")]
    [InlineData("--seed", "many", "many")]
    public async Task Bad_input_to_sim_exits_nonzero_and_says_what_is_wrong(string option, string value, string says)
    {
        var (code, stdout, stderr) = await FosCommand.Run("sim", option, value);
        Assert.NotEqual(0, code);
        Assert.Contains(says, stderr + string.Join('\n', stdout), StringComparison.Ordinal);
        Assert.DoesNotContain(stdout, l => l.StartsWith("trace ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_list_names_every_scenario()
    {
        var (code, stdout, _) = await FosCommand.Run("sim", "--list");
        Assert.Equal(0, code);
        foreach (var name in new[] { "pingpong", "fanout", "faults" })
            Assert.Contains(stdout, l => l.StartsWith(name, StringComparison.Ordinal));
    }
}
