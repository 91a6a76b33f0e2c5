using Fos.Kernel;

namespace Fos.Proxy;

/// <summary>
/// What a proxy knows of one other machine: the state of the link to it, the messages it sent that
/// the other side has not acknowledged (kept, in order, to send again after a break), how many of
/// the other side's messages it has received in order (so a duplicate or a gap is seen), and the
/// counters <c>fos status</c> shows. Touched only on the proxy's core.
/// </summary>
internal sealed class PeerLink(ushort machine, string address)
{
    /// <summary>A message sent and not yet acknowledged: its frame, and whom to tell if it never arrives.</summary>
    public readonly record struct Pending(ulong Seq, byte[] Frame, EnvelopeKind Kind, Address From, Address To, ulong Correlation);

    public ushort Machine { get; } = machine;

    public string Address { get; set; } = address;

    /// <summary>The transport says a link is up.</summary>
    public bool LinkOpen { get; set; }

    /// <summary>The other side's hello has come on the current link: messages flow.</summary>
    public bool Established { get; set; }

    /// <summary>Nothing was heard for longer than a machine is given: calls to it fail until it is heard again.</summary>
    public bool Lost { get; set; }

    /// <summary>The other side refused to talk (a protocol version too far apart): said once, and nothing flows.</summary>
    public string? Refusal { get; set; }

    /// <summary>The other machine's boot, as its hello said (0: not heard yet). A new one means it restarted.</summary>
    public ulong PeerIncarnation { get; set; }

    /// <summary>
    /// What this side's hellos call this link's numbering (0 until set: the proxy's boot). It
    /// changes when this side gives up messages it sent (the other machine was lost): the numbers
    /// start again at 1, and the other side, seeing a new one, starts again too.
    /// </summary>
    public ulong Session { get; set; }

    /// <summary>This side started a new numbering and waits for a hello that knows it before it takes messages.</summary>
    public bool AwaitingSession { get; set; }

    /// <summary>The other side's numberings this side has moved past (a few, latest last): a hello from one of them, late on the network, is not taken for news.</summary>
    public Queue<ulong> PastIncarnations { get; } = new();

    public ulong NextSeq { get; set; } = 1;

    public Queue<Pending> Unacked { get; } = new();

    public long UnackedBytes { get; set; }

    /// <summary>The other side's messages received in order: the next one expected is this plus one.</summary>
    public ulong Received { get; set; }

    /// <summary>Messages that came ahead of one still missing, kept (a bounded few) until the hole is filled.</summary>
    public SortedDictionary<ulong, byte[]> Ahead { get; } = [];

    /// <summary>The most messages kept ahead of a hole; past it, later ones are dropped and come again.</summary>
    public const int MaxAhead = 4096;

    public long LastHoleResendNanoseconds { get; set; }

    /// <summary>Messages received from this machine whose way to their core here was full: relayed, in order, once there is room.</summary>
    public Queue<Envelope> Relaying { get; } = new();

    /// <summary>The most messages kept waiting for room; past it the link takes no more until they drain.</summary>
    public const int MaxRelaying = 65536;

    /// <summary>The last <see cref="Received"/> told to the other side.</summary>
    public ulong AckSent { get; set; }

    public long LastHeardNanoseconds { get; set; }

    public long LastProgressNanoseconds { get; set; }

    public long LastPingNanoseconds { get; set; }

    public long RoundTripNanoseconds { get; set; }

    public long Sent { get; set; }

    public long ReceivedCount { get; set; }

    public long Resent { get; set; }

    public long Duplicates { get; set; }

    public long OutOfOrder { get; set; }

    public long Refused { get; set; }

    public string State => Refusal is not null ? "refused" : Lost ? "down" : Established ? "up" : "connecting";

    /// <summary>Lets go of every message up to <paramref name="ack"/>, which the other side has.</summary>
    public bool Acknowledge(ulong ack, long now)
    {
        var progressed = false;
        while (Unacked.TryPeek(out var pending) && pending.Seq <= ack)
        {
            Unacked.Dequeue();
            UnackedBytes -= pending.Frame.Length;
            progressed = true;
        }
        if (progressed) LastProgressNanoseconds = now;
        return progressed;
    }
}
