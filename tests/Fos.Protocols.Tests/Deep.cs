using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using Fos.Kernel;

namespace Fos.Protocols.Tests;

/// <summary>Structural equality for samples: records compared member by member, arrays element by element.</summary>
public static class Deep
{
    public static void AssertEqual(object? expected, object? actual, string path = "body")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }
        var type = expected.GetType();
        Assert.True(type == actual.GetType(), $"{path}: expected a {type}, got a {actual.GetType()}");
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(Address) || type == typeof(CoreId)
            || type == typeof(Capability) || type == typeof(Endpoint))
        {
            Assert.True(expected.Equals(actual), $"{path}: expected {expected}, got {actual}");
            return;
        }
        if (type.IsArray || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>)))
        {
            var left = ((IEnumerable)expected).Cast<object?>().ToList();
            var right = ((IEnumerable)actual).Cast<object?>().ToList();
            Assert.True(left.Count == right.Count, $"{path}: expected {left.Count} elements, got {right.Count}");
            for (var i = 0; i < left.Count; i++) AssertEqual(left[i], right[i], $"{path}[{i}]");
            return;
        }
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToList();
        Assert.True(properties.Count > 0 || type.GetConstructors().Any(c => c.GetParameters().Length == 0), $"{path}: nothing to compare on {type}");
        foreach (var property in properties) AssertEqual(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
    }
}
