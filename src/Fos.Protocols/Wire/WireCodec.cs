using System.Buffers;
using System.Buffers.Binary;
using Fos.Kernel;
using MessagePack;

namespace Fos.Protocols.Wire;

/// <summary>
/// Turns a message body into bytes and back, for bodies that leave the process: to an application
/// in its own process, or to another machine. A body is its type's id (two bytes, big-endian; see
/// <see cref="WireTypes"/>) followed by the body in MessagePack. A null body is the id
/// <see cref="WireTypes.Null"/> alone.
/// </summary>
/// <remarks>
/// Bytes come from untrusted senders, so reading never makes a type the registry does not list,
/// and anything wrong with them (an unknown id, too few bytes, bytes left over, values that do not
/// fit the type) fails as <see cref="FosError.BadRequest"/> and nothing else.
/// </remarks>
public static class WireCodec
{
    private const int IdBytes = sizeof(ushort);

    /// <summary>
    /// Appends <paramref name="body"/> to <paramref name="output"/>. A type that is not registered
    /// is refused (<see cref="FosError.BadRequest"/>); after a failure <paramref name="output"/>
    /// may hold part of the body and must be discarded.
    /// </summary>
    public static void Write(IBufferWriter<byte> output, object? body)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (body is null)
        {
            WriteId(output, WireTypes.Null);
            return;
        }
        var type = Registered(body);
        WriteId(output, type.Id);
        var writer = new MessagePackWriter(output);
        type.Write(ref writer, body, WireOptions.Options);
        writer.Flush();
    }

    /// <summary>
    /// Makes every registered type's formatter now (each emits code on first use): for a process
    /// that has time before it has work, such as an application host kept warm.
    /// </summary>
    public static void PrepareAll()
    {
        foreach (var (id, _) in WireTypes.All) WireTypes.Entry(id)!.Prepare();
    }

    /// <summary>The bytes of <paramref name="body"/>, in a new array.</summary>
    public static byte[] ToArray(object? body)
    {
        var output = new ArrayBufferWriter<byte>();
        Write(output, body);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The body <paramref name="bytes"/> hold: all of them, and nothing else.</summary>
    public static object? Read(ReadOnlyMemory<byte> bytes) => Read(new ReadOnlySequence<byte>(bytes));

    /// <summary>The body <paramref name="bytes"/> hold (for bodies that arrive in pieces, as from a pipe).</summary>
    public static object? Read(in ReadOnlySequence<byte> bytes)
    {
        if (bytes.Length < IdBytes) throw WireFormat.Malformed($"{bytes.Length} bytes are too few for a type id");
        Span<byte> head = stackalloc byte[IdBytes];
        bytes.Slice(0, IdBytes).CopyTo(head);
        var id = BinaryPrimitives.ReadUInt16BigEndian(head);
        var payload = bytes.Slice(IdBytes);
        if (id == WireTypes.Null)
        {
            if (!payload.IsEmpty) throw TrailingBytes(payload.Length, "a null body");
            return null;
        }
        var type = WireTypes.Entry(id) ?? throw UnknownId(id);
        var reader = new MessagePackReader(payload);
        object? body;
        try
        {
            body = type.Read(ref reader, WireOptions.Options);
        }
        catch (FosException)
        {
            throw;
        }
        catch (MessagePackSerializationException ex) when (ex.InnerException is FosException inner)
        {
            throw inner;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // MessagePack fails in its own ways (too few bytes, a value of the wrong kind, a number
            // out of range); to the sender they are all the same mistake.
            throw WireFormat.Malformed($"the bytes do not hold the {type.Type.Name} their id names: {ex.Message}");
        }
        if (body is null) throw WireFormat.Malformed($"id {id} names {type.Type.Name}, but the body is nil (a null body has id {WireTypes.Null})");
        if (!reader.End) throw TrailingBytes(reader.Sequence.Length - reader.Consumed, type.Type.Name);
        return body;
    }

    internal static WireType Registered(object body) =>
        WireTypes.Entry(body.GetType()) ?? throw new FosException(FosError.BadRequest,
            $"{body.GetType().Name} cannot cross a process boundary: {body.GetType().FullName} is not a registered message type");

    internal static FosException UnknownId(ushort id) =>
        WireFormat.Malformed($"type id {id} is not a registered message type (garbage, or a peer newer than this build)");

    private static FosException TrailingBytes(long count, string what) =>
        WireFormat.Malformed($"{count} bytes are left over after {what}");

    private static void WriteId(IBufferWriter<byte> output, ushort id)
    {
        BinaryPrimitives.WriteUInt16BigEndian(output.GetSpan(IdBytes), id);
        output.Advance(IdBytes);
    }
}
