namespace Fos.Kernel;

/// <summary>What a message is for, which decides how the receiving kernel treats it.</summary>
public enum EnvelopeKind : byte
{
    /// <summary>One-way message to a mailbox.</summary>
    Send = 1,
    /// <summary>Request to a mailbox; the handler's result goes back as a <see cref="Reply"/>.</summary>
    Call = 2,
    /// <summary>The answer to a call, addressed to the caller's kernel and matched by correlation id.</summary>
    Reply = 3,
    /// <summary>A call that failed (refused, no mailbox, handler threw): the body is a <see cref="KernelFault"/>.</summary>
    Fault = 4,
}

/// <summary>
/// One message in flight between kernels: header plus an immutable body. A value type of about
/// one cache line, so a cross-core ring carries it inline without allocating. Inside a machine the
/// body is passed by reference (it must be immutable); between machines the proxy serializes it.
/// </summary>
public readonly struct Envelope
{
    public readonly object? Body;
    public readonly Address To;
    public readonly Address From;
    public readonly Capability Capability;
    public readonly ulong CorrelationId;
    public readonly EnvelopeKind Kind;

    public Envelope(EnvelopeKind kind, Address to, Capability capability, Address from, ulong correlationId, object? body)
    {
        Kind = kind;
        To = to;
        Capability = capability;
        From = from;
        CorrelationId = correlationId;
        Body = body;
    }

    public override string ToString() =>
        $"{Kind} {From}->{To} #{CorrelationId} {Body?.GetType().Name ?? "null"}";
}

/// <summary>The body of a <see cref="EnvelopeKind.Fault"/>: why a call failed, said plainly.</summary>
public sealed record KernelFault(FosError Error, string Message, string? Code = null);
