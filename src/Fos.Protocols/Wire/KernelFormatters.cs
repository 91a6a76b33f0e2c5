using Fos.Kernel;
using MessagePack;
using MessagePack.Formatters;

namespace Fos.Protocols.Wire;

// The kernel's value types travel as short arrays of numbers: they are in nearly every message, a
// map of member names would double a body's size, and their computed members (an address's core,
// a core's kernel mailbox) must not travel at all.

/// <summary>An address as [machine, core, mailbox].</summary>
internal sealed class AddressFormatter : IMessagePackFormatter<Address>
{
    public void Serialize(ref MessagePackWriter writer, Address value, MessagePackSerializerOptions options)
    {
        writer.WriteArrayHeader(3);
        WriteBody(ref writer, value);
    }

    public Address Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        WireFormat.ExpectArray(ref reader, 3, nameof(Address));
        return ReadBody(ref reader);
    }

    internal static void WriteBody(ref MessagePackWriter writer, Address value)
    {
        writer.Write(value.Machine);
        writer.Write(value.Core);
        writer.Write(value.Mailbox);
    }

    internal static Address ReadBody(ref MessagePackReader reader) => new(reader.ReadUInt16(), reader.ReadUInt16(), reader.ReadUInt32());
}

/// <summary>A core as [machine, core].</summary>
internal sealed class CoreIdFormatter : IMessagePackFormatter<CoreId>
{
    public void Serialize(ref MessagePackWriter writer, CoreId value, MessagePackSerializerOptions options)
    {
        writer.WriteArrayHeader(2);
        writer.Write(value.Machine);
        writer.Write(value.Core);
    }

    public CoreId Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        WireFormat.ExpectArray(ref reader, 2, nameof(CoreId));
        return new(reader.ReadUInt16(), reader.ReadUInt16());
    }
}

/// <summary>A capability as [high, low].</summary>
internal sealed class CapabilityFormatter : IMessagePackFormatter<Capability>
{
    public void Serialize(ref MessagePackWriter writer, Capability value, MessagePackSerializerOptions options)
    {
        writer.WriteArrayHeader(2);
        writer.Write(value.High);
        writer.Write(value.Low);
    }

    public Capability Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        WireFormat.ExpectArray(ref reader, 2, nameof(Capability));
        return new(reader.ReadUInt64(), reader.ReadUInt64());
    }
}

/// <summary>An endpoint as [machine, core, mailbox, capability high, capability low]: flat, as it is the commonest member.</summary>
internal sealed class EndpointFormatter : IMessagePackFormatter<Endpoint>
{
    public void Serialize(ref MessagePackWriter writer, Endpoint value, MessagePackSerializerOptions options)
    {
        writer.WriteArrayHeader(5);
        AddressFormatter.WriteBody(ref writer, value.Address);
        writer.Write(value.Capability.High);
        writer.Write(value.Capability.Low);
    }

    public Endpoint Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        WireFormat.ExpectArray(ref reader, 5, nameof(Endpoint));
        var address = AddressFormatter.ReadBody(ref reader);
        return new(address, new Capability(reader.ReadUInt64(), reader.ReadUInt64()));
    }
}

/// <summary>Ack has nothing to say: it travels as nil and arrives as the one <see cref="Ack.Instance"/>.</summary>
internal sealed class AckFormatter : IMessagePackFormatter<Ack>
{
    public void Serialize(ref MessagePackWriter writer, Ack value, MessagePackSerializerOptions options) => writer.WriteNil();

    public Ack Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (!reader.TryReadNil()) throw WireFormat.Malformed($"an {nameof(Ack)} carries nothing, but this one has a {reader.NextMessagePackType}");
        return Ack.Instance;
    }
}
