using Fos.Scenarios;

namespace Fos.Scenarios.Tests;

public class ScenarioDeterminismTests
{
    public static TheoryData<string> Shipped
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var scenario in SimScenarios.All) data.Add(scenario.Name);
            return data;
        }
    }

    [Fact]
    public void The_simulator_ships_the_pingpong_fanout_and_faults_scenarios()
    {
        Assert.Equal(["pingpong", "fanout", "faults", "cluster"], SimScenarios.All.Select(s => s.Name));
        Assert.All(SimScenarios.All, s => Assert.Same(s, SimScenarios.Find(s.Name)));
    }

    [Theory]
    [MemberData(nameof(Shipped))]
    public async Task The_same_seed_gives_the_same_trace(string name)
    {
        var scenario = SimScenarios.Find(name);

        var first = await scenario.Run(seed: 42);
        var second = await scenario.Run(seed: 42);

        Assert.Equal(name, first.Scenario);
        Assert.Equal(42UL, first.Seed);
        Assert.Matches("^[0-9a-f]{64}$", first.TraceDigest);
        Assert.StartsWith(name + ":", first.Summary);
        Assert.Empty(first.Faults);
        Assert.True(first.Delivered > 0, "the scenario delivered no message");
        Assert.Equal(first.TraceDigest, second.TraceDigest);
        Assert.Equal(first.Summary, second.Summary);
        Assert.Equal(first.VirtualTime, second.VirtualTime);
        Assert.Equal(first.Delivered, second.Delivered);
    }

    [Theory]
    [InlineData("pingpong")]
    [InlineData("faults")]
    public async Task Different_seeds_give_different_traces(string name)
    {
        var scenario = SimScenarios.Find(name);

        var one = await scenario.Run(seed: 1);
        var two = await scenario.Run(seed: 2);

        Assert.NotEqual(one.TraceDigest, two.TraceDigest);
    }

    [Fact]
    public async Task A_fault_run_is_reproduced_by_its_seed()
    {
        var scenario = SimScenarios.Find("faults");

        var first = await scenario.Run(seed: 9, keepLog: true);
        var again = await scenario.Run(seed: 9, keepLog: true);

        // The faults really happened...
        Assert.True(first.Dropped > 0, "no message was dropped");
        Assert.True(first.Duplicated > 0, "no message was duplicated");
        Assert.True(first.Delayed > 0, "no message was delayed");
        Assert.True(first.LostToCrash > 0, "no message was lost to the crashed core");
        Assert.Contains(first.Log, line => line.EndsWith(" crash core m1.c3", StringComparison.Ordinal));
        Assert.Contains(first.Log, line => line.EndsWith(" crash server m1.c2.b1", StringComparison.Ordinal));
        Assert.Contains(first.Log, line => line.Contains(" drop ", StringComparison.Ordinal));
        // ...and the seed brought every one of them back, in the same order.
        Assert.Equal(first.Dropped, again.Dropped);
        Assert.Equal(first.Duplicated, again.Duplicated);
        Assert.Equal(first.Delayed, again.Delayed);
        Assert.Equal(first.LostToCrash, again.LostToCrash);
        Assert.Equal(first.Delivered, again.Delivered);
        Assert.Equal(first.Summary, again.Summary);
        Assert.Equal(first.TraceDigest, again.TraceDigest);
        Assert.Equal(first.Log, again.Log);
    }

    [Fact]
    public async Task Keeping_the_log_does_not_change_the_run()
    {
        var scenario = SimScenarios.Find("pingpong");

        var quiet = await scenario.Run(seed: 5);
        var logged = await scenario.Run(seed: 5, keepLog: true);

        Assert.Empty(quiet.Log);
        Assert.Equal(quiet.TraceDigest, logged.TraceDigest);
        // Without faults the log holds exactly one line per delivered message.
        Assert.Equal(logged.Delivered, logged.Log.Count);
        Assert.Matches(@"^\d+ Call m1\.c0\.b0>m1\.c15\.b1 #\d+ \d+$", logged.Log[^2]);
        Assert.Matches(@"^\d+ Reply m1\.c15\.b1>m1\.c0\.b0 #\d+ \d+$", logged.Log[^1]);
    }

    [Fact]
    public void An_unknown_scenario_is_refused_with_the_list_of_scenarios()
    {
        var error = Assert.Throws<ArgumentException>(() => SimScenarios.Find("nope"));

        Assert.Equal("name", error.ParamName);
        Assert.Contains("'nope'", error.Message);
        Assert.Contains("pingpong, fanout, faults", error.Message);
    }
}
