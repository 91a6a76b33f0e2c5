namespace Fos.Protocols.Proxy;

/// <summary>Another machine of the cluster: its number and where its proxy listens (host:port).</summary>
public sealed record ProxyPeer(ushort Machine, string Address);

/// <summary>From boot (the system's own cores only): this machine's peers, each to be reached and kept → Ack.</summary>
public sealed record ProxyConnect(ProxyPeer[] Peers);

/// <summary>Stop reaching a machine that left the cluster → Ack.</summary>
public sealed record ProxyForget(ushort Machine);

/// <summary>What the proxy knows of its links → <see cref="ProxyLinks"/>.</summary>
public sealed record ProxyStatus;

/// <summary>
/// One link as <c>fos status</c> shows it. <paramref name="State"/> is <c>up</c>, <c>connecting</c>
/// (no link yet, or it broke and is being remade) or <c>down</c> (nothing heard for longer than a
/// machine is given: its calls fail).
/// </summary>
public sealed record ProxyLink(ushort Machine, string Address, string State, long RoundTripNanoseconds,
    long Sent, long Received, long Resent, long Unacknowledged, long Duplicates, long OutOfOrder, long Refused);

/// <summary>A machine's proxy and its links; <paramref name="Refused"/> counts what it refused that came from no link (a forged hand-over, a boot message from an application).</summary>
public sealed record ProxyLinks(ushort Machine, ProxyLink[] Links, long Refused);
