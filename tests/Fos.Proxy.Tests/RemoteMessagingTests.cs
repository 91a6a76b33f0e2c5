using Fos.Kernel;
using Fos.Protocols.Proxy;
using Fos.Simulation;

namespace Fos.Proxy.Tests;

/// <summary>
/// Messages between machines through their proxies, in the simulator: a call to another machine
/// is the same call as to the next core; over a network that drops, duplicates and reorders, every
/// message arrives once and in order; a cut heals without loss; a machine that dies is reported
/// down within a bounded time; and a run is the same run for the same seed.
/// </summary>
public sealed class RemoteMessagingTests
{
    private static readonly FaultPlan Lossy = new() { DropRate = 0.05, DuplicateRate = 0.05, DelayRate = 0.2, MaxExtraDelay = TimeSpan.FromMilliseconds(2) };

    [Fact]
    public async Task A_call_to_another_machine_is_answered_through_both_proxies()
    {
        var cluster = await Cluster.Boot();
        var start = cluster.System.NowNanoseconds;
        var answer = await cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[2], "hello from m1").AsTask());
        var took = cluster.System.NowNanoseconds - start;
        Assert.Equal("hello from m1", answer);
        var network = cluster.System.Options.Latency.NetworkNanoseconds;
        Assert.InRange(took, 2 * network, 4 * network); // there and back, and a few hops on each chip
        var links = await cluster.On(Cluster.Core(1, 0), k => k.Call<ProxyLinks>(cluster.Proxies[1].Public, new ProxyStatus()).AsTask());
        var link = Assert.Single(links.Links);
        Assert.Equal((2, "up"), (link.Machine, link.State));
        Assert.True(link.Sent >= 1 && link.Received >= 1);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public async Task Over_a_lossy_network_every_message_arrives_once_and_in_order(ulong seed)
    {
        var cluster = await Cluster.Boot(machines: 3, seed: seed, faults: Lossy);
        const int count = 300;
        // Two senders on different machines, each its own stream into the sink on m2.
        foreach (var machine in new ushort[] { 1, 3 })
            await cluster.On(Cluster.Core(machine, 1), k =>
            {
                for (var i = 1; i <= count; i++) k.Send(cluster.Sink[2], (long)(machine * 100_000 + i));
                return Task.FromResult(true);
            });
        var calls = await cluster.On(Cluster.Core(1, 1), async k =>
        {
            var answers = new List<object?>();
            for (var i = 0; i < 50; i++) answers.Add(await k.Call(cluster.Echo[3], (long)i));
            return answers;
        });
        cluster.System.RunFor(TimeSpan.FromSeconds(2)); // resends after losses settle
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (object?)(long)i), calls);
        foreach (var machine in new ushort[] { 1, 3 })
        {
            var stream = cluster.Sunk[2].Where(m => m.From.Machine == machine).Select(m => (long)m.Body!).ToList();
            Assert.Equal(Enumerable.Range(1, count).Select(i => (long)(machine * 100_000 + i)), stream);
        }
        Assert.True(cluster.System.LinkFrames.Dropped > 0, "the network dropped frames (the test would prove nothing otherwise)");
    }

    [Fact]
    public async Task A_partition_that_heals_in_time_loses_nothing()
    {
        var cluster = await Cluster.Boot();
        cluster.System.Partition(1, 2);
        await cluster.On(Cluster.Core(1, 1), k =>
        {
            for (var i = 1; i <= 20; i++) k.Send(cluster.Sink[2], (long)i);
            return Task.FromResult(true);
        });
        cluster.System.RunFor(TimeSpan.FromMilliseconds(1500)); // cut for longer than a link is given (1 s), less than a machine (2.5 s)
        Assert.Empty(cluster.Sunk[2]);
        cluster.System.Heal(1, 2);
        cluster.System.RunFor(TimeSpan.FromMilliseconds(500));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (object?)(long)i), cluster.Sunk[2].Select(m => m.Body));
        Assert.Equal("ok", await cluster.On(Cluster.Core(2, 1), k => k.Call(cluster.Echo[1], "ok").AsTask()));
    }

    [Fact]
    public async Task After_a_partition_longer_than_a_machine_is_given_both_sides_number_anew_and_talk_again()
    {
        var cluster = await Cluster.Boot();
        await cluster.On(Cluster.Core(1, 1), k =>
        {
            for (var i = 1; i <= 5; i++) k.Send(cluster.Sink[2], (long)i);
            return Task.FromResult(true);
        });
        cluster.System.RunFor(TimeSpan.FromMilliseconds(100));
        cluster.System.Partition(1, 2);
        // Sent into the cut, both ways: given up once each side takes the other for down.
        await cluster.On(Cluster.Core(1, 1), k =>
        {
            for (var i = 6; i <= 10; i++) k.Send(cluster.Sink[2], (long)i);
            return Task.FromResult(true);
        });
        await cluster.On(Cluster.Core(2, 1), k =>
        {
            for (var i = 1; i <= 5; i++) k.Send(cluster.Sink[1], (long)i);
            return Task.FromResult(true);
        });
        var lost = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[2], "cut", TimeSpan.FromSeconds(30)).AsTask()));
        Assert.Equal(FosError.MachineDown, lost.Error);
        cluster.System.Heal(1, 2);
        cluster.System.RunFor(TimeSpan.FromSeconds(1));
        // The hole left by what was given up does not stop what comes after, either way.
        Assert.Equal("again", await cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[2], "again", TimeSpan.FromSeconds(10)).AsTask()));
        Assert.Equal("back", await cluster.On(Cluster.Core(2, 1), k => k.Call(cluster.Echo[1], "back", TimeSpan.FromSeconds(10)).AsTask()));
        await cluster.On(Cluster.Core(1, 1), k =>
        {
            for (var i = 11; i <= 15; i++) k.Send(cluster.Sink[2], (long)i);
            return Task.FromResult(true);
        });
        cluster.System.RunFor(TimeSpan.FromMilliseconds(500));
        var arrived = cluster.Sunk[2].Select(m => (long)m.Body!).ToList();
        Assert.Equal([1, 2, 3, 4, 5], arrived.Take(5));
        Assert.Equal([11, 12, 13, 14, 15], arrived.Skip(arrived.Count - 5));
        Assert.Equal(arrived.Order(), arrived); // in order, none twice
        Assert.Equal(arrived.Count, arrived.Distinct().Count());
    }

    [Fact]
    public async Task Calls_to_a_machine_that_died_fail_as_machine_down_within_three_seconds()
    {
        var cluster = await Cluster.Boot(machines: 3);
        cluster.System.CrashMachine(2);
        var start = cluster.System.Now;
        var error = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[2], "anyone?", TimeSpan.FromSeconds(30)).AsTask()));
        Assert.Equal(FosError.MachineDown, error.Error);
        Assert.Contains("m2", error.Message);
        Assert.True(cluster.System.Now - start < TimeSpan.FromSeconds(3), $"noticed after {cluster.System.Now - start}");
        // A new call fails at once; the rest of the cluster serves on.
        var again = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[2], "still?").AsTask()));
        Assert.Equal(FosError.MachineDown, again.Error);
        Assert.Equal("yes", await cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[3], "yes").AsTask()));
        var links = await cluster.On(Cluster.Core(1, 0), k => k.Call<ProxyLinks>(cluster.Proxies[1].Public, new ProxyStatus()).AsTask());
        Assert.Equal(["down", "up"], links.Links.Select(l => l.State));
    }

    [Fact]
    public async Task A_machine_not_in_the_cluster_is_a_clear_error()
    {
        var cluster = await Cluster.Boot();
        var error = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1),
            k => k.Call(new Endpoint(new Address(9, 0, 1), new Capability(1, 2)), "x").AsTask()));
        Assert.Equal(FosError.NoSuchCore, error.Error);
        Assert.Contains("m9 is not a machine of this cluster", error.Message);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_run()
    {
        async Task<string> Run()
        {
            var cluster = await Cluster.Boot(machines: 3, seed: 42, faults: Lossy);
            await cluster.On(Cluster.Core(1, 1), async k =>
            {
                for (var i = 0; i < 30; i++)
                {
                    k.Send(cluster.Sink[3], (long)i);
                    await k.Call(cluster.Echo[2], (long)i);
                }
                return true;
            });
            cluster.System.RunFor(TimeSpan.FromSeconds(1));
            return cluster.System.TraceDigest;
        }
        Assert.Equal(await Run(), await Run());
    }
}
