using System.Reflection;
using MessagePack;
using MessagePack.Formatters;

namespace Fos.Protocols.Wire;

/// <summary>
/// What a record's declaration promises and MessagePack does not check: a member declared
/// non-nullable is there (a missing key or a nil would otherwise arrive as null), an array declared
/// to hold no nulls holds none, and an enum member holds one of its values. A body that breaks a
/// promise is refused when it is read, so a server never meets a null its code was told cannot be.
/// </summary>
internal abstract class MemberCheck<T>
{
    /// <summary>Throws if <paramref name="value"/> breaks the promise.</summary>
    public abstract void Check(T value);

    protected static Exception Broken(string member, string detail) =>
        WireFormat.Malformed($"{typeof(T).Name}.{member} {detail}");
}

internal static class MemberChecks
{
    /// <summary>The checks of record <paramref name="type"/>: an array of MemberCheck&lt;type&gt;, made once.</summary>
    public static Array For(Type type)
    {
        var context = new NullabilityInfoContext();
        var checks = new List<object>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetMethod is null || property.GetIndexParameters().Length > 0) continue;
            var propertyType = property.PropertyType;
            if (propertyType.IsEnum)
            {
                checks.Add(Make(typeof(DefinedEnum<,>), [type, propertyType], property));
                continue;
            }
            if (propertyType.IsValueType) continue;
            var nullability = context.Create(property);
            var elementsNotNull = propertyType.IsSZArray && !propertyType.GetElementType()!.IsValueType
                && nullability.ElementType?.ReadState == NullabilityState.NotNull;
            if (nullability.ReadState == NullabilityState.NotNull || elementsNotNull)
                checks.Add(Make(typeof(NotNull<>), [type], property, nullability.ReadState == NullabilityState.NotNull, elementsNotNull));
        }
        var result = Array.CreateInstance(typeof(MemberCheck<>).MakeGenericType(type), checks.Count);
        for (var i = 0; i < checks.Count; i++) result.SetValue(checks[i], i);
        return result;
    }

    private static object Make(Type definition, Type[] arguments, params object[] constructorArguments) =>
        Activator.CreateInstance(definition.MakeGenericType(arguments), constructorArguments)!;
}

/// <summary>A reference member that must be there, and for an array, elements that must be too.</summary>
internal sealed class NotNull<T>(PropertyInfo property, bool member, bool elements) : MemberCheck<T>
{
    // A getter bound once as a delegate: reading the member costs a call, not reflection.
    private readonly Func<T, object?> get = property.GetMethod!.CreateDelegate<Func<T, object?>>();
    private readonly string name = property.Name;

    public override void Check(T value)
    {
        var found = get(value);
        if (found is null)
        {
            if (member) throw Broken(name, "is missing (it may not be null)");
            return;
        }
        if (!elements) return;
        // Reference-type arrays are covariant: any of them can be walked as object[] without copying.
        foreach (var item in (object?[])found)
            if (item is null) throw Broken(name, "holds a null (it may not)");
    }
}

/// <summary>An enum member that must hold one of the enum's values.</summary>
internal sealed class DefinedEnum<T, TEnum>(PropertyInfo property) : MemberCheck<T>
    where TEnum : struct, Enum
{
    private readonly Func<T, TEnum> get = property.GetMethod!.CreateDelegate<Func<T, TEnum>>();
    private readonly string name = property.Name;

    public override void Check(T value)
    {
        var member = get(value);
        if (!Enum.IsDefined(member)) throw Broken(name, $"is {member}, not one of the values of {typeof(TEnum).Name}");
    }
}

/// <summary>A record's formatter that checks what it read against the record's declaration.</summary>
internal sealed class CheckedFormatter<T>(IMessagePackFormatter<T> inner, MemberCheck<T>[] checks) : IMessagePackFormatter<T>
{
    public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options) =>
        inner.Serialize(ref writer, value, options);

    public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var value = inner.Deserialize(ref reader, options);
        if (value is null) return value; // whether a null fits is the containing record's check
        foreach (var check in checks) check.Check(value);
        return value;
    }
}
