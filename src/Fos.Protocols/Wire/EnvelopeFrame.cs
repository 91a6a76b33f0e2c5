using System.Buffers;
using System.Buffers.Binary;
using Fos.Kernel;

namespace Fos.Protocols.Wire;

/// <summary>
/// An envelope as bytes, in a process's ring or on a link between machines: a fixed 48-byte header
/// (kind, to, from, capability, correlation) and the body in the wire codec. The body's type must be a registered message type:
/// a server's object cannot cross into an application's address space, only its serialized value.
/// <code>
/// 0 kind   8 to (machine u16, core u16, mailbox u32)   16 from   24 capability (2 × u64)   40 correlation u64   48 body
/// </code>
/// </summary>
public static class EnvelopeFrame
{
    public const int HeaderBytes = 48;

    public static void WriteHeader(Span<byte> header, in Envelope envelope)
    {
        header[..8].Clear();
        header[0] = (byte)envelope.Kind;
        WriteAddress(header[8..], envelope.To);
        WriteAddress(header[16..], envelope.From);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], envelope.Capability.High);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], envelope.Capability.Low);
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], envelope.CorrelationId);
    }

    /// <summary>Serializes the body; a type the codec does not know is refused with a clear <see cref="FosException"/>.</summary>
    public static void WriteBody(ArrayBufferWriter<byte> body, object? value)
    {
        body.ResetWrittenCount();
        WireCodec.Write(body, value);
    }

    /// <summary>
    /// The envelope in <paramref name="frame"/> (a private copy), with <paramref name="from"/>'s core
    /// stamped over whatever the sender wrote when it is given: the machine attests who sent it.
    /// </summary>
    /// <exception cref="FosException">The frame is malformed or its body is not a registered message (BadRequest).</exception>
    public static Envelope Read(ReadOnlyMemory<byte> bytes, CoreId? from, out object? bodyError)
    {
        var frame = bytes.Span;
        if (frame.Length < HeaderBytes) throw new FosException(FosError.BadRequest, $"a frame of {frame.Length} bytes is shorter than an envelope's header");
        var kind = (EnvelopeKind)frame[0];
        if (kind is not (EnvelopeKind.Send or EnvelopeKind.Call or EnvelopeKind.Reply or EnvelopeKind.Fault))
            throw new FosException(FosError.BadRequest, $"a frame of unknown kind {frame[0]}");
        var to = ReadAddress(frame[8..]);
        var sender = ReadAddress(frame[16..]);
        if (from is { } attested) sender = new Address(attested.Machine, attested.Core, sender.Mailbox);
        var capability = new Capability(BinaryPrimitives.ReadUInt64LittleEndian(frame[24..]), BinaryPrimitives.ReadUInt64LittleEndian(frame[32..]));
        var correlation = BinaryPrimitives.ReadUInt64LittleEndian(frame[40..]);
        object? body = null;
        bodyError = null;
        try
        {
            body = WireCodec.Read(bytes[HeaderBytes..]);
        }
        catch (FosException ex)
        {
            bodyError = ex;
        }
        return new Envelope(kind, to, capability, sender, correlation, body);
    }

    public static void WriteEndpoint(Span<byte> target, Endpoint endpoint)
    {
        WriteAddress(target, endpoint.Address);
        BinaryPrimitives.WriteUInt64LittleEndian(target[8..], endpoint.Capability.High);
        BinaryPrimitives.WriteUInt64LittleEndian(target[16..], endpoint.Capability.Low);
    }

    public static Endpoint ReadEndpoint(ReadOnlySpan<byte> source) =>
        new(ReadAddress(source), new Capability(BinaryPrimitives.ReadUInt64LittleEndian(source[8..]), BinaryPrimitives.ReadUInt64LittleEndian(source[16..])));

    private static void WriteAddress(Span<byte> target, Address address)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(target, address.Machine);
        BinaryPrimitives.WriteUInt16LittleEndian(target[2..], address.Core);
        BinaryPrimitives.WriteUInt32LittleEndian(target[4..], address.Mailbox);
    }

    private static Address ReadAddress(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt16LittleEndian(source), BinaryPrimitives.ReadUInt16LittleEndian(source[2..]), BinaryPrimitives.ReadUInt32LittleEndian(source[4..]));
}
