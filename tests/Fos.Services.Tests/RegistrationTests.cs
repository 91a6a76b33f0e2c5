using Fos.Kernel;
using static Fos.Services.Tests.Naming;

namespace Fos.Services.Tests;

public class RegistrationTests
{
    private const string Name = "/app/svc";

    [Fact]
    public async Task Unregister_removes_the_member()
    {
        await using var naming = await Boot();
        var one = await naming.Echo(Core(1));
        var two = await naming.Echo(Core(2));
        await naming.Register(Core(1), Name, one);
        await naming.Register(Core(2), Name, two);

        var after = await naming.Unregister(Core(1), Name, one);

        Assert.Equal<Endpoint>([two], after.Members);
        Assert.Equal<Endpoint>([two], (await naming.LookupAll(Core(3), Name)).Members);
        Assert.Equal(two, await naming.Lookup(Core(1), Name));
    }

    [Fact]
    public async Task Unregistering_a_member_that_is_not_one_is_refused()
    {
        await using var naming = await Boot();
        var member = await naming.Echo(Core(1));
        var stranger = await naming.Echo(Core(2));
        await naming.Register(Core(1), Name, member);

        var notMember = await Assert.ThrowsAsync<FosException>(() => naming.Unregister(Core(2), Name, stranger));
        var noName = await Assert.ThrowsAsync<FosException>(() => naming.Unregister(Core(2), "/app/never", stranger));

        Assert.Equal(FosError.NoSuchName, notMember.Error);
        Assert.Equal($"{stranger.Address} is not a member of {Name}", notMember.Message);
        Assert.Equal(FosError.NoSuchName, noName.Error);
        Assert.Equal($"{stranger.Address} is not a member of /app/never", noName.Message);
        Assert.Equal<Endpoint>([member], (await naming.LookupAll(Core(3), Name)).Members);
    }

    [Fact]
    public async Task Looking_up_an_unknown_name_fails_with_no_such_name()
    {
        await using var naming = await Boot();

        var error = await Assert.ThrowsAsync<FosException>(() => naming.Lookup(Core(2), "/app/nobody"));
        var all = await naming.LookupAll(Core(3), "/app/nobody");

        Assert.Equal(FosError.NoSuchName, error.Error);
        Assert.Equal("no server is registered under '/app/nobody'", error.Message);
        Assert.Empty(all.Members);
        Assert.Equal(0, all.Version);
    }

    [Fact]
    public async Task Looking_up_a_name_whose_last_member_left_fails_with_no_such_name()
    {
        await using var naming = await Boot();
        var only = await naming.Echo(Core(1));
        await naming.Register(Core(1), Name, only);
        Assert.Equal(only, await naming.Lookup(Core(2), Name)); // cached on m1.c2 now

        await naming.Unregister(Core(1), Name, only);
        naming.Settle();

        foreach (var core in new[] { Core(1), Core(2), Core(3) })
        {
            var error = await Assert.ThrowsAsync<FosException>(() => naming.Lookup(core, Name));
            Assert.Equal(FosError.NoSuchName, error.Error);
            Assert.Equal($"no server is registered under '{Name}'", error.Message);
        }
    }

    [Fact]
    public async Task The_version_grows_on_every_change_and_only_then()
    {
        await using var naming = await Boot();
        var one = await naming.Echo(Core(1));
        var two = await naming.Echo(Core(2));

        var first = (await naming.Register(Core(1), Name, one)).Version;
        var second = (await naming.Register(Core(2), Name, two)).Version;
        var looked = (await naming.LookupAll(Core(3), Name)).Version;
        var lookedAgain = (await naming.LookupAll(Core(0), Name)).Version;
        await Assert.ThrowsAsync<FosException>(() => naming.Unregister(Core(3), Name, new Endpoint(one.Address with { Mailbox = 99 }, one.Capability)));
        var third = (await naming.Unregister(Core(1), Name, one)).Version;
        var fourth = (await naming.Register(Core(1), Name, one)).Version;

        Assert.True(first > 0);
        Assert.True(second > first, $"{second} after {first}");
        Assert.Equal(second, looked);
        Assert.Equal(second, lookedAgain);
        Assert.True(third > second, $"{third} after {second}");
        Assert.True(fourth > third, $"{fourth} after {third}");
        Assert.Equal(fourth, (await naming.LookupAll(Core(2), Name)).Version);
    }

    [Fact]
    public async Task Registering_the_same_member_twice_keeps_one_copy()
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));

        await naming.Register(Core(1), Name, echo);
        var again = await naming.Register(Core(2), Name, echo);

        Assert.Equal<Endpoint>([echo], again.Members);
        Assert.Equal<Endpoint>([echo], (await naming.LookupAll(Core(3), Name)).Members);
    }

    [Fact]
    public async Task Re_registering_an_address_after_a_revoke_replaces_its_capability()
    {
        await using var naming = await Boot();
        var old = await naming.Echo(Core(1));
        var other = await naming.Echo(Core(2));
        await naming.Register(Core(1), Name, old);
        await naming.Register(Core(2), Name, other);

        var fresh = await naming.On(Core(1), k => Task.FromResult(k.Revoke(old.Address)));
        var record = await naming.Register(Core(1), Name, fresh);

        Assert.Equal(old.Address, fresh.Address);
        Assert.NotEqual(old.Capability, fresh.Capability);
        Assert.Equal<Endpoint>([fresh, other], record.Members);
        var found = await naming.Lookup(Core(0), Name);
        Assert.Equal(fresh, found);
        Assert.Equal("still here", await naming.On(Core(0), k => k.Call(found, "still here").AsTask()));
        var refused = await Assert.ThrowsAsync<FosException>(() => naming.On(Core(0), k => k.Call(old, "old capability").AsTask()));
        Assert.Equal(FosError.CapabilityRefused, refused.Error);
    }

    [Fact]
    public async Task A_member_without_a_capability_is_refused()
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));
        var bare = new Endpoint(echo.Address, Capability.None);

        var error = await Assert.ThrowsAsync<FosException>(() => naming.Register(Core(1), Name, bare));
        var raw = await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(2), new Fos.Kernel.Naming.NameRegister(Name, bare)));

        Assert.Equal(FosError.BadRequest, error.Error);
        Assert.Equal($"cannot register {echo.Address} under {Name}: a member needs a capability", error.Message);
        Assert.Equal(FosError.BadRequest, raw.Error);
        Assert.Empty((await naming.LookupAll(Core(3), Name)).Members);
        Assert.Equal<Endpoint>([echo], (await naming.Register(Core(1), Name, echo)).Members);
    }
}
