using MessagePack;
using MessagePack.Formatters;

namespace Fos.Protocols.Wire;

/// <summary>
/// One registered body type: its id and a way to write and read it without knowing it
/// statically. Made once per type when the registry is built, so a call is a table lookup and a
/// virtual call, never reflection.
/// </summary>
internal abstract class WireType(ushort id, Type type)
{
    public ushort Id { get; } = id;

    public Type Type { get; } = type;

    public abstract void Write(ref MessagePackWriter writer, object body, MessagePackSerializerOptions options);

    public abstract object? Read(ref MessagePackReader reader, MessagePackSerializerOptions options);

    /// <summary>Makes the type's formatter now rather than on first use.</summary>
    public abstract void Prepare();

    public static WireType Create(ushort id, Type type) =>
        (WireType)Activator.CreateInstance(typeof(WireType<>).MakeGenericType(type), id)!;
}

internal sealed class WireType<T>(ushort id) : WireType(id, typeof(T))
{
    // Made on first use, not when the registry is built: most processes use a handful of types,
    // and making a formatter for a record emits code. Two threads racing here make the same
    // (cached) formatter, so the race is harmless.
    private IMessagePackFormatter<T>? formatter;

    private IMessagePackFormatter<T> Formatter => formatter ??= WireOptions.Resolver.GetFormatterWithVerify<T>();

    public override void Write(ref MessagePackWriter writer, object body, MessagePackSerializerOptions options) =>
        Formatter.Serialize(ref writer, (T)body, options);

    public override object? Read(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        Formatter.Deserialize(ref reader, options);

    public override void Prepare() => _ = Formatter;
}
