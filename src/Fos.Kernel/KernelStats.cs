namespace Fos.Kernel;

/// <summary>Counters of one kernel. Written only by its core; read elsewhere as a snapshot.</summary>
public sealed class KernelStats
{
    public long Delivered;
    public long Sent;
    public long CallsMade;
    public long RepliesReceived;
    public long RefusedCapability;
    public long RefusedNoMailbox;
    public long RefusedFull;
    public long SendsRefusedElsewhere;
    public long Timeouts;
    public long HandlerFailures;
    public long LateReplies;
    public long ForgedReplies;
    /// <summary>Messages from application processes whose body is not a registered message type.</summary>
    public long RefusedUndecodable;
    /// <summary>Messages from other machines this core's proxy relayed to their targets here.</summary>
    public long Relayed;

    public KernelStats Snapshot() => (KernelStats)MemberwiseClone();

    public override string ToString() =>
        $"delivered={Delivered} sent={Sent} calls={CallsMade} refused(cap={RefusedCapability} nobox={RefusedNoMailbox} full={RefusedFull}) " +
        $"timeouts={Timeouts} handler-failures={HandlerFailures} late-replies={LateReplies}";
}
