namespace Fos.Kernel.Network;

/// <summary>
/// A machine's network as its proxy sees it (a port, like the storage port): links to other
/// machines' proxies that carry frames, each delivered whole, in order on one link, at most once.
/// A link that breaks loses what was in flight; the proxy above resends (it keeps what the other
/// side has not acknowledged). The real runtime makes links of TCP with mutual TLS, where a peer's
/// machine number is what its certificate says; the simulator makes them of a simulated network
/// with seeded latency and faults.
/// </summary>
public interface ILinks
{
    /// <summary>This machine's number, as its peers know it.</summary>
    ushort Machine { get; }

    /// <summary>Keeps a link to machine <paramref name="peer"/> at <paramref name="address"/> up, reconnecting as it must, until <see cref="Forget"/>.</summary>
    void Connect(ushort peer, string address);

    /// <summary>Stops reaching <paramref name="peer"/> and drops its link.</summary>
    void Forget(ushort peer);

    /// <summary>
    /// Queues <paramref name="frame"/> (the link copies it) for <paramref name="peer"/>; false when
    /// no link to it is up, and then nothing is sent. It goes at the next <see cref="Flush"/>.
    /// </summary>
    bool Send(ushort peer, ReadOnlySpan<byte> frame);

    /// <summary>Sends what was queued, each link's frames in one write: the proxy calls it once per turn of its core.</summary>
    void Flush();

    /// <summary>The largest frame a link carries.</summary>
    int MaxFrame { get; }
}

/// <summary>What a machine's links tell its proxy, always on the proxy's core.</summary>
public interface ILinkEvents
{
    /// <summary>A link to <paramref name="peer"/> is up (one it dialled, or one it accepted and authenticated).</summary>
    void LinkUp(ushort peer);

    /// <summary>The link to <paramref name="peer"/> broke; whatever was in flight may be lost.</summary>
    void LinkDown(ushort peer, string reason);

    /// <summary>A frame from <paramref name="peer"/> (valid only during the call).</summary>
    void Received(ushort peer, ReadOnlySpan<byte> frame);
}
