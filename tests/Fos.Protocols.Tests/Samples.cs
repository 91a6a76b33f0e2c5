using System.Collections.Immutable;
using System.Reflection;
using Fos.Kernel;
using Fos.Protocols.FileSystem;

namespace Fos.Protocols.Tests;

/// <summary>Which values a sample's members get.</summary>
public enum SampleKind
{
    /// <summary>Every member set, nullable ones included, numbers at the edges of their range.</summary>
    Full,
    /// <summary>Every nullable member null.</summary>
    Nulls,
    /// <summary>Zeros, empty strings and empty arrays.</summary>
    Empty,
}

/// <summary>
/// Builds an instance of any registered type from its primary constructor, so a new protocol
/// record is tested the day it is registered, with no sample written by hand.
/// </summary>
public sealed class Samples(SampleKind kind)
{
    private static readonly NullabilityInfoContext Nullability = new();
    private int counter;

    public static object Of(Type type, SampleKind kind) => new Samples(kind).Value(type, nullable: false)!;

    private object? Value(Type type, bool nullable)
    {
        if (nullable && kind == SampleKind.Nulls) return null;
        var n = ++counter;
        var empty = kind == SampleKind.Empty;
        if (type == typeof(bool)) return !empty;
        if (type == typeof(int)) return empty ? 0 : n % 2 == 0 ? int.MaxValue - n : int.MinValue + n;
        if (type == typeof(long)) return empty ? 0L : n % 2 == 0 ? long.MaxValue - n : long.MinValue + n;
        if (type == typeof(ushort)) return (ushort)(empty ? 0 : ushort.MaxValue - n);
        if (type == typeof(uint)) return empty ? 0u : uint.MaxValue - (uint)n;
        if (type == typeof(ulong)) return empty ? 0ul : ulong.MaxValue - (ulong)n;
        if (type == typeof(string)) return empty ? "" : $"s{n}/é✓𝄞";
        if (type == typeof(byte[])) return empty ? Array.Empty<byte>() : new byte[] { 0, 255, (byte)n, 7 };
        if (type.IsEnum) return empty ? Enum.GetValues(type).GetValue(0) : Enum.GetValues(type).GetValue(Enum.GetValues(type).Length - 1);
        if (type == typeof(CoreId)) return new CoreId((ushort)n, (ushort)(n + 1));
        if (type == typeof(Address)) return new Address((ushort)n, (ushort)(n + 1), uint.MaxValue - (uint)n);
        if (type == typeof(Capability)) return new Capability(ulong.MaxValue - (ulong)n, (ulong)n);
        if (type == typeof(Endpoint)) return new Endpoint((Address)Value(typeof(Address), false)!, (Capability)Value(typeof(Capability), false)!);
        if (type == typeof(object)) return Value(typeof(FsWrite), false); // ShardHandleOp's request
        if (Nullable.GetUnderlyingType(type) is { } underlying) return Value(underlying, false);
        if (type.IsSZArray)
        {
            var element = type.GetElementType()!;
            var array = Array.CreateInstance(element, empty ? 0 : 2);
            for (var i = 0; i < array.Length; i++) array.SetValue(Value(element, false), i);
            return array;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>))
        {
            var element = type.GetGenericArguments()[0];
            var items = (Array)Value(element.MakeArrayType(), false)!;
            return typeof(ImmutableArray).GetMethods()
                .Single(m => m.Name == nameof(ImmutableArray.Create) && m.GetParameters() is [{ ParameterType.IsArray: true }])
                .MakeGenericMethod(element).Invoke(null, [items]);
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(KeyValuePair<,>))
        {
            var arguments = type.GetGenericArguments();
            return Activator.CreateInstance(type, Value(arguments[0], false), Value(arguments[1], false));
        }
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new InvalidOperationException($"no public constructor to make a sample {type}");
        var parameters = constructor.GetParameters();
        return constructor.Invoke([.. parameters.Select(p => Value(p.ParameterType, IsNullable(p)))]);
    }

    private static bool IsNullable(ParameterInfo parameter) =>
        Nullable.GetUnderlyingType(parameter.ParameterType) is not null || Nullability.Create(parameter).WriteState == NullabilityState.Nullable;
}
