using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.Memory;

namespace Fos.Services.Memory;

/// <summary>
/// Growing and shrinking the memory fleet while it serves. A new member joins with no pages and
/// borrows from its siblings the first time it runs dry; a member that leaves hands its free pages
/// and its allocations, bytes included, to the member nearest to it, and stops.
/// </summary>
public static class MemFleet
{
    /// <summary>
    /// Starts a member on <paramref name="core"/> and adds it to the fleet → its index. The fleet
    /// is asked through <paramref name="fleet"/> (a member known to answer), else the nearest member.
    /// </summary>
    public static async Task<int> AddMember(IFosRuntime runtime, CoreId core, CoreId coordinator, Endpoint? fleet = null)
    {
        var members = await Members(runtime, coordinator, fleet);
        var member = await runtime.Execute(core, k => Task.FromResult(k.StartServer(MemoryServer.Image)));
        Endpoint[] all = [.. members, member];
        await runtime.Execute(core, k => k.Call(member, new MemConfigure(all.Length - 1, all, 0, 0)).AsTask());
        await runtime.Execute(coordinator, async k =>
        {
            foreach (var old in members)
            {
                try
                {
                    await k.Call(old, new MemMembers(all), TimeSpan.FromSeconds(2));
                }
                catch (FosException ex) when (ex.Unanswered)
                {
                    // Gone (its machine down, or restarted since): it lends nothing and needs no news.
                }
            }
            await k.Register(WellKnownNames.Memory, member);
            return true;
        });
        return all.Length - 1;
    }

    /// <summary>Unregisters member <paramref name="index"/>, has it hand everything to its nearest sibling, and stops it.</summary>
    public static async Task RemoveMember(IFosRuntime runtime, int index, CoreId coordinator)
    {
        var members = await Members(runtime, coordinator);
        var leaving = members[index];
        var registered = await runtime.Execute(coordinator, k => k.LookupAll(WellKnownNames.Memory).AsTask());
        var heir = registered.Members.Where(m => m != leaving)
            .OrderBy(m => Nearness.Distance(leaving.Address.CoreId, m.Address)).FirstOrDefault();
        if (heir == default) throw new FosException(FosError.BadRequest, "the last member of the memory fleet cannot leave");
        await runtime.Execute(coordinator, async k =>
        {
            await k.Unregister(WellKnownNames.Memory, leaving);
            await k.Call(leaving, new MemHandOver(Array.IndexOf(members, heir)));
            await k.Stop(leaving);
            return true;
        });
    }

    /// <summary>The members in index order (those that left included), as <paramref name="fleet"/> (else the nearest member) knows them.</summary>
    private static Task<Endpoint[]> Members(IFosRuntime runtime, CoreId coordinator, Endpoint? fleet = null) =>
        runtime.Execute(coordinator, k => fleet is { } member ? k.Call<Endpoint[]>(member, new MemFleetState()).AsTask()
            : k.Call<Endpoint[]>(WellKnownNames.Memory, new MemFleetState()));
}
