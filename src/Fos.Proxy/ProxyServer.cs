using System.Buffers;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Kernel.Network;
using Fos.Protocols.Proxy;

namespace Fos.Proxy;

/// <summary>How long a proxy waits for what; the defaults are the real runtime's.</summary>
public sealed record ProxyTimings
{
    /// <summary>How often the proxy looks at its links (heartbeats, resends, silence).</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often an idle link is pinged (which also measures its round trip).</summary>
    public TimeSpan Ping { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a received message may wait for a message going back to carry its acknowledgement.</summary>
    public TimeSpan AckDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>With messages unacknowledged and no progress for this long, they are sent again.</summary>
    public TimeSpan Resend { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>A link silent this long is taken for broken and made again.</summary>
    public TimeSpan Reset { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A machine silent this long is down: calls to it fail until it is heard again.</summary>
    public TimeSpan Down { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>The most bytes of unacknowledged messages kept for one machine; past it, calls fail with Backpressure.</summary>
    public long MaxUnackedBytes { get; init; } = 256L << 20;
}

/// <summary>A proxy's mailboxes: the public one (<c>/sys/proxy</c>: status), boot's, and the outbound one every core of its machine sends through.</summary>
public sealed record ProxyEndpoints(Endpoint Public, Endpoint Admin, Endpoint Outbound);

/// <summary>
/// The cloud message proxy (<c>/sys/proxy</c>, one per machine): a core that sends to another
/// machine hands the message to this server's outbound mailbox; it numbers it, keeps it until the
/// other machine's proxy acknowledges it, and sends it over the link; the proxy there relays it to
/// its target core, whose kernel checks its capability as for any message. A link that breaks is
/// made again and what the other side had not acknowledged is sent again, so no message is lost,
/// none arrives twice, and messages between a pair of mailboxes keep their order. A machine not
/// heard from for <see cref="ProxyTimings.Down"/> is down: calls waiting on it and new ones fail
/// with <see cref="FosError.MachineDown"/>.
/// </summary>
/// <remarks>
/// Security: a message from a link must come from a core of the machine at the other end of that
/// link (the transport authenticates which machine that is) and be addressed to this machine; a
/// message handed to the outbound mailbox must name as its sender the core the kernel attests.
/// Anything else is refused and counted.
/// </remarks>
public sealed class ProxyServer : Server, ILinkEvents
{
    private readonly ProxyTimings timings;
    private readonly Dictionary<ushort, PeerLink> peers = [];
    private readonly ArrayBufferWriter<byte> scratch = new(4096);
    private readonly byte[] shortFrame = new byte[LinkFrame.ShortBytes];
    private ILinks? links;
    private CoreKernel? machineCore; // its name server is looked at when needed: the proxy may start before naming does
    private ulong incarnation;
    private Endpoint admin;
    private Endpoint outbound;
    private KernelTimer? ticker;
    private KernelTimer? ackTimer;
    private KernelTimer? flushTimer;
    private bool stopped;
    private long refused;

    private ProxyServer(ProxyTimings timings) => this.timings = timings;

    /// <summary>Starts the machine's proxy on <paramref name="kernel"/>'s core, its links opened.</summary>
    public static ProxyEndpoints Start(CoreKernel kernel, ProxyTimings? timings = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var server = new ProxyServer(timings ?? new ProxyTimings());
        var @public = kernel.StartServer(new ServerImage("proxy", () => server));
        server.admin = kernel.CreateMailbox(server.HandleAdmin);
        server.outbound = kernel.CreateMailbox(server.HandleOutbound, int.MaxValue);
        server.links = kernel.OpenLinks(server);
        server.incarnation = kernel.NextRandom() | 1;
        server.machineCore = kernel;
        server.ticker = kernel.StartTimer(server.timings.Tick, server.Tick);
        return new ProxyEndpoints(@public, server.admin, server.outbound);
    }

    private ILinks Links => links ?? throw new FosException(FosError.ShuttingDown, "the proxy has not opened its links");

    private long Now => (long)(Kernel.Now.Ticks * 100);

    protected override void OnStop()
    {
        stopped = true;
        ticker?.Cancel();
        ackTimer?.Cancel();
        foreach (var peer in peers.Values) links?.Forget(peer.Machine);
        foreach (var mailbox in new[] { admin, outbound })
        {
            try
            {
                Kernel.CloseMailbox(mailbox.Address);
            }
            catch (FosException)
            {
                // Closed with the core already.
            }
        }
    }

    /// <summary>The public mailbox: what anyone may ask.</summary>
    protected override ValueTask<object?> Handle(Message message) => Reply(message.Body switch
    {
        ProxyStatus => Status(),
        ProxyConnect or ProxyForget => Refuse(message, "it goes to the proxy's boot mailbox, not its public one"),
        _ => throw new FosException(FosError.BadRequest, $"the proxy does not understand {message.Body?.GetType().Name ?? "null"}"),
    });

    /// <summary>Boot's mailbox: which machines to reach.</summary>
    private ValueTask<object?> HandleAdmin(Message message)
    {
        message.RequireSystem(ref refused);
        switch (message.Body)
        {
            case ProxyConnect connect:
                foreach (var peer in connect.Peers) Connect(peer);
                return Reply(Ack.Instance);
            case ProxyForget forget:
                Forget(forget.Machine);
                return Reply(Ack.Instance);
            case ProxyStatus:
                return Reply(Status());
            default:
                throw new FosException(FosError.BadRequest, $"the proxy's boot mailbox does not understand {message.Body?.GetType().Name ?? "null"}");
        }
    }

    private object Refuse(Message message, string why)
    {
        refused++;
        throw new FosException(FosError.CapabilityRefused, $"the proxy refused {message.Body?.GetType().Name}: {why}");
    }

    private ProxyLinks Status() => new(Links.Machine, [.. peers.Values.OrderBy(p => p.Machine).Select(p => new ProxyLink(
        p.Machine, p.Address, p.State, p.RoundTripNanoseconds, p.Sent, p.ReceivedCount, p.Resent, p.Unacked.Count, p.Duplicates, p.OutOfOrder, p.Refused))], refused);

    private void Connect(ProxyPeer peer)
    {
        if (peer.Machine == Links.Machine) throw new FosException(FosError.BadRequest, $"m{peer.Machine} is this machine");
        if (string.IsNullOrWhiteSpace(peer.Address)) throw new FosException(FosError.BadRequest, $"m{peer.Machine} needs an address");
        if (peers.TryGetValue(peer.Machine, out var known))
        {
            if (known.Address == peer.Address) return;
            known.Address = peer.Address;
        }
        else
        {
            peers[peer.Machine] = new PeerLink(peer.Machine, peer.Address) { LastHeardNanoseconds = Now, LastProgressNanoseconds = Now };
        }
        Links.Connect(peer.Machine, peer.Address);
    }

    private void Forget(ushort machine)
    {
        if (!peers.Remove(machine, out var peer)) return;
        Links.Forget(machine);
        FailUnacked(peer, FosError.MachineDown, $"m{machine} left the cluster");
    }

    // ---- outbound ----------------------------------------------------------------------------

    /// <summary>A message from a core of this machine to a core of another.</summary>
    private ValueTask<object?> HandleOutbound(Message message)
    {
        if (message.Body is not RemoteEnvelope remote || remote.From != message.From)
        {
            // Only the runtime hands messages here, each naming its attested sender.
            refused++;
            return Reply(null);
        }
        SendRemote(remote.Envelope);
        return Reply(null);
    }

    /// <summary>Numbers, keeps and sends a message to another machine (or bounces it, saying why it cannot go).</summary>
    private void SendRemote(in Envelope envelope)
    {
        if (!peers.TryGetValue(envelope.To.Machine, out var peer))
        {
            Bounce(envelope, FosError.NoSuchCore, $"cannot reach {envelope.To}: m{envelope.To.Machine} is not a machine of this cluster");
            return;
        }
        if (peer.Lost || peer.Refusal is not null)
        {
            Bounce(envelope, FosError.MachineDown, $"cannot reach {envelope.To}: {Why(peer)}");
            return;
        }
        if (peer.UnackedBytes > timings.MaxUnackedBytes)
        {
            Bounce(envelope, FosError.Backpressure, $"the link to m{peer.Machine} holds {peer.UnackedBytes >> 20} MiB not yet acknowledged: slow down and retry");
            return;
        }
        byte[] frame;
        try
        {
            frame = LinkFrame.Data(peer.NextSeq, envelope, scratch);
        }
        catch (FosException ex) when (envelope.Kind is EnvelopeKind.Reply or EnvelopeKind.Fault)
        {
            // A reply that cannot cross machines goes as a fault saying why.
            frame = LinkFrame.Data(peer.NextSeq, new Envelope(EnvelopeKind.Fault, envelope.To, envelope.Capability, envelope.From,
                envelope.CorrelationId, new KernelFault(ex.Error, ex.Message, ex.Code)), scratch);
        }
        catch (FosException ex)
        {
            Bounce(envelope, ex.Error, $"cannot send {envelope.Body?.GetType().Name ?? "null"} to {envelope.To} on another machine: {ex.Message}");
            return;
        }
        var pending = new PeerLink.Pending(peer.NextSeq++, frame, envelope.Kind, envelope.From, envelope.To, envelope.CorrelationId);
        if (peer.Unacked.Count == 0) peer.LastProgressNanoseconds = Now;
        peer.Unacked.Enqueue(pending);
        peer.UnackedBytes += frame.Length;
        if (peer.Established) Transmit(peer, frame);
    }

    /// <summary>Queues a frame on a link and makes sure the link is flushed at the end of this turn of the core.</summary>
    private bool Send(ushort machine, ReadOnlySpan<byte> frame)
    {
        var sent = Links.Send(machine, frame);
        if (sent && flushTimer is null) flushTimer = Kernel.StartTimer(TimeSpan.Zero, FlushLinks);
        return sent;
    }

    private void FlushLinks()
    {
        flushTimer = null;
        Links.Flush();
    }

    private static string Why(PeerLink peer) => peer.Refusal ?? $"m{peer.Machine} is down (nothing heard from it for a while)";

    private void Transmit(PeerLink peer, byte[] frame)
    {
        LinkFrame.SetAck(frame, peer.Received);
        peer.AckSent = peer.Received;
        if (Send(peer.Machine, frame)) peer.Sent++;
    }

    /// <summary>
    /// A message that will not reach its target: a call's caller gets a fault from the target's
    /// address (which is what its kernel waits for); a one-way send is dropped, counted.
    /// </summary>
    private void Bounce(in Envelope envelope, FosError error, string why)
    {
        if (envelope.Kind != EnvelopeKind.Call)
        {
            refused++;
            return;
        }
        Kernel.Relay(new Envelope(EnvelopeKind.Fault, envelope.From.CoreId.Kernel, Capability.None, envelope.To, envelope.CorrelationId,
            new KernelFault(error, why)));
    }

    private void FailUnacked(PeerLink peer, FosError error, string why)
    {
        while (peer.Unacked.TryDequeue(out var pending))
        {
            if (pending.Kind == EnvelopeKind.Call)
                Kernel.Relay(new Envelope(EnvelopeKind.Fault, pending.From.CoreId.Kernel, Capability.None, pending.To, pending.Correlation,
                    new KernelFault(error, $"no answer from {pending.To}: {why}")));
        }
        peer.UnackedBytes = 0;
    }

    // ---- the links ---------------------------------------------------------------------------

    public void LinkUp(ushort machine)
    {
        if (stopped) return;
        if (!peers.TryGetValue(machine, out var peer))
        {
            // A machine that joined since this one was told of its peers: the link's transport vouched for it.
            peers[machine] = peer = new PeerLink(machine, "") { LastHeardNanoseconds = Now, LastProgressNanoseconds = Now };
        }
        peer.LinkOpen = true;
        peer.Established = false;
        SendHello(peer);
    }

    private void SendHello(PeerLink peer) =>
        Send(peer.Machine, LinkFrame.Hello(new LinkHello(LinkFrame.Version, SessionOf(peer), peer.PeerIncarnation, peer.Received, peer.Established)));

    public void LinkDown(ushort machine, string reason)
    {
        if (!peers.TryGetValue(machine, out var peer)) return;
        peer.LinkOpen = false;
        peer.Established = false;
    }

    public void Received(ushort machine, ReadOnlySpan<byte> frame)
    {
        if (stopped) return;
        if (!peers.TryGetValue(machine, out var peer))
        {
            refused++; // a machine this proxy was not told of
            return;
        }
        try
        {
            switch (LinkFrame.TypeOf(frame))
            {
                case LinkFrameType.Hello:
                    OnHello(peer, LinkFrame.ReadHello(frame));
                    break;
                case LinkFrameType.Data:
                    OnData(peer, frame);
                    break;
                case LinkFrameType.Ack:
                    OnAck(peer, LinkFrame.ReadShort(frame));
                    break;
                case LinkFrameType.Nack:
                    OnNack(peer, LinkFrame.ReadShort(frame));
                    break;
                case LinkFrameType.Ping:
                    Heard(peer);
                    LinkFrame.WriteShort(shortFrame, LinkFrameType.Pong, LinkFrame.ReadShort(frame));
                    Send(machine, shortFrame);
                    break;
                case LinkFrameType.Pong:
                    Heard(peer);
                    peer.RoundTripNanoseconds = Math.Max(0, Now - (long)LinkFrame.ReadShort(frame));
                    break;
            }
        }
        catch (FosException)
        {
            // A frame that is not one: counted, and the link goes on (its sender resends what it meant).
            peer.Refused++;
        }
    }

    private void Heard(PeerLink peer) => peer.LastHeardNanoseconds = Now;

    private void OnHello(PeerLink peer, LinkHello hello)
    {
        Heard(peer);
        if (Math.Abs(hello.Version - LinkFrame.Version) > 1)
        {
            peer.Refusal = $"m{peer.Machine} speaks link protocol {hello.Version} and this machine {LinkFrame.Version}: more than one version apart";
            FailUnacked(peer, FosError.MachineDown, peer.Refusal);
            return;
        }
        peer.Refusal = null;
        if (peer.PastIncarnations.Contains(hello.Incarnation)) return; // an old hello overtaken by a newer one
        if (peer.AwaitingSession)
        {
            // This side numbers anew: until the other side's hello shows it knows that, what it sends
            // is of the old numbering and is not taken.
            peer.PeerIncarnation = hello.Incarnation;
            if (hello.PeerIncarnation != SessionOf(peer))
            {
                SendHello(peer);
                return;
            }
            peer.AwaitingSession = false;
        }
        else if (peer.PeerIncarnation != 0 && peer.PeerIncarnation != hello.Incarnation)
        {
            // It restarted (or gave up what it sent and numbers anew): what it had of ours, and
            // what we had of it, went with its old numbering.
            FailUnacked(peer, FosError.MachineDown, $"m{peer.Machine} restarted");
            Renumber(peer);
            peer.PastIncarnations.Enqueue(peer.PeerIncarnation);
            if (peer.PastIncarnations.Count > 8) peer.PastIncarnations.Dequeue();
        }
        peer.PeerIncarnation = hello.Incarnation;
        peer.Lost = false;
        peer.Established = true;
        // It has not had our hello on this link (it was lost): until it does, it takes nothing from us.
        if (!hello.HasYours) SendHello(peer);
        // What it says it has of ours counts only if it knows this boot of ours.
        peer.Acknowledge(hello.PeerIncarnation == SessionOf(peer) ? hello.Received : 0, Now);
        peer.LastProgressNanoseconds = Now;
        ResendAll(peer);
    }

    private ulong SessionOf(PeerLink peer) => peer.Session != 0 ? peer.Session : incarnation;

    /// <summary>Both directions of the link start their numbers again at 1.</summary>
    private static void Renumber(PeerLink peer)
    {
        peer.NextSeq = 1;
        peer.Received = 0;
        peer.AckSent = 0;
        peer.Ahead.Clear();
    }

    private void ResendAll(PeerLink peer)
    {
        foreach (var pending in peer.Unacked)
        {
            Transmit(peer, pending.Frame);
            peer.Resent++;
        }
    }

    private void OnData(PeerLink peer, ReadOnlySpan<byte> frame)
    {
        if (!peer.Established)
        {
            peer.Refused++; // data before a hello on this link
            return;
        }
        Heard(peer);
        var (seq, ack) = LinkFrame.ReadDataHeader(frame);
        OnAck(peer, ack);
        if (seq <= peer.Received)
        {
            peer.Duplicates++; // sent again after a break or a resend: it was delivered once already
            AckSoon();
            return;
        }
        if (peer.Relaying.Count >= PeerLink.MaxRelaying)
        {
            // This machine's cores are not keeping up: take no more (and acknowledge none) until they do; the sender keeps it and sends it again.
            peer.OutOfOrder++;
            return;
        }
        if (seq != peer.Received + 1)
        {
            // A gap: an earlier one was lost or held back. Keep this one, and say at once where the hole is.
            peer.OutOfOrder++;
            if (peer.Ahead.Count < PeerLink.MaxAhead) peer.Ahead.TryAdd(seq, frame.ToArray());
            LinkFrame.WriteShort(shortFrame, LinkFrameType.Nack, peer.Received);
            Send(peer.Machine, shortFrame);
            return;
        }
        peer.Received = seq;
        peer.ReceivedCount++;
        Deliver(peer, frame);
        while (peer.Ahead.Remove(peer.Received + 1, out var next))
        {
            peer.Received++;
            peer.ReceivedCount++;
            Deliver(peer, next);
        }
        AckSoon();
    }

    /// <summary>The other side misses the message after <paramref name="received"/>: send it again, unless that was just done.</summary>
    private void OnNack(PeerLink peer, ulong received)
    {
        OnAck(peer, received);
        if (!peer.Established || !peer.Unacked.TryPeek(out var hole) || hole.Seq != received + 1) return;
        var now = Now;
        if (now - peer.LastHoleResendNanoseconds < Math.Max(2 * peer.RoundTripNanoseconds, 1_000_000)) return;
        peer.LastHoleResendNanoseconds = now;
        Transmit(peer, hole.Frame);
        peer.Resent++;
    }

    private void OnAck(PeerLink peer, ulong ack)
    {
        Heard(peer);
        if (ack >= peer.NextSeq)
        {
            peer.Refused++; // it cannot have received what was never sent
            return;
        }
        peer.Acknowledge(ack, Now);
    }

    /// <summary>A message from another machine, on to its target here (or refused, if it is not what it claims).</summary>
    private void Deliver(PeerLink peer, ReadOnlySpan<byte> frame)
    {
        var envelope = LinkFrame.ReadEnvelope(frame, out var bodyError);
        if (envelope.From.Machine != peer.Machine || envelope.To.Machine != Links.Machine)
        {
            peer.Refused++; // a machine speaks only for its own cores, and only to this one over this link
            return;
        }
        if (bodyError is not null)
        {
            // A message this build cannot read (a newer one's): the caller hears why; anything else is dropped, counted.
            peer.Refused++;
            if (envelope.Kind == EnvelopeKind.Call)
                SendRemote(new Envelope(EnvelopeKind.Fault, envelope.From.CoreId.Kernel, Capability.None, envelope.To, envelope.CorrelationId,
                    new KernelFault(FosError.BadRequest, $"m{Links.Machine} cannot read the message: {bodyError.Message}")));
            else if (envelope.Kind == EnvelopeKind.Reply)
                Kernel.Relay(new Envelope(EnvelopeKind.Fault, envelope.To, Capability.None, envelope.From, envelope.CorrelationId,
                    new KernelFault(FosError.BadRequest, $"the answer from {envelope.From} cannot be read here: {bodyError.Message}")));
            return;
        }
        if (peer.Relaying.Count > 0 || !TryRelay(peer, envelope))
        {
            // The way to its core is full: it waits here, behind any that wait already (order kept), and goes when there is room.
            peer.Relaying.Enqueue(envelope);
            DrainSoon();
        }
    }

    /// <summary>Relays a message to its core here; false when the path to that core is full (it was not sent).</summary>
    private bool TryRelay(PeerLink peer, in Envelope envelope)
    {
        try
        {
            Kernel.Relay(envelope);
        }
        catch (FosException ex) when (ex.Error == FosError.Backpressure)
        {
            return false;
        }
        catch (FosException)
        {
            peer.Refused++;
        }
        return true;
    }

    private KernelTimer? drainTimer;

    private void DrainSoon() => drainTimer ??= Kernel.StartTimer(TimeSpan.Zero, Drain);

    /// <summary>Relays what waited for room, in order, until a path is full again.</summary>
    private void Drain()
    {
        drainTimer = null;
        foreach (var peer in peers.Values)
        {
            while (peer.Relaying.TryPeek(out var waiting) && TryRelay(peer, waiting)) peer.Relaying.Dequeue();
            if (peer.Relaying.Count > 0) DrainSoon();
        }
    }

    private void AckSoon()
    {
        if (ackTimer is { Cancelled: false }) return;
        ackTimer = Kernel.StartTimer(timings.AckDelay, () =>
        {
            ackTimer = null;
            foreach (var peer in peers.Values)
                if (peer.Established && peer.Received > peer.AckSent) SendAck(peer);
        });
    }

    private void SendAck(PeerLink peer)
    {
        LinkFrame.WriteShort(shortFrame, LinkFrameType.Ack, peer.Received);
        peer.AckSent = peer.Received;
        Send(peer.Machine, shortFrame);
    }

    /// <summary>How long a proxy keeps trying to withdraw a lost machine's names (the directory may be choosing a new leader: the lost machine may have led it).</summary>
    private static readonly TimeSpan WithdrawPatience = TimeSpan.FromSeconds(30);

    private async Task Withdraw(Endpoint names, PeerLink peer)
    {
        var deadline = Kernel.Now + WithdrawPatience;
        while (peer.Lost && !stopped)
        {
            try
            {
                await Kernel.Call(names, new NameWithdrawMachine(peer.Machine));
                return;
            }
            catch (FosException) when (Kernel.Now < deadline)
            {
                await Kernel.Delay(timings.Tick); // no majority yet; a moment, and again while the machine stays lost
            }
            catch (FosException)
            {
                return; // this machine is the one cut off: the majority's proxies withdraw the other's names
            }
        }
    }

    // ---- time --------------------------------------------------------------------------------

    private void Tick()
    {
        if (stopped) return;
        var now = Now;
        foreach (var peer in peers.Values)
        {
            var silent = now - peer.LastHeardNanoseconds;
            if (!peer.Lost && silent > timings.Down.Ticks * 100)
            {
                peer.Lost = true;
                FailUnacked(peer, FosError.MachineDown, $"m{peer.Machine} is down: nothing heard from it for {timings.Down.TotalSeconds:0.#} s");
                // What was given up leaves a hole the other side would wait on for ever: when it is
                // heard again, both sides number anew (its old messages still on the way are not taken).
                peer.Session = Kernel.NextRandom() | 1;
                peer.AwaitingSession = true;
                peer.Established = false;
                Renumber(peer);
                // Its servers' names go, so lookups find members that answer (each machine's proxy
                // says so; the directory takes the same withdrawal once or twice alike).
                if (machineCore?.NameServer is { } names) _ = Withdraw(names, peer);
            }
            if (peer.LinkOpen && silent > timings.Reset.Ticks * 100 && now - peer.LastPingNanoseconds < silent)
            {
                // Pinged and still silent: the link is taken for broken and made again.
                peer.LinkOpen = false;
                peer.Established = false;
                Links.Forget(peer.Machine);
                Links.Connect(peer.Machine, peer.Address);
            }
            if (peer.LinkOpen && !peer.Established)
            {
                SendHello(peer); // ours may have been lost: until theirs comes, nothing else flows
                continue;
            }
            if (!peer.Established) continue;
            if (now - peer.LastPingNanoseconds >= timings.Ping.Ticks * 100)
            {
                peer.LastPingNanoseconds = now;
                LinkFrame.WriteShort(shortFrame, LinkFrameType.Ping, (ulong)now);
                Send(peer.Machine, shortFrame);
            }
            if (peer.Unacked.Count > 0 && now - peer.LastProgressNanoseconds > timings.Resend.Ticks * 100)
            {
                peer.LastProgressNanoseconds = now; // once per resend interval, not every tick
                ResendAll(peer);
            }
        }
        ticker = Kernel.StartTimer(timings.Tick, Tick);
    }
}
