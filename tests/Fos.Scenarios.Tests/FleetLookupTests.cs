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

    /// <summary>Starts an echo server on <paramref name="core"/> and adds it to the fleet.</summary>
    private static Task<Endpoint> Join(IFosRuntime system, CoreId core) =>
        system.Execute(core, async k =>
        {
            var member = k.StartServer(EchoServer.Image);
            await k.Register(Fleet, member);
            return member;
        }, Runtimes.Deadline);
}
