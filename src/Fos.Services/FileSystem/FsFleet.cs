using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

/// <summary>
/// Growing and shrinking the file-system fleet while it serves: a new member joins owning
/// nothing and then takes shards from the busiest members until all hold about the same number;
/// a member that leaves first hands every shard it owns to the members that stay. Shards move by
/// messages (<see cref="FsMoveShard"/>), one at a time, each with its data and open handles, while
/// clients keep working. The elasticity service drives this from load; tests and the shell call it.
/// </summary>
public static class FsFleet
{
    /// <summary>Starts a member on <paramref name="core"/>, adds it to the fleet and rebalances → its index.</summary>
    /// <param name="fleet">Any member's peer mailbox (the fleet's own; boot keeps them).</param>
    public static async Task<int> AddMember(IFosRuntime runtime, CoreId core, CoreId coordinator, Endpoint fleet)
    {
        var view = await State(runtime, coordinator, fleet);
        var member = await runtime.Execute(core, k => Task.FromResult(FileSystemServer.Start(k)));
        FsMember[] members = [.. view.Members, member];
        var index = members.Length - 1;
        await runtime.Execute(core, k => k.Call(member.Peer, new FsConfigure(index, members, view.ShardOwners, view.QuotaBytes)));
        await runtime.Execute(coordinator, async k =>
        {
            foreach (var old in view.Members) await k.Call(old.Peer, new FsMembers(members));
            await k.Register(WellKnownNames.FileSystemFleet, member.Peer);
            await k.Register(WellKnownNames.FileSystem, member.Public);
            return true;
        });
        var owners = view.ShardOwners;
        var active = owners.Distinct().Append(index).ToHashSet();
        var target = FsStore.Shards / active.Count;
        for (var moved = 0; moved < target; moved++)
        {
            // From whoever owns the most now; the lowest shard of theirs, so the choice is the same every run.
            var busiest = owners.GroupBy(o => o).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
            var shard = Array.IndexOf(owners, busiest);
            await Move(runtime, coordinator, members[busiest].Peer, shard, index);
            owners[shard] = index;
        }
        return index;
    }

    /// <summary>Hands every shard of member <paramref name="index"/> to the others, unregisters it and stops it.</summary>
    public static async Task RemoveMember(IFosRuntime runtime, int index, CoreId coordinator, Endpoint fleet)
    {
        var view = await State(runtime, coordinator, fleet);
        var owners = view.ShardOwners;
        var staying = owners.Distinct().Where(o => o != index).ToList();
        if (staying.Count == 0) throw new FosException(FosError.BadRequest, "the last member of the file system cannot leave");
        var leaving = view.Members[index];
        await runtime.Execute(coordinator, async k =>
        {
            await k.Unregister(WellKnownNames.FileSystem, leaving.Public);
            return await k.Unregister(WellKnownNames.FileSystemFleet, leaving.Peer);
        });
        for (var shard = 0; shard < FsStore.Shards; shard++)
        {
            if (owners[shard] != index) continue;
            var least = staying.OrderBy(m => owners.Count(o => o == m)).ThenBy(m => m).First();
            await Move(runtime, coordinator, leaving.Peer, shard, least);
            owners[shard] = least;
        }
        await runtime.Execute(coordinator, async k =>
        {
            await k.Call(leaving.Peer, new FsQuiesce(), TimeSpan.FromMinutes(1)); // what it started, it finishes
            await k.Stop(leaving.Public);
            return true;
        });
    }

    /// <summary>
    /// Starts a member on <paramref name="core"/> in place of member <paramref name="index"/>, whose
    /// core died: it opens the dead member's store (finishing what that member had under way), every
    /// member learns of it, and <c>/sys/fs</c> names it instead of the dead one → the new member.
    /// </summary>
    public static async Task<FsMember> Replace(IFosRuntime runtime, int index, CoreId core, Endpoint fleet)
    {
        var view = await State(runtime, core, fleet);
        if (index < 0 || index >= view.Members.Length) throw new FosException(FosError.BadRequest, $"no member {index} in this fleet");
        var replacement = await runtime.Execute(core, k => Task.FromResult(FileSystemServer.Start(k)));
        var members = view.Members.ToArray();
        var dead = members[index];
        members[index] = replacement;
        await runtime.Execute(core, async k =>
        {
            for (var i = 0; i < members.Length; i++)
            {
                if (i == index) continue;
                try
                {
                    await k.Call(members[i].Peer, new FsConfigure(i, members, view.ShardOwners, view.QuotaBytes), TimeSpan.FromSeconds(2));
                }
                catch (FosException ex) when (ex.Error is FosError.Timeout or FosError.NoSuchMailbox or FosError.NoSuchCore)
                {
                    // Dead as well: its own replacement learns the members when it is configured.
                }
            }
            await k.Call(replacement.Peer, new FsConfigure(index, members, view.ShardOwners, view.QuotaBytes));
            await k.Register(WellKnownNames.FileSystemFleet, replacement.Peer);
            await k.Register(WellKnownNames.FileSystem, replacement.Public);
            await k.Unregister(WellKnownNames.FileSystem, dead.Public);
            try
            {
                await k.Unregister(WellKnownNames.FileSystemFleet, dead.Peer);
            }
            catch (FosException ex) when (ex.Error == FosError.NoSuchName)
            {
                // Withdrawn with its core already.
            }
            return true;
        });
        return replacement;
    }

    /// <summary>The fleet as <paramref name="fleet"/> (a member's peer mailbox) sees it.</summary>
    public static Task<FsFleetView> State(IFosRuntime runtime, CoreId coordinator, Endpoint fleet) =>
        runtime.Execute(coordinator, k => k.Call<FsFleetView>(fleet, new FsFleetState()));

    private static Task<object?> Move(IFosRuntime runtime, CoreId coordinator, Endpoint owner, int shard, int to) =>
        runtime.Execute(coordinator, k => k.Call(owner, new FsMoveShard(shard, to), TimeSpan.FromMinutes(5)));
}
