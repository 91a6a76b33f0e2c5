using Fos.Protocols.FileSystem;
using MessagePack;
using MessagePack.Formatters;

namespace Fos.Protocols.Wire;

/// <summary>
/// <see cref="ShardHandleOp"/> carries the client's request as an <see cref="object"/>, which no
/// general formatter may read (it would let the sender choose the type). It travels as
/// [inode, client, request's type id, request], and the request is read through the registry like
/// any body: only a registered type can come out.
/// </summary>
internal sealed class ShardHandleOpFormatter : IMessagePackFormatter<ShardHandleOp>
{
    private static readonly AddressFormatter Address = new();

    public void Serialize(ref MessagePackWriter writer, ShardHandleOp value, MessagePackSerializerOptions options)
    {
        var request = WireCodec.Registered(value.Request);
        writer.WriteArrayHeader(4);
        writer.Write(value.Inode);
        Address.Serialize(ref writer, value.Client, options);
        writer.Write(request.Id);
        request.Write(ref writer, value.Request, options);
    }

    public ShardHandleOp Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        WireFormat.ExpectArray(ref reader, 4, nameof(ShardHandleOp));
        var inode = reader.ReadInt64();
        var client = Address.Deserialize(ref reader, options);
        var id = reader.ReadUInt16();
        var type = WireTypes.Entry(id) ?? throw WireCodec.UnknownId(id);
        options.Security.DepthStep(ref reader);
        try
        {
            var request = type.Read(ref reader, options) ?? throw WireFormat.Malformed($"{nameof(ShardHandleOp)} must carry a request");
            return new ShardHandleOp(inode, client, request);
        }
        finally
        {
            reader.Depth--;
        }
    }
}
