using System.Collections.Immutable;
using Fos.Kernel;

namespace Fos.Protocols.Wire;

/// <summary>
/// The types a registered body may contain: registered types, the kernel's value types, plain
/// numbers and strings, the protocols' enums, and arrays, nullables, pairs and immutable arrays
/// of those. Asked once per type, when its formatter is made.
/// </summary>
internal static class WireAllowList
{
    private static readonly HashSet<Type> Plain =
    [
        typeof(bool), typeof(byte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong),
        typeof(double), typeof(string), typeof(byte[]),
        typeof(Address), typeof(CoreId), typeof(Capability), typeof(Endpoint),
    ];

    public static bool Allows(Type type)
    {
        if (Plain.Contains(type) || WireTypes.IsRegistered(type)) return true;
        if (type.IsEnum) return type.Assembly == typeof(WireTypes).Assembly || type.Assembly == typeof(Address).Assembly;
        if (type.IsSZArray) return Allows(type.GetElementType()!);
        if (!type.IsGenericType) return false;
        var definition = type.GetGenericTypeDefinition();
        return (definition == typeof(Nullable<>) || definition == typeof(ImmutableArray<>) || definition == typeof(KeyValuePair<,>))
            && type.GetGenericArguments().All(Allows);
    }
}
