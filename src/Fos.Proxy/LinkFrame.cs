using System.Buffers;
using System.Buffers.Binary;
using Fos.Kernel;
using Fos.Protocols.Wire;

namespace Fos.Proxy;

/// <summary>What a frame on a link between two proxies is.</summary>
public enum LinkFrameType : byte
{
    /// <summary>First on a link, each way: who this side is (its boot's incarnation) and what it has of the other's messages.</summary>
    Hello = 1,
    /// <summary>One message, numbered, with what this side has received so far.</summary>
    Data = 2,
    /// <summary>What this side has received so far, when it has no message to carry it.</summary>
    Ack = 3,
    /// <summary>A heartbeat carrying the sender's clock; answered by <see cref="Pong"/> with the same clock.</summary>
    Ping = 4,
    Pong = 5,
    /// <summary>A gap: what this side has received in order, sent when a later message came first, so the sender fills the hole at once.</summary>
    Nack = 6,
}

/// <summary>
/// A link's greeting: the protocol version, this side's incarnation, the other's as last seen, how
/// many of its messages arrived, and whether this side has the other's greeting on this link yet
/// (if not, the other answers with its own: a lost greeting is sent again until one gets through).
/// </summary>
public readonly record struct LinkHello(ushort Version, ulong Incarnation, ulong PeerIncarnation, ulong Received, bool HasYours);

/// <summary>
/// The frames proxies exchange, in a fixed little-endian layout (a link delivers each whole):
/// <code>
/// Hello  1 | version u16 | incarnation u64 | peer incarnation u64 | received u64 | has yours u8 (28 bytes; a newer build may add more)
/// Data   2 | seq u64 | ack u64 | envelope (48-byte header, then the body in the wire codec)
/// Ack    3 | ack u64                                                                    (9 bytes)
/// Ping   4 | clock u64 ; Pong 5 | clock u64                                             (9 bytes)
/// Nack   6 | received u64                                                               (9 bytes)
/// </code>
/// Frames come from other machines, so reading checks everything and throws only
/// <see cref="FosException"/> (<see cref="FosError.BadRequest"/>) for what is wrong.
/// </summary>
public static class LinkFrame
{
    /// <summary>This build's protocol; a peer one version apart still talks.</summary>
    public const ushort Version = 1;

    public const int HelloBytes = 28;
    public const int DataHeaderBytes = 17;
    public const int ShortBytes = 9;

    public static LinkFrameType TypeOf(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty) throw Malformed("an empty frame");
        var type = (LinkFrameType)frame[0];
        var expected = type switch
        {
            LinkFrameType.Hello => HelloBytes,
            LinkFrameType.Data => DataHeaderBytes + EnvelopeFrame.HeaderBytes + 2, // a body is at least its type id
            LinkFrameType.Ack or LinkFrameType.Ping or LinkFrameType.Pong or LinkFrameType.Nack => ShortBytes,
            _ => throw Malformed($"a frame of unknown type {frame[0]}"),
        };
        // A data frame carries a body; a hello may carry more from a newer build (read past, not refused).
        var longer = type is LinkFrameType.Data or LinkFrameType.Hello;
        if (longer ? frame.Length < expected : frame.Length != expected)
            throw Malformed($"a {type} frame of {frame.Length} bytes");
        return type;
    }

    public static byte[] Hello(LinkHello hello)
    {
        var frame = new byte[HelloBytes];
        frame[0] = (byte)LinkFrameType.Hello;
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(1), hello.Version);
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(3), hello.Incarnation);
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(11), hello.PeerIncarnation);
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(19), hello.Received);
        frame[27] = hello.HasYours ? (byte)1 : (byte)0;
        return frame;
    }

    public static LinkHello ReadHello(ReadOnlySpan<byte> frame)
    {
        Expect(frame, LinkFrameType.Hello);
        if (frame[27] > 1) throw Malformed($"a hello whose last byte is {frame[27]}, not 0 or 1");
        return new(BinaryPrimitives.ReadUInt16LittleEndian(frame[1..]), BinaryPrimitives.ReadUInt64LittleEndian(frame[3..]),
            BinaryPrimitives.ReadUInt64LittleEndian(frame[11..]), BinaryPrimitives.ReadUInt64LittleEndian(frame[19..]), frame[27] == 1);
    }

    /// <summary>A short frame: an ack, a nack, a ping or a pong, with its one number.</summary>
    public static void WriteShort(Span<byte> frame, LinkFrameType type, ulong value)
    {
        frame[0] = (byte)type;
        BinaryPrimitives.WriteUInt64LittleEndian(frame[1..], value);
    }

    public static ulong ReadShort(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt64LittleEndian(frame[1..]);

    /// <summary>
    /// A data frame for <paramref name="envelope"/>, its body serialized; a body that may not cross
    /// machines (not a registered message) is refused with <see cref="FosError.BadRequest"/>.
    /// </summary>
    public static byte[] Data(ulong seq, in Envelope envelope, ArrayBufferWriter<byte> scratch)
    {
        EnvelopeFrame.WriteBody(scratch, envelope.Body);
        var frame = new byte[DataHeaderBytes + EnvelopeFrame.HeaderBytes + scratch.WrittenCount];
        frame[0] = (byte)LinkFrameType.Data;
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(1), seq);
        EnvelopeFrame.WriteHeader(frame.AsSpan(DataHeaderBytes), envelope);
        scratch.WrittenSpan.CopyTo(frame.AsSpan(DataHeaderBytes + EnvelopeFrame.HeaderBytes));
        return frame;
    }

    /// <summary>Stamps what this side has received into a data frame about to go (again): acks ride on data.</summary>
    public static void SetAck(Span<byte> dataFrame, ulong ack) => BinaryPrimitives.WriteUInt64LittleEndian(dataFrame[9..], ack);

    public static (ulong Seq, ulong Ack) ReadDataHeader(ReadOnlySpan<byte> frame)
    {
        Expect(frame, LinkFrameType.Data);
        return (BinaryPrimitives.ReadUInt64LittleEndian(frame[1..]), BinaryPrimitives.ReadUInt64LittleEndian(frame[9..]));
    }

    /// <summary>The envelope a data frame carries (its body decoded into a fresh object; a body this build cannot read is <paramref name="bodyError"/>).</summary>
    public static Envelope ReadEnvelope(ReadOnlySpan<byte> frame, out FosException? bodyError)
    {
        Expect(frame, LinkFrameType.Data);
        var envelope = EnvelopeFrame.Read(frame[DataHeaderBytes..].ToArray(), from: null, out var error);
        bodyError = error as FosException;
        return envelope;
    }

    private static void Expect(ReadOnlySpan<byte> frame, LinkFrameType type)
    {
        if (TypeOf(frame) != type) throw Malformed($"a {(LinkFrameType)frame[0]} frame where a {type} frame was expected");
    }

    private static FosException Malformed(string what) => new(FosError.BadRequest, $"malformed link frame: {what}");
}
