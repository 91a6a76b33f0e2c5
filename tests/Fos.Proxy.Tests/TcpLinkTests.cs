using System.Collections.Concurrent;
using System.Net;
using Fos.Kernel;
using Fos.Protocols.Proxy;
using Fos.Proxy;
using Fos.Runtime;
using Fos.Runtime.Network;
using Fos.Services;

namespace Fos.Proxy.Tests;

/// <summary>
/// Real machines joined by real links: TCP on loopback with mutual TLS 1.3 and the cluster's own
/// certificates. A call crosses and comes back; a machine whose certificate is from another
/// cluster, or that claims to be another machine, is refused on both sides and said in the log;
/// a link that breaks is made again and nothing sent is lost.
/// </summary>
public sealed class TcpLinkTests : IAsyncDisposable
{
    private readonly List<Machine> machines = [];
    private readonly ConcurrentQueue<string> log = new();

    private static readonly ProxyTimings Quick = new() { Tick = TimeSpan.FromMilliseconds(20), Ping = TimeSpan.FromMilliseconds(50), Reset = TimeSpan.FromMilliseconds(400) };

    private Machine Start(ClusterIdentity identity, ushort id, int overflowLimit = 65_536)
    {
        var machine = Machine.Start(new MachineOptions
        {
            MachineId = id,
            Cores = 2,
            Identity = identity,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Log = line => log.Enqueue($"m{id}: {line}"),
            RingCapacity = overflowLimit < 65_536 ? 64 : 1024,
            OverflowLimit = overflowLimit,
        });
        machines.Add(machine);
        return machine;
    }

    /// <summary>Two machines, their proxies told of each other, an echo server on m2.</summary>
    private async Task<(Machine M1, Machine M2, ProxyEndpoints P1, ProxyEndpoints P2, Endpoint Echo)> Pair(ClusterIdentity one, ClusterIdentity two,
        int overflowLimit = 65_536)
    {
        var m1 = Start(one, one.Machine);
        var m2 = Start(two, two.Machine, overflowLimit);
        var p1 = await SystemBoot.StartProxy(m1, m1.Cores[0].Machine, Quick);
        var p2 = await SystemBoot.StartProxy(m2, m2.Cores[0].Machine, Quick);
        await SystemBoot.ConnectProxy(m1, p1, [new ProxyPeer(two.Machine, m2.Listening!.ToString())]);
        await SystemBoot.ConnectProxy(m2, p2, [new ProxyPeer(one.Machine, m1.Listening!.ToString())]);
        var echo = await m2.Execute(m2.Cores[1], k => Task.FromResult(k.CreateMailbox(message => ValueTask.FromResult(message.Body))));
        return (m1, m2, p1, p2, echo);
    }

    private static async Task<ProxyLink> Link(Machine machine, ProxyEndpoints proxy) =>
        Assert.Single((await machine.Execute(machine.Cores[0], k => k.Call<ProxyLinks>(proxy.Public, new ProxyStatus()).AsTask())).Links);

    /// <summary>Waits (with a deadline) until <paramref name="machine"/>'s link shows <paramref name="state"/>.</summary>
    private async Task<ProxyLink> Until(Machine machine, ProxyEndpoints proxy, string state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var link = await Link(machine, proxy);
            if (link.State == state) return link;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the link stayed {link}; the machines said:\n{string.Join("\n", log)}");
            await Task.Delay(10);
        }
    }

    /// <summary>Waits (with a deadline) until a line of the machines' log satisfies <paramref name="said"/>.</summary>
    private async Task Said(Func<string, bool> said)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!log.Any(said))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the machines did not say it; they said:\n{string.Join("\n", log)}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task A_call_crosses_a_tls_link_and_comes_back()
    {
        using var one = ClusterIdentity.CreateCluster(1);
        using var two = ClusterIdentity.Of(one.Authority, one.IssueFor(2));
        var (m1, m2, p1, p2, echo) = await Pair(one, two);
        await Until(m1, p1, "up");
        var answers = await m1.Execute(m1.Cores[1], async k =>
        {
            var all = new List<object?>();
            for (var i = 0; i < 100; i++) all.Add(await k.Call(echo, (long)i));
            return all;
        });
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (object?)(long)i), answers);
        var link = await Link(m1, p1);
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20); link.RoundTripNanoseconds == 0 && DateTime.UtcNow < deadline; link = await Link(m1, p1))
            await Task.Delay(10); // the first ping's answer measures it
        Assert.InRange(link.RoundTripNanoseconds, 1, 1_000_000_000);
        Assert.Equal(0, link.Refused);
    }

    [Fact]
    public async Task A_machine_from_another_cluster_is_refused_on_both_sides()
    {
        using var one = ClusterIdentity.CreateCluster(1);
        using var stranger = ClusterIdentity.CreateCluster(2); // its own authority: not this cluster's
        var (m1, _, p1, p2, _) = await Pair(one, stranger);
        await Said(l => l.StartsWith("m2: cannot reach m1", StringComparison.Ordinal));
        await Said(l => l.StartsWith("m1: refused a link", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("not from this cluster", StringComparison.Ordinal));
        Assert.Equal("connecting", (await Link(m1, p1)).State);
        var error = await Assert.ThrowsAsync<FosException>(() => m1.Execute(m1.Cores[1], k => k.Call(new Endpoint(new Address(2, 1, 1), new Capability(1, 1)), "x", TimeSpan.FromMilliseconds(300)).AsTask()));
        Assert.Equal(FosError.Timeout, error.Error);
    }

    [Fact]
    public async Task A_machine_whose_certificate_names_another_number_is_refused()
    {
        using var one = ClusterIdentity.CreateCluster(1);
        using var five = ClusterIdentity.Of(one.Authority, one.IssueFor(5));
        using var three = ClusterIdentity.Of(one.Authority, one.IssueFor(3)); // a real member, m3, reached as if it were m2
        var m5 = Start(five, 5);
        var m3 = Start(three, 3);
        var p5 = await SystemBoot.StartProxy(m5, 5, Quick);
        await SystemBoot.StartProxy(m3, 3, Quick);
        await SystemBoot.ConnectProxy(m5, p5, [new ProxyPeer(2, m3.Listening!.ToString())]);
        await Said(l => l.Contains("is m3, not m2", StringComparison.Ordinal));
        Assert.Equal("connecting", (await Link(m5, p5)).State);
    }

    [Fact]
    public async Task A_link_cut_under_traffic_is_made_again_and_nothing_is_lost_or_doubled()
    {
        using var one = ClusterIdentity.CreateCluster(1);
        using var two = ClusterIdentity.Of(one.Authority, one.IssueFor(2));
        var m1 = Start(one, 1);
        var m2 = Start(two, 2);
        var p1 = await SystemBoot.StartProxy(m1, 1, Quick);
        var p2 = await SystemBoot.StartProxy(m2, 2, Quick);
        await using var relay = new CuttableRelay(m1.Listening!);
        await SystemBoot.ConnectProxy(m1, p1, [new ProxyPeer(2, m2.Listening!.ToString())]);
        await SystemBoot.ConnectProxy(m2, p2, [new ProxyPeer(1, relay.Address.ToString())]); // m2 dials m1 through the relay
        var received = new ConcurrentQueue<long>();
        var sink = await m2.Execute(m2.Cores[1], k => Task.FromResult(k.CreateMailbox(message =>
        {
            received.Enqueue((long)message.Body!);
            return ValueTask.FromResult<object?>(null);
        })));
        await Until(m1, p1, "up");
        const int count = 20_000;
        var sending = m1.Execute(m1.Cores[1], async k =>
        {
            for (var i = 1; i <= count; i++)
            {
                k.Send(sink, (long)i);
                if (i % 100 == 0) await k.Delay(TimeSpan.FromMilliseconds(2)); // spread over the cuts
            }
            return true;
        });
        for (var cut = 1; cut <= 3; cut++)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (received.Count < cut * count / 4 && DateTime.UtcNow < deadline) await Task.Delay(2); // cut in the middle of the traffic
            relay.Cut();
            await Until(m1, p1, "connecting");
            await Until(m1, p1, "up");
        }
        await sending;
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (received.Count < count && DateTime.UtcNow < end) await Task.Delay(10);
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), received);
        var link = await Link(m1, p1);
        Assert.True(link.Resent > 0 || link.Sent > count, $"frames were sent again after the cuts ({link})");
    }

    [Fact]
    public async Task A_flood_faster_than_the_target_core_takes_it_waits_in_the_proxy_and_loses_nothing()
    {
        using var one = ClusterIdentity.CreateCluster(1);
        using var two = ClusterIdentity.Of(one.Authority, one.IssueFor(2));
        var (m1, m2, p1, _, _) = await Pair(one, two, overflowLimit: 64); // m2's cores hold little between them: its proxy meets a full path soon
        var received = 0L;
        var sink = await m2.Execute(m2.Cores[1], k => Task.FromResult(k.CreateMailbox(message =>
        {
            if (message.IsCall) return ValueTask.FromResult<object?>(Interlocked.Read(ref received));
            Interlocked.Increment(ref received);
            Thread.SpinWait(200); // slower than the link: what arrives must wait somewhere
            return ValueTask.FromResult<object?>(null);
        }, capacity: int.MaxValue)));
        await Until(m1, p1, "up");
        const long count = 50_000;
        var counted = await m1.Execute(m1.Cores[1], async k =>
        {
            for (var sent = 0L; sent < count; sent++)
            {
                while (true)
                {
                    try
                    {
                        k.Send(sink, null);
                        break;
                    }
                    catch (FosException ex) when (ex.Error == FosError.Backpressure)
                    {
                        await k.Delay(TimeSpan.Zero);
                    }
                }
                if (sent % 64 == 63) await Task.Yield();
            }
            while (true)
            {
                try
                {
                    return await k.Call<long>(sink, null, TimeSpan.FromSeconds(30)); // FIFO: it counts every send before it
                }
                catch (FosException ex) when (ex.Error == FosError.Backpressure)
                {
                    await k.Delay(TimeSpan.Zero);
                }
            }
        }, TimeSpan.FromMinutes(2));
        Assert.Equal(count, counted);
        Assert.Equal(0, (await Link(m1, p1)).Refused);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var machine in machines) await machine.DisposeAsync();
    }
}
