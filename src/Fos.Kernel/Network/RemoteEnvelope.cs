namespace Fos.Kernel.Network;

/// <summary>
/// An envelope bound for another machine, as its machine's proxy receives it: a core whose message
/// is addressed off the machine hands it, whole, to the proxy's outbound mailbox, and the proxy
/// carries it over the link to the target machine's proxy, which relays it to the target core.
/// Only the runtime makes these; it never crosses a process or a machine as a body of its own.
/// </summary>
public sealed record RemoteEnvelope(EnvelopeKind Kind, Address To, Capability Capability, Address From, ulong CorrelationId, object? Body)
{
    public Envelope Envelope => new(Kind, To, Capability, From, CorrelationId, Body);

    /// <summary>
    /// The envelope the core's host sends instead of <paramref name="envelope"/>: to the proxy, from
    /// the same sender, so the proxy can check the inner sender against the one its kernel attests.
    /// </summary>
    public static Envelope Wrap(in Envelope envelope, Endpoint proxy) =>
        new(EnvelopeKind.Send, proxy.Address, proxy.Capability, envelope.From, 0,
            new RemoteEnvelope(envelope.Kind, envelope.To, envelope.Capability, envelope.From, envelope.CorrelationId, envelope.Body));
}
