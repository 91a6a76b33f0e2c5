using Fos.Kernel;
using Fos.Kernel.Naming;
using static Fos.Services.Tests.Naming;

namespace Fos.Services.Tests;

public class NameListTests
{
    [Fact]
    public async Task Listing_a_prefix_gives_its_bound_names_sorted_with_their_members()
    {
        await using var naming = await Boot();
        var a = await naming.Echo(Core(1));
        var b = await naming.Echo(Core(2));
        var c = await naming.Echo(Core(3));
        await naming.Register(Core(2), "/app/b", b);
        await naming.Register(Core(3), "/sys/c", c);
        await naming.Register(Core(1), "/app/a", a);
        await naming.Register(Core(3), "/app/c/d", c);
        await naming.Register(Core(1), "/application", a);
        await naming.Register(Core(2), "/app/gone", b);
        await naming.Unregister(Core(2), "/app/gone", b);                              // emptied: not listed
        await Assert.ThrowsAsync<FosException>(() => naming.Lookup(Core(1), "/app/asked")); // only asked about: not listed

        var listing = await naming.On(Core(1), k => k.Call<NameListing>(naming.NameServer, new NameList("/app/")).AsTask());

        Assert.Equal(["/app/a", "/app/b", "/app/c/d"], listing.Names.Select(n => n.Name));
        Assert.Equal<Endpoint>([a], listing.Names[0].Members);
        Assert.Equal<Endpoint>([b], listing.Names[1].Members);
        Assert.Equal<Endpoint>([c], listing.Names[2].Members);
        Assert.Equal((await naming.LookupAll(Core(2), "/app/b")).Version, listing.Names[1].Version);
    }

    [Fact]
    public async Task Listing_the_root_gives_every_bound_name_in_ordinal_order()
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));
        await naming.Register(Core(1), "/zeta", echo);
        await naming.Register(Core(1), "/Zeta", echo);
        await naming.Register(Core(1), "/alpha", echo);

        var listing = await naming.On(Core(2), k => k.Call<NameListing>(naming.NameServer, new NameList("/")).AsTask());

        Assert.Equal(["/Zeta", "/alpha", WellKnownNames.NameService, "/zeta"], listing.Names.Select(n => n.Name));
    }

    [Fact]
    public async Task Listing_a_prefix_nothing_is_under_gives_an_empty_listing()
    {
        await using var naming = await Boot();

        var listing = await naming.On(Core(2), k => k.Call<NameListing>(naming.NameServer, new NameList("/nothing/")).AsTask());

        Assert.Empty(listing.Names);
    }
}
