using Fos.Kernel;
using Fos.Services.Basic;
using Fos.Simulation;
using static Fos.Services.Tests.Naming;

namespace Fos.Services.Tests;

public class NameCacheTests
{
    private const string Name = "/app/cached";

    [Fact]
    public async Task A_looked_up_name_is_cached_and_asking_again_costs_no_call()
    {
        await using var naming = await Boot();
        var echo = await naming.Echo(Core(1));
        await naming.Register(Core(1), Name, echo);
        var kernel = naming.Kernel(Core(2));
        Assert.False(kernel.IsCached(Name));

        var calls = kernel.Stats.CallsMade;
        var first = await naming.LookupAll(Core(2), Name);
        Assert.True(kernel.IsCached(Name));
        Assert.Equal(calls + 1, kernel.Stats.CallsMade);

        var second = await naming.LookupAll(Core(2), Name);
        var nearest = await naming.Lookup(Core(2), Name);
        Assert.Equal(calls + 1, kernel.Stats.CallsMade);
        Assert.Same(first, second);
        Assert.Equal(echo, nearest);
    }

    [Fact]
    public async Task A_rebind_on_another_core_reaches_the_caching_kernel_and_its_next_lookup_sees_the_new_member()
    {
        await using var naming = await Boot();
        var one = await naming.Echo(Core(1));
        await naming.Register(Core(1), Name, one);
        var cacher = naming.Kernel(Core(3));
        Assert.Equal(one, await naming.Lookup(Core(3), Name));
        var calls = cacher.Stats.CallsMade;

        var near = await naming.Echo(Core(3));
        await naming.Register(Core(2), Name, near); // registered from another core than the cacher
        naming.System.RunUntil(() => !cacher.IsCached(Name), naming.System.NowNanoseconds + 1_000_000);

        Assert.False(cacher.IsCached(Name));
        Assert.Equal(calls, cacher.Stats.CallsMade); // the notice is a one-way message: the cacher asked nothing
        Assert.Equal(near, await naming.Lookup(Core(3), Name)); // nearest to m1.c3 is its own member now
        Assert.Equal(calls + 1, cacher.Stats.CallsMade);
        Assert.True(cacher.IsCached(Name));
        Assert.Equal(near, await naming.Lookup(Core(3), Name));
        Assert.Equal(calls + 1, cacher.Stats.CallsMade);
    }

    [Fact]
    public async Task An_unregistered_member_disappears_from_other_kernels_caches()
    {
        await using var naming = await Boot();
        var near = await naming.Echo(Core(2));
        var far = await naming.Echo(Core(0));
        await naming.Register(Core(2), Name, near);
        await naming.Register(Core(0), Name, far);
        Assert.Equal(near, await naming.Lookup(Core(3), Name));

        await naming.Unregister(Core(2), Name, near);
        naming.System.RunUntil(() => !naming.Kernel(Core(3)).IsCached(Name), naming.System.NowNanoseconds + 1_000_000);

        Assert.Equal(far, await naming.Lookup(Core(3), Name));
    }

    [Fact]
    public async Task A_name_that_was_missing_is_found_once_another_core_registers_it()
    {
        await using var naming = await Boot();
        await Assert.ThrowsAsync<FosException>(() => naming.Lookup(Core(1), Name));
        Assert.True(naming.Kernel(Core(1)).IsCached(Name)); // the empty answer is cached too...

        var echo = await naming.Echo(Core(2));
        await naming.Register(Core(2), Name, echo);
        naming.Settle();

        Assert.Equal(echo, await naming.Lookup(Core(1), Name)); // ...and dropped when the name is bound
    }

    [Fact]
    public async Task A_kernel_drops_its_own_cached_entry_when_it_changes_the_name()
    {
        await using var naming = await Boot();
        var one = await naming.Echo(Core(3));
        await naming.Register(Core(1), Name, one);
        Assert.Equal(one, await naming.Lookup(Core(1), Name));
        var kernel = naming.Kernel(Core(1));

        var two = await naming.Echo(Core(1));
        await naming.Register(Core(1), Name, two);

        Assert.False(kernel.IsCached(Name));
        Assert.Equal(two, await naming.Lookup(Core(1), Name)); // no settling needed: it knew at once
    }

    [Fact]
    public async Task Only_kernels_that_cached_the_name_are_told_and_only_once_until_they_ask_again()
    {
        await using var naming = await Boot(keepLog: true);
        var echo = await naming.Echo(Core(1));
        await naming.Register(Core(1), Name, echo);
        await naming.Lookup(Core(3), Name); // m1.c3 caches it; m1.c1 and m1.c2 do not

        var second = await naming.Echo(Core(2));
        await naming.Register(Core(2), Name, second); // a rebind: m1.c3 is told
        naming.Settle();
        var third = await naming.Echo(Core(0));
        await naming.Register(Core(2), Name, third); // m1.c3 has not asked again: nobody to tell
        naming.Settle();

        var notices = naming.System.Log.Where(line => line.Contains("NameChanged", StringComparison.Ordinal)).ToList();
        var notice = Assert.Single(notices);
        Assert.Contains("Send m1.c0.b0>m1.c3.b0 ", notice);
        Assert.Contains($"Name = {Name}", notice);
    }

    [Fact]
    public async Task A_kernel_whose_change_notice_was_lost_drops_the_stale_entry_after_a_failed_call_to_it()
    {
        // The name server says a kernel it cannot reach "keeps a stale entry until its next failed call".
        // Find the first seed of a lossy network where the notice to the caching kernel is the message lost.
        for (ulong seed = 1; seed <= 200; seed++)
        {
            await using var system = new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = 4, Faults = new FaultPlan { DropRate = 0.25 } });
            await SystemBoot.StartNaming(system);
            var old = await system.Execute(Core(1), k => Task.FromResult(k.StartServer(EchoServer.Image)));
            var fresh = await system.Execute(Core(2), k => Task.FromResult(k.StartServer(EchoServer.Image)));
            await system.Execute(Core(1), k => Retry(k, () => k.Register(Name, old)));
            if (await system.Execute(Core(3), k => Retry(k, () => k.Lookup(Name).AsTask())) != old) continue;
            var dropsBefore = system.Dropped;
            // The rebind: the one notice goes out with the first attempt that reaches the name server.
            await system.Execute(Core(2), async k =>
            {
                await Retry(k, () => k.Register(Name, fresh));
                return await RetryUnregister(k, old);
            });
            system.CrashServer(old.Address);
            system.RunFor(TimeSpan.FromMilliseconds(1));
            if (!system.Kernel(Core(3)).IsCached(Name) || system.Dropped == dropsBefore) continue;

            // m1.c3 missed the rebind. Its call to the member it remembers fails (gone, or timed out on
            // the lossy network)... and the failure makes its kernel forget the name and ask again, so a
            // retry reaches the member that replaced it instead of failing forever.
            var failures = await system.Execute(Core(3), async k =>
            {
                var seen = new List<FosError>();
                for (var attempt = 0; attempt < 20; attempt++)
                {
                    try
                    {
                        await k.Call(await Retry(k, () => k.Lookup(Name).AsTask()), "hello", TimeSpan.FromMicroseconds(200));
                        return seen;
                    }
                    catch (FosException ex) when (ex.Error is FosError.Timeout or FosError.NoSuchMailbox)
                    {
                        seen.Add(ex.Error);
                    }
                }
                throw new InvalidOperationException($"still failing after 20 calls: {string.Join(", ", seen)}");
            });
            Assert.NotEmpty(failures);
            Assert.Equal(fresh, await system.Execute(Core(3), k => Retry(k, () => k.Lookup(Name).AsTask())));
            return;
        }
        Assert.Fail("no seed from 1 to 200 lost the change notice");
    }

    private static async Task<T> Retry<T>(IKernel kernel, Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (FosException ex) when (ex.Error == FosError.Timeout && attempt < 50)
            {
                await kernel.Delay(TimeSpan.FromMicroseconds(10));
            }
        }
    }

    private static async Task<bool> RetryUnregister(IKernel kernel, Endpoint member)
    {
        try
        {
            await Retry(kernel, () => kernel.Unregister(Name, member));
        }
        catch (FosException ex) when (ex.Error == FosError.NoSuchName)
        {
            // a retried request that had got through already
        }
        return true;
    }
}
