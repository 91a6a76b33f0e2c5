using System.Reflection;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Memory;
using Fos.Protocols.Processes;
using Fos.Protocols.Wire;

namespace Fos.Protocols.Tests;

public class WireRegistryTests
{
    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null;

    [Fact]
    public void Ids_and_types_are_each_registered_once_and_none_is_the_null_id()
    {
        var ids = WireTypes.All.Select(e => e.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.Count, WireTypes.All.Select(e => e.Type).Distinct().Count());
        Assert.DoesNotContain(WireTypes.Null, ids);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(1, typeof(Ack))]
    [InlineData(2, typeof(KernelFault))]
    [InlineData(3, typeof(Endpoint))]
    [InlineData(50, typeof(NameRecord))]
    [InlineData(102, typeof(long))]
    [InlineData(104, typeof(byte[]))]
    [InlineData(207, typeof(FsRead))]
    [InlineData(208, typeof(FsWrite))]
    [InlineData(323, typeof(ShardHandleOp))]
    [InlineData(402, typeof(MemGrant))]
    [InlineData(501, typeof(ProcInfo[]))]
    public void Ids_never_change_meaning(int id, Type? type)
    {
        // A peer one build apart reads these numbers: changing one breaks it silently.
        Assert.Equal(type, WireTypes.TypeOf((ushort)id));
        if (type is not null)
        {
            Assert.True(WireTypes.TryGetId(type, out var found));
            Assert.Equal(id, found);
        }
    }

    [Fact]
    public void Every_public_protocol_record_is_registered()
    {
        var missing = typeof(WireTypes).Assembly.GetExportedTypes()
            .Where(IsRecord)
            .Where(t => !WireTypes.IsRegistered(t))
            .Select(t => t.FullName)
            .ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_kernel_message_that_crosses_is_registered_and_the_kernels_own_are_not()
    {
        var kernel = typeof(Ack).Assembly;
        var naming = kernel.GetExportedTypes().Where(t => t.Namespace == typeof(NameRecord).Namespace && IsRecord(t));
        foreach (var type in naming.Append(typeof(Ack)).Append(typeof(KernelFault)))
            Assert.True(WireTypes.IsRegistered(type), $"{type} crosses between kernels and name servers but is not registered");
        // Spawn and stop carry a server image (code): they stay inside a machine.
        Assert.False(WireTypes.IsRegistered(kernel.GetType("Fos.Kernel.SpawnRequest", throwOnError: true)!));
        Assert.False(WireTypes.IsRegistered(kernel.GetType("Fos.Kernel.StopRequest", throwOnError: true)!));
    }

    [Fact]
    public void No_registered_record_has_a_member_a_sender_could_fill_with_any_type()
    {
        // object, interfaces and abstract classes let the bytes choose what is made; the one
        // object member there is (a forwarded handle request) has a formatter that reads it through the registry.
        var open = WireTypes.All.Select(e => e.Type).Where(IsRecord)
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => (Type: t, Property: p)))
            .Where(m => m.Property.PropertyType == typeof(object) || m.Property.PropertyType.IsInterface || m.Property.PropertyType.IsAbstract)
            .Select(m => $"{m.Type.Name}.{m.Property.Name}")
            .ToList();
        Assert.Equal(["ShardHandleOp.Request"], open);
    }
}
