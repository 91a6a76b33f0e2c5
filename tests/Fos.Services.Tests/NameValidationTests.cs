using Fos.Kernel;
using Fos.Kernel.Naming;
using static Fos.Services.Tests.Naming;

namespace Fos.Services.Tests;

public class NameValidationTests
{
    public static TheoryData<string> BadNames => new()
    {
        "",
        "fs",
        "sys/fs",
        "/sys/fs/",
        "/sys//fs",
        "/sys/my fs",
        " /sys/fs",
        "/sys/fs\t",
        "/sys/\u0001fs",
        "/sys/fs\n",
        "/sys/\u007ffs",
        "/" + new string('a', NameValidation.MaxLength),
    };

    /// <summary>After a refusal the name server still registers and answers.</summary>
    private static async Task AssertStillServing(Naming naming)
    {
        var echo = await naming.Echo(Core(2));
        var name = $"/app/ok{echo.Address.Mailbox}";
        await naming.Register(Core(2), name, echo);
        Assert.Equal(echo, await naming.Lookup(Core(3), name));
    }

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task A_bad_name_is_refused_by_the_kernel_before_anything_is_sent(string name)
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));
        var kernel = naming.Kernel(Core(1));
        var calls = kernel.Stats.CallsMade;

        var errors = new[]
        {
            await Assert.ThrowsAsync<FosException>(() => naming.Register(Core(1), name, echo)),
            await Assert.ThrowsAsync<FosException>(() => naming.Unregister(Core(1), name, echo)),
            await Assert.ThrowsAsync<FosException>(() => naming.Lookup(Core(1), name)),
            await Assert.ThrowsAsync<FosException>(() => naming.LookupAll(Core(1), name)),
        };

        Assert.All(errors, e =>
        {
            Assert.Equal(FosError.BadRequest, e.Error);
            Assert.StartsWith($"'{name}' is not a valid name", e.Message);
        });
        Assert.Equal(calls, kernel.Stats.CallsMade);
        Assert.False(kernel.IsCached(name));
        await AssertStillServing(naming);
    }

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task A_bad_name_sent_straight_to_the_name_server_is_refused(string name)
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));

        var errors = new[]
        {
            await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(1), new NameRegister(name, echo))),
            await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(1), new NameUnregister(name, echo))),
            await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(1), new NameLookup(name, Core(1), null))),
        };

        Assert.All(errors, e =>
        {
            Assert.Equal(FosError.BadRequest, e.Error);
            Assert.StartsWith($"'{name}' is not a valid name", e.Message);
        });
        await AssertStillServing(naming);
    }

    [Fact]
    public async Task A_raw_request_without_a_name_is_a_bad_request()
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));

        var errors = new[]
        {
            await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(1), new NameRegister(null!, echo))),
            await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(1), new NameUnregister(null!, echo))),
            await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(1), new NameLookup(null!, Core(1), null))),
        };

        Assert.All(errors, e => Assert.True(e.Error == FosError.BadRequest, $"{e.Error}: {e.Message}"));
        await AssertStillServing(naming);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/a")]
    [InlineData("/sys/fs")]
    [InlineData("/app/é-ü_1.2:3")]
    public async Task Good_names_are_accepted(string name)
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));

        await naming.Register(Core(1), name, echo);

        Assert.Equal(echo, await naming.Lookup(Core(2), name));
    }

    [Fact]
    public async Task A_name_of_exactly_the_longest_length_is_accepted()
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));
        var longest = "/" + new string('n', NameValidation.MaxLength - 1);

        await naming.Register(Core(1), longest, echo);

        Assert.Equal(256, longest.Length);
        Assert.Equal(echo, await naming.Lookup(Core(2), longest));
    }

    [Theory]
    [InlineData("hello", "String")]
    [InlineData(42, "Int32")]
    [InlineData(null, "null")]
    public async Task A_message_the_name_server_does_not_understand_is_a_bad_request(object? body, string shown)
    {
        await using var naming = await Boot();

        var error = await Assert.ThrowsAsync<FosException>(() => naming.Raw(Core(1), body));

        Assert.Equal(FosError.BadRequest, error.Error);
        Assert.Equal($"the name server does not understand {shown}", error.Message);
        await AssertStillServing(naming);
    }

    [Fact]
    public async Task A_one_way_message_the_name_server_does_not_understand_changes_nothing()
    {
        await using var naming = await Boot();
        await naming.On(Core(1), k =>
        {
            k.Send(naming.NameServer, "stray");
            return Task.FromResult(true);
        });
        naming.Settle();

        var server = Assert.Single(naming.Kernel(Core(0)).Servers);
        Assert.Equal(naming.NameServer, server.Endpoint);
        await AssertStillServing(naming);
    }
}
