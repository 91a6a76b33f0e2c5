using System.Collections.Immutable;
using Fos.Kernel;
using Fos.Protocols.FileSystem;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace Fos.Protocols.Wire;

/// <summary>
/// Finds the formatter for each type a body contains. Records are written by the contractless
/// resolver (a map of member names to values, built from their public properties and read back
/// through their primary constructor), so a protocol record needs no attributes; the kernel's
/// value types, immutable arrays and the one record that carries another body have formatters of
/// their own. Only types a registered body can contain get a formatter at all: anything else
/// (an <see cref="object"/> member, a type from outside the protocols) is refused, so reading
/// bytes can never make a type the registry does not allow.
/// </summary>
internal sealed class WireResolver : IFormatterResolver
{
    public static readonly WireResolver Instance = new();

    private WireResolver()
    {
    }

    public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

    // The runtime makes each Cache<T> once, thread-safely: after that a lookup is a static field read.
    private static class Cache<T>
    {
        public static readonly IMessagePackFormatter<T> Formatter = (IMessagePackFormatter<T>)Create(typeof(T));
    }

    private static object Create(Type type)
    {
        if (type == typeof(Address)) return new AddressFormatter();
        if (type == typeof(CoreId)) return new CoreIdFormatter();
        if (type == typeof(Capability)) return new CapabilityFormatter();
        if (type == typeof(Endpoint)) return new EndpointFormatter();
        if (type == typeof(Ack)) return new AckFormatter();
        if (type == typeof(ShardHandleOp)) return new ShardHandleOpFormatter();
        if (!WireAllowList.Allows(type)) return Activator.CreateInstance(typeof(RefusedFormatter<>).MakeGenericType(type))!;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>))
            return Activator.CreateInstance(typeof(ImmutableArrayFormatter<>).MakeGenericType(type.GetGenericArguments()))!;
        var contractless = typeof(ContractlessStandardResolver).GetMethod(nameof(IFormatterResolver.GetFormatter))!
            .MakeGenericMethod(type).Invoke(ContractlessStandardResolver.Instance, null)
            ?? throw new InvalidOperationException($"no formatter for {type}");
        var record = WireTypes.IsRegistered(type) && type.IsClass && !type.IsArray && type != typeof(string);
        return record && MemberChecks.For(type) is { Length: > 0 } checks
            ? Activator.CreateInstance(typeof(CheckedFormatter<>).MakeGenericType(type), contractless, checks)!
            : contractless;
    }
}
