using System.Collections.Immutable;
using MessagePack;
using MessagePack.Formatters;

namespace Fos.Protocols.Wire;

/// <summary>
/// An immutable array as a MessagePack array. A default (uninitialised) one travels as an empty
/// one: no protocol means anything by the difference, and a receiver never gets an array that
/// throws when it is enumerated.
/// </summary>
internal sealed class ImmutableArrayFormatter<T> : IMessagePackFormatter<ImmutableArray<T>>
{
    public void Serialize(ref MessagePackWriter writer, ImmutableArray<T> value, MessagePackSerializerOptions options)
    {
        if (value.IsDefault)
        {
            writer.WriteArrayHeader(0);
            return;
        }
        var element = options.Resolver.GetFormatterWithVerify<T>();
        writer.WriteArrayHeader(value.Length);
        foreach (var item in value) element.Serialize(ref writer, item, options);
    }

    public ImmutableArray<T> Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var count = reader.ReadArrayHeader(); // fails unless the input has at least that many bytes left
        if (count == 0) return [];
        var element = options.Resolver.GetFormatterWithVerify<T>();
        options.Security.DepthStep(ref reader);
        try
        {
            var builder = ImmutableArray.CreateBuilder<T>(count);
            for (var i = 0; i < count; i++)
            {
                var item = element.Deserialize(ref reader, options);
                if (item is null) throw WireFormat.Malformed($"arrays of {typeof(T).Name} may not hold null");
                builder.Add(item);
            }
            return builder.MoveToImmutable();
        }
        finally
        {
            reader.Depth--;
        }
    }
}
