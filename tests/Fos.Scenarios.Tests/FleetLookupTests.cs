using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Scenarios.Tests;

public class FleetLookupTests
{
    private const string Fleet = "/test/fleet";

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task Each_core_reaches_its_nearest_member_first(string kind)
    {
        await using var system = await Runtimes.Boot(kind, cores: 4);
        var cores = system.Cores;
        var members = new Dictionary<CoreId, Endpoint>();
        foreach (var core in new[] { cores[3], cores[1] }) members[core] = await Join(system, core);

        // A core with a member of its own gets that member; the others get the one fewest cores away.
        Assert.Equal(members[cores[1]], await system.Execute(cores[1], k => k.Lookup(Fleet).AsTask(), Runtimes.Deadline));
        Assert.Equal(members[cores[3]], await system.Execute(cores[3], k => k.Lookup(Fleet).AsTask(), Runtimes.Deadline));
        Assert.Equal(members[cores[1]], await system.Execute(cores[0], k => k.Lookup(Fleet).AsTask(), Runtimes.Deadline));
        var fromTwo = await system.Execute(cores[2], k => k.LookupAll(Fleet).AsTask(), Runtimes.Deadline);
        Assert.Equal([members[cores[1]], members[cores[3]]], fromTwo.Members.ToArray()); // a tie goes to the lower core

        // The answer is what a call through the name reaches.
        Assert.Equal("hi", await system.Execute(cores[0], k => k.Call<string>(Fleet, "hi"), Runtimes.Deadline));
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_rebind_reaches_a_kernel_that_cached_the_name(string kind)
    {
        await using var system = await Runtimes.Boot(kind, cores: 4);
        var cores = system.Cores;
        var far = await Join(system, cores[3]);
        Assert.Equal(far, await system.Execute(cores[0], k => k.Lookup(Fleet).AsTask(), Runtimes.Deadline));

        // A nearer member joins and the far one leaves: core 0 must stop using the far one.
        var near = await Join(system, cores[1]);
        await system.Execute(cores[3], k => k.Unregister(Fleet, far), Runtimes.Deadline);
        await system.Execute(cores[3], async k =>
        {
            await k.Stop(far);
            return true;
        }, Runtimes.Deadline);

        var seen = await system.Execute(cores[0], async k =>
        {
            // The change notice travels by message; wait for it with a deadline, never a sleep.
            for (var turn = 0; turn < 10_000; turn++)
            {
                if (!k.IsCached(Fleet)) break;
                await k.Delay(TimeSpan.FromMicroseconds(100));
            }
            return await k.Lookup(Fleet);
        }, Runtimes.Deadline);
        Assert.Equal(near, seen);
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_typed_call_to_a_member_that_left_goes_once_to_the_nearest_and_its_failures_are_the_policys(string kind)
    {
        await using var system = await Runtimes.Boot(kind, cores: 4);
        var cores = system.Cores;
        var gone = await Join(system, cores[3]);
        var staying = await Join(system, cores[1]);
        await system.Execute(cores[3], async k =>
        {
            await k.Unregister(Fleet, gone);
            await k.Stop(gone);
            return true;
        }, Runtimes.Deadline);
        var policy = new CallPolicy(Failover: Fleet, Translate: failure => new InvalidOperationException($"translated: {failure.Error}", failure));

        var (answer, unchanged, translated, wrongType, noName) = await system.Execute(cores[0], async k =>
        {
            // The departed member's mailbox is gone: the call goes on to the nearest member.
            var answer = await k.Call<string>(gone, "to whoever keeps it now", policy: policy);
            // Without a policy the same call fails as it always did.
            var unchanged = await Catch(() => k.Call<string>(gone, "no policy").AsTask());
            // A failure the policy sees is translated; one failover only, so a fleet whose every
            // member is gone cannot send a call round for ever.
            var translated = await Catch(() => k.Call<string>(gone, "refused", policy: policy with { Failover = null }).AsTask());
            // A reply of the wrong type names the mailbox that sent it.
            var wrongType = await Catch(() => k.Call<int>(staying, "not a number", policy: policy).AsTask());
            // Failing over to a name nobody holds ends the call with the lookup's failure.
            var noName = await Catch(() => k.Call<string>(gone, "anyone?", policy: new CallPolicy(Failover: "/test/nobody")).AsTask());
            return (answer, unchanged, translated, wrongType, noName);
        }, Runtimes.Deadline);

        // Careless policies: a name that is not one, and a translation with nothing to say.
        var (badName, silent) = await system.Execute(cores[0], async k => (
            await Catch(() => k.Call<string>(gone, "x", policy: new CallPolicy(Failover: "no spaces allowed")).AsTask()),
            await Catch(() => k.Call<string>(gone, "x", policy: new CallPolicy(Translate: _ => null!)).AsTask())), Runtimes.Deadline);
        Assert.Equal(FosError.BadRequest, Assert.IsType<FosException>(badName).Error);
        Assert.Equal(FosError.NoSuchMailbox, Assert.IsType<FosException>(silent).Error);

        Assert.Equal("to whoever keeps it now", answer);
        Assert.Equal(FosError.NoSuchMailbox, Assert.IsType<FosException>(unchanged).Error);
        Assert.StartsWith("translated: NoSuchMailbox", Assert.IsType<InvalidOperationException>(translated).Message);
        Assert.Equal(FosError.BadRequest, Assert.IsType<FosException>(Assert.IsType<InvalidOperationException>(wrongType).InnerException).Error);
        Assert.Equal(FosError.NoSuchName, Assert.IsType<FosException>(noName).Error);
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_failover_whose_second_member_has_also_gone_ends_the_call(string kind)
    {
        await using var system = await Runtimes.Boot(kind, cores: 4);
        var cores = system.Cores;
        var first = await Join(system, cores[3]);
        var second = await Join(system, cores[2]);
        // The second member stops but stays registered, as one that died before its watchdog noticed.
        await system.Execute(cores[3], async k =>
        {
            await k.Unregister(Fleet, first);
            await k.Stop(first);
            await k.Stop(second);
            return true;
        }, Runtimes.Deadline);

        var failure = await system.Execute(cores[0], k => Catch(() => k.Call<string>(first, "lost", policy: new CallPolicy(Failover: Fleet)).AsTask()), Runtimes.Deadline);

        Assert.Equal(FosError.NoSuchMailbox, Assert.IsType<FosException>(failure).Error);
        Assert.Contains(second.Address.ToString(), failure!.Message, StringComparison.Ordinal);
    }

    private static async Task<Exception?> Catch(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    /// <summary>Starts an echo server on <paramref name="core"/> and adds it to the fleet.</summary>
    private static Task<Endpoint> Join(IFosRuntime system, CoreId core) =>
        system.Execute(core, async k =>
        {
            var member = k.StartServer(EchoServer.Image);
            await k.Register(Fleet, member);
            return member;
        }, Runtimes.Deadline);
}
