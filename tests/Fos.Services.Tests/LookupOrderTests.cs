using Fos.Kernel;
using Fos.Kernel.Naming;
using static Fos.Services.Tests.Naming;

namespace Fos.Services.Tests;

public class LookupOrderTests
{
    private const string Fleet = "/app/fleet";

    /// <summary>Two machines of four cores; members on m1.c3, m1.c1, m2.c0 and m1.c2, registered in that order.</summary>
    private static async Task<(Naming Naming, Dictionary<string, Endpoint> Members)> FleetOnTwoMachines()
    {
        var naming = await Boot(cores: 4, machines: 2);
        var members = new Dictionary<string, Endpoint>();
        foreach (var core in new[] { Core(3), Core(1), Core(0, machine: 2), Core(2) })
        {
            var echo = await naming.Echo(core);
            await naming.Register(core, Fleet, echo);
            members[core.ToString()] = echo;
        }
        return (naming, members);
    }

    [Theory]
    [InlineData(1, 2, "m1.c2 m1.c1 m1.c3 m2.c0")] // itself, then one core apart (lower core first on a tie), then the other machine
    [InlineData(1, 0, "m1.c1 m1.c2 m1.c3 m2.c0")]
    [InlineData(1, 3, "m1.c3 m1.c2 m1.c1 m2.c0")]
    [InlineData(2, 1, "m2.c0 m1.c1 m1.c2 m1.c3")] // its own machine first, then the other one's
    [InlineData(2, 3, "m2.c0 m1.c1 m1.c2 m1.c3")]
    public async Task Members_come_back_nearest_first_for_the_asking_core(int machine, int core, string expected)
    {
        var (naming, members) = await FleetOnTwoMachines();
        await using var _ = naming;

        var record = await naming.LookupAll(Core(core, machine), Fleet);

        Assert.Equal(Fleet, record.Name);
        Assert.Equal(expected, string.Join(" ", record.Members.Select(m => m.Address.CoreId)));
        Assert.All(record.Members, m => Assert.Equal(members[m.Address.CoreId.ToString()], m)); // with their capabilities
    }

    [Theory]
    [InlineData(1, 3, "m1.c3")]
    [InlineData(1, 0, "m1.c1")]
    [InlineData(2, 2, "m2.c0")]
    public async Task Lookup_returns_the_nearest_member(int machine, int core, string nearest)
    {
        var (naming, members) = await FleetOnTwoMachines();
        await using var _ = naming;

        var found = await naming.Lookup(Core(core, machine), Fleet);

        Assert.Equal(members[nearest], found);
        Assert.Equal("pong", await naming.On(Core(core, machine), k => k.Call(found, "pong").AsTask()));
    }

    [Fact]
    public async Task Members_on_one_core_come_in_mailbox_order_whatever_the_order_they_joined()
    {
        await using var naming = await Boot();
        var first = await naming.Echo(Core(2));
        var second = await naming.Echo(Core(2));
        var far = await naming.Echo(Core(3));
        await naming.Register(Core(3), Fleet, far);
        await naming.Register(Core(2), Fleet, second);
        await naming.Register(Core(2), Fleet, first);

        var record = await naming.LookupAll(Core(1), Fleet);

        Assert.True(first.Address.Mailbox < second.Address.Mailbox);
        Assert.Equal<Endpoint>([first, second, far], record.Members);
    }

    [Fact]
    public async Task The_name_server_is_registered_under_its_well_known_name()
    {
        await using var naming = await Boot();

        var found = await naming.Lookup(Core(3), WellKnownNames.NameService);

        Assert.Equal(naming.NameServer, found);
        Assert.Equal(Core(0), found.Address.CoreId);
        Assert.Equal(naming.NameServer, naming.Kernel(Core(3)).NameServer);
    }
}
