using System.Buffers;
using Fos.Kernel;
using Fos.Kernel.Network;
using Fos.Protocols.Proxy;

namespace Fos.Proxy.Tests;

/// <summary>
/// What a broken or hostile peer, or careless code on the machine itself, sends a proxy: frames
/// that are not frames, a message claiming to come from a third machine's core, a message to
/// another machine than the one it reached, a forged hand-over, boot messages on the public
/// mailbox. Each is refused and counted, and the proxy serves on.
/// </summary>
public sealed class HostileLinkTests
{
    private static readonly ArrayBufferWriter<byte> Scratch = new();

    private static async Task<ProxyLinks> Status(Cluster cluster, ushort machine) =>
        await cluster.On(Cluster.Core(machine, 0), k => k.Call<ProxyLinks>(cluster.Proxies[machine].Public, new ProxyStatus()).AsTask());

    private static byte[] DataFrame(ulong seq, Envelope envelope) => LinkFrame.Data(seq, envelope, Scratch);

    [Fact]
    public async Task Garbage_frames_from_a_peer_are_counted_and_the_link_serves_on()
    {
        var cluster = await Cluster.Boot();
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var frame = new byte[random.Next(0, 120)];
            random.NextBytes(frame);
            if (frame.Length > 0 && i % 2 == 0) frame[0] = (byte)random.Next(1, 7); // a known type, wrong contents
            cluster.System.InjectLinkFrame(1, 2, frame);
        }
        cluster.System.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.Equal("still", await cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[2], "still").AsTask()));
        Assert.Equal("fine", await cluster.On(Cluster.Core(2, 1), k => k.Call(cluster.Echo[1], "fine").AsTask()));
        var link = Assert.Single((await Status(cluster, 2)).Links);
        Assert.True(link.Refused > 0, "the garbage was counted");
        Assert.Empty(cluster.System.Faults);
    }

    [Fact]
    public async Task A_message_claiming_a_third_machines_core_or_bound_elsewhere_is_refused()
    {
        var cluster = await Cluster.Boot(machines: 3);
        var before = Assert.Single((await Status(cluster, 2)).Links, l => l.Machine == 1);
        // Numbered as the next message on the m1 -> m2 link, so only its claims can refuse it.
        var next = (ulong)before.Received + 1;
        cluster.System.InjectLinkFrame(1, 2, DataFrame(next, new Envelope(EnvelopeKind.Send, cluster.Sink[2].Address, cluster.Sink[2].Capability,
            new Address(3, 1, 1), 0, (long)666)));
        cluster.System.InjectLinkFrame(1, 2, DataFrame(next + 1, new Envelope(EnvelopeKind.Send, cluster.Sink[3].Address, cluster.Sink[3].Capability,
            new Address(1, 1, 1), 0, (long)667)));
        cluster.System.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.DoesNotContain(cluster.Sunk[2], m => m.Body is 666L);
        Assert.DoesNotContain(cluster.Sunk[3], m => m.Body is 667L);
        var after = Assert.Single((await Status(cluster, 2)).Links, l => l.Machine == 1);
        Assert.Equal(before.Refused + 2, after.Refused);
    }

    [Fact]
    public async Task A_peer_one_protocol_version_apart_talks_and_one_two_apart_is_refused_with_the_reason()
    {
        var cluster = await Cluster.Boot(machines: 3);
        // m1 greets m2 again as a build one version newer, whose hello says more than this one's: the link goes on.
        cluster.System.InjectLinkFrame(1, 2, [.. LinkFrame.Hello(new LinkHello((ushort)(LinkFrame.Version + 1), 0xabc, 0, 0, HasYours: true)), 1, 2, 3, 4]);
        cluster.System.RunFor(TimeSpan.FromMilliseconds(5));
        Assert.Equal("up", Assert.Single((await Status(cluster, 2)).Links, l => l.Machine == 1).State);
        // m3 greets m2 as a build two versions newer: refused, and calls to it say why.
        cluster.System.InjectLinkFrame(3, 2, LinkFrame.Hello(new LinkHello((ushort)(LinkFrame.Version + 2), 0xdef, 0, 0, HasYours: true)));
        cluster.System.RunFor(TimeSpan.FromMilliseconds(5));
        Assert.Equal("refused", Assert.Single((await Status(cluster, 2)).Links, l => l.Machine == 3).State);
        var error = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(2, 1), k => k.Call(cluster.Echo[3], "x").AsTask()));
        Assert.Equal(FosError.MachineDown, error.Error);
        Assert.Contains("more than one version apart", error.Message);
    }

    [Fact]
    public async Task A_call_whose_body_this_build_cannot_read_is_answered_with_the_reason()
    {
        var cluster = await Cluster.Boot(machines: 3);
        var before = Assert.Single((await Status(cluster, 2)).Links, l => l.Machine == 1);
        var frame = DataFrame((ulong)before.Received + 1, new Envelope(EnvelopeKind.Call, cluster.Echo[2].Address, cluster.Echo[2].Capability,
            new Address(1, 1, 0), 424242, "a body"));
        // The body's type id becomes one no build has registered (a newer build's message).
        frame[LinkFrame.DataHeaderBytes + Fos.Protocols.Wire.EnvelopeFrame.HeaderBytes] = 0xff;
        frame[LinkFrame.DataHeaderBytes + Fos.Protocols.Wire.EnvelopeFrame.HeaderBytes + 1] = 0xfe;
        var lateBefore = cluster.System.Kernel(Cluster.Core(1, 1)).Stats.LateReplies;
        cluster.System.InjectLinkFrame(1, 2, frame);
        cluster.System.RunFor(TimeSpan.FromMilliseconds(5));
        Assert.Equal(before.Refused + 1, Assert.Single((await Status(cluster, 2)).Links, l => l.Machine == 1).Refused);
        // The fault went back to the caller's kernel (which waits on no such call here, and counts it).
        Assert.Equal(lateBefore + 1, cluster.System.Kernel(Cluster.Core(1, 1)).Stats.LateReplies);
        // (The frame took a number m1 never sent, so m1's own next one now reads as a repeat: a
        // machine that sends nonsense harms only its own messages.) m2 serves the others on.
        Assert.Equal("still", await cluster.On(Cluster.Core(3, 1), k => k.Call(cluster.Echo[2], "still").AsTask()));
    }

    [Fact]
    public async Task A_message_with_a_wrong_capability_crosses_but_is_refused_by_its_target_kernel()
    {
        var cluster = await Cluster.Boot();
        var forged = new Endpoint(cluster.Echo[2].Address, new Capability(1, 2));
        var error = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k => k.Call(forged, "let me in").AsTask()));
        Assert.Equal(FosError.CapabilityRefused, error.Error);
        Assert.Equal(1, cluster.System.Kernel(Cluster.Core(2, 1)).Stats.RefusedCapability);
    }

    [Fact]
    public async Task A_hand_over_that_names_another_sender_is_refused()
    {
        var cluster = await Cluster.Boot();
        var outbound = cluster.Proxies[1].Outbound;
        await cluster.On(Cluster.Core(1, 1), k =>
        {
            // Code on m1.c1 hands the proxy a message that claims m1.c0 sent it.
            k.Send(outbound, new RemoteEnvelope(EnvelopeKind.Send, cluster.Sink[2].Address, cluster.Sink[2].Capability, new Address(1, 0, 0), 0, (long)5));
            return Task.FromResult(true);
        });
        cluster.System.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.Empty(cluster.Sunk[2]);
        Assert.Equal(1, (await Status(cluster, 1)).Refused);
    }

    [Fact]
    public async Task Boot_messages_on_the_public_mailbox_are_refused()
    {
        var cluster = await Cluster.Boot();
        var error = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1),
            k => k.Call(cluster.Proxies[1].Public, new ProxyConnect([new ProxyPeer(7, "evil:1")])).AsTask()));
        Assert.Equal(FosError.CapabilityRefused, error.Error);
        Assert.DoesNotContain((await Status(cluster, 1)).Links, l => l.Machine == 7);
    }

    [Fact]
    public async Task Relay_takes_only_messages_from_another_machine_to_this_one()
    {
        var cluster = await Cluster.Boot();
        var local = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k =>
        {
            k.Relay(new Envelope(EnvelopeKind.Send, cluster.Sink[1].Address, cluster.Sink[1].Capability, new Address(1, 0, 0), 0, (long)1));
            return Task.FromResult(true);
        }));
        var elsewhere = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k =>
        {
            k.Relay(new Envelope(EnvelopeKind.Send, cluster.Sink[2].Address, cluster.Sink[2].Capability, new Address(3, 0, 0), 0, (long)1));
            return Task.FromResult(true);
        }));
        Assert.Equal((FosError.CapabilityRefused, FosError.CapabilityRefused), (local.Error, elsewhere.Error));
        cluster.System.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.Empty(cluster.Sunk[1]);
        Assert.Empty(cluster.Sunk[2]);
    }

    [Fact]
    public async Task A_body_that_cannot_cross_machines_fails_its_call_with_the_reason()
    {
        var cluster = await Cluster.Boot();
        var error = await Assert.ThrowsAsync<FosException>(() => cluster.On(Cluster.Core(1, 1), k => k.Call(cluster.Echo[2], new object()).AsTask()));
        Assert.Equal(FosError.BadRequest, error.Error);
        Assert.Contains("another machine", error.Message);
    }
}
