using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Scenarios.Tests;

/// <summary>Bad messages get a clear error, are counted, and cost nobody else anything.</summary>
public class RefusalTests
{
    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_forged_capability_is_refused_counted_and_the_server_keeps_serving(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var (client, host) = (system.Cores[0], system.Cores[1]);
        var echo = await system.Execute(host, k => Task.FromResult(k.StartServer(EchoServer.Image)), Runtimes.Deadline);
        var forged = echo with { Capability = new Capability(echo.Capability.High ^ 1, echo.Capability.Low) };

        var error = await system.Execute(client, async k =>
        {
            try
            {
                await k.Call(forged, "let me in");
                return null;
            }
            catch (FosException ex)
            {
                return ex;
            }
        }, Runtimes.Deadline);
        Assert.NotNull(error);
        Assert.Equal(FosError.CapabilityRefused, error.Error);
        Assert.Contains(echo.Address.ToString(), error.Message);

        Assert.Equal("still here", await system.Execute(client, k => k.Call<string>(echo, "still here").AsTask(), Runtimes.Deadline));
        var stats = await system.Execute(host, k => Task.FromResult(k.Stats.Snapshot()), Runtimes.Deadline);
        Assert.Equal(1, stats.RefusedCapability);
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_revoked_capability_is_refused_and_the_new_one_works(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var (client, host) = (system.Cores[0], system.Cores[1]);
        var (old, fresh) = await system.Execute(host, k =>
        {
            var first = k.CreateMailbox(m => ValueTask.FromResult(m.Body));
            return Task.FromResult((first, k.Revoke(first.Address)));
        }, Runtimes.Deadline);

        var error = await system.Execute(client, k => Catch(k.Call(old, "old")), Runtimes.Deadline);
        Assert.Equal(FosError.CapabilityRefused, error?.Error);
        Assert.Equal("new", await system.Execute(client, k => k.Call<string>(fresh, "new").AsTask(), Runtimes.Deadline));
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_message_to_a_mailbox_that_does_not_exist_says_so(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var (client, host) = (system.Cores[0], system.Cores[1]);
        var nowhere = new Endpoint(new Address(host.Machine, host.Core, 4242), new Capability(1, 2));

        var error = await system.Execute(client, k => Catch(k.Call(nowhere, "anyone?")), Runtimes.Deadline);
        Assert.Equal(FosError.NoSuchMailbox, error?.Error);
        Assert.Contains("b4242", error!.Message);
        var stats = await system.Execute(host, k => Task.FromResult(k.Stats.Snapshot()), Runtimes.Deadline);
        Assert.Equal(1, stats.RefusedNoMailbox);
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_call_to_a_stopped_server_fails_plainly_and_its_neighbours_keep_working(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var (client, host) = (system.Cores[0], system.Cores[1]);
        var (doomed, neighbour) = await system.Execute(host, k =>
            Task.FromResult((k.StartServer(EchoServer.Image), k.StartServer(EchoServer.Image))), Runtimes.Deadline);

        await system.Execute(client, async k =>
        {
            await k.Stop(doomed);
            return true;
        }, Runtimes.Deadline);

        var error = await system.Execute(client, k => Catch(k.Call(doomed, "hello?")), Runtimes.Deadline);
        Assert.Equal(FosError.NoSuchMailbox, error?.Error);
        Assert.Equal("fine", await system.Execute(client, k => k.Call<string>(neighbour, "fine").AsTask(), Runtimes.Deadline));
        var servers = await system.Execute(host, k => Task.FromResult(k.Servers.Select(s => s.Endpoint).ToList()), Runtimes.Deadline);
        Assert.DoesNotContain(doomed, servers);
        Assert.Contains(neighbour, servers);
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_call_to_a_core_the_system_lacks_fails_at_once(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var missing = new Endpoint(new Address(1, 77, 1), new Capability(1, 2));
        var error = await system.Execute(system.Cores[0], k => Catch(k.Call(missing, "hello")), Runtimes.Deadline);
        Assert.Equal(FosError.NoSuchCore, error?.Error);
        Assert.Contains("m1.c77", error!.Message);
    }

    internal static Task<FosException?> Catch(ValueTask<object?> call) => Catch(call.AsTask());

    internal static async Task<FosException?> Catch(Task call)
    {
        try
        {
            await call;
            return null;
        }
        catch (FosException ex)
        {
            return ex;
        }
    }
}
