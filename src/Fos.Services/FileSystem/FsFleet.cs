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
        await runtime.Execute(core, k => k.Call(member.Peer, new FsConfigure(index, members, view.ShardOwners, view.QuotaBytes)).AsTask());
        await runtime.Execute(coordinator, async k =>
        {
            foreach (var old in view.Members)
            {
                try
                {
                    await k.Call(old.Peer, new FsMembers(members), TimeSpan.FromSeconds(2));
                }
                catch (FosException ex) when (ex.Unanswered)
                {
                    // Down: it learns the members when it comes back (a replacement is configured with them).
                }
            }
            await k.Register(WellKnownNames.FileSystemFleet, member.Peer);
            await k.Register(WellKnownNames.FileSystem, member.Public);
            return true;
        });
        var owners = view.ShardOwners;
        var active = owners.Distinct().Append(index).ToHashSet();
        var target = FsStore.Shards / active.Count;
        var unreachable = new HashSet<int>();
        for (var moved = 0; moved < target;)
        {
            // From whoever owns the most now and answers; their highest shard, so the choice is the
            // same every run and the root's (shard 0) stays where the file system began.
            var busiest = owners.Where(o => !unreachable.Contains(o) && o != index).GroupBy(o => o)
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => (int?)g.Key).FirstOrDefault();
            if (busiest is not { } from) break; // nobody left to take from: the newcomer keeps what it has
            var shard = Array.LastIndexOf(owners, from);
            try
            {
                await Move(runtime, coordinator, members[from].Peer, shard, index);
            }
            catch (FosException ex) when (ex.Unanswered)
            {
                unreachable.Add(from); // its machine is down: its shards stay with it
                continue;
            }
            owners[shard] = index;
            moved++;
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
                    await k.Call(members[i].Peer, new FsMemberAt(index, replacement), TimeSpan.FromSeconds(2)); // owners stay as each knows them: shards may be moving
                }
                catch (FosException ex) when (ex.Unanswered)
                {
                    // Dead as well: its own replacement learns the members when it is configured.
                }
            }
            await k.Call(replacement.Peer, new FsConfigure(index, members, view.ShardOwners, view.QuotaBytes));
            await k.Register(WellKnownNames.FileSystemFleet, replacement.Peer);
            await k.Register(WellKnownNames.FileSystem, replacement.Public);
            foreach (var (name, gone) in new[] { (WellKnownNames.FileSystem, dead.Public), (WellKnownNames.FileSystemFleet, dead.Peer) })
            {
                try
                {
                    await k.Unregister(name, gone);
                }
                catch (FosException ex) when (ex.Error == FosError.NoSuchName)
                {
                    // Withdrawn with its core or machine already (or a member the fleet only knew from its stores).
                }
            }
            return true;
        });
        return replacement;
    }

    /// <summary>The fleet as <paramref name="fleet"/> (a member's peer mailbox) sees it.</summary>
    public static Task<FsFleetView> State(IFosRuntime runtime, CoreId coordinator, Endpoint fleet) =>
        runtime.Execute(coordinator, k => k.Call<FsFleetView>(fleet, new FsFleetState()).AsTask());

    private static Task<object?> Move(IFosRuntime runtime, CoreId coordinator, Endpoint owner, int shard, int to) =>
        runtime.Execute(coordinator, k => k.Call(owner, new FsMoveShard(shard, to), TimeSpan.FromMinutes(5)).AsTask());
}
