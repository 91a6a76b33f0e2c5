using Fos.Kernel;
using Fos.Kernel.Naming;

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
    public static async Task<int> AddMember(IFosRuntime runtime, CoreId core, CoreId coordinator)
    {
        var view = await State(runtime, coordinator);
        var member = await runtime.Execute(core, k => Task.FromResult(k.StartServer(FileSystemServer.Image)));
        Endpoint[] members = [.. view.Members, member];
        var index = members.Length - 1;
        await runtime.Execute(core, k => k.Call(member, new FsConfigure(index, members, view.ShardOwners)));
        await runtime.Execute(coordinator, async k =>
        {
            foreach (var old in view.Members) await k.Call(old, new FsMembers(members));
            await k.Register(WellKnownNames.FileSystem, member);
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
            await Move(runtime, coordinator, members[busiest], shard, index);
            owners[shard] = index;
        }
        return index;
    }

    /// <summary>Hands every shard of member <paramref name="index"/> to the others, unregisters it and stops it.</summary>
    public static async Task RemoveMember(IFosRuntime runtime, int index, CoreId coordinator)
    {
        var view = await State(runtime, coordinator);
        var owners = view.ShardOwners;
        var staying = owners.Distinct().Where(o => o != index).ToList();
        if (staying.Count == 0) throw new FosException(FosError.BadRequest, "the last member of the file system cannot leave");
        var leaving = view.Members[index];
        await runtime.Execute(coordinator, k => k.Unregister(WellKnownNames.FileSystem, leaving));
        for (var shard = 0; shard < FsStore.Shards; shard++)
        {
            if (owners[shard] != index) continue;
            var least = staying.OrderBy(m => owners.Count(o => o == m)).ThenBy(m => m).First();
            await Move(runtime, coordinator, leaving, shard, least);
            owners[shard] = least;
        }
        await runtime.Execute(coordinator, async k =>
        {
            await k.Call(leaving, new FsQuiesce(), TimeSpan.FromMinutes(1)); // what it started, it finishes
            await k.Stop(leaving);
            return true;
        });
    }

    private static Task<FsFleetView> State(IFosRuntime runtime, CoreId coordinator) =>
        runtime.Execute(coordinator, k => k.Call<FsFleetView>(WellKnownNames.FileSystem, new FsFleetState()));

    private static Task<object?> Move(IFosRuntime runtime, CoreId coordinator, Endpoint owner, int shard, int to) =>
        runtime.Execute(coordinator, k => k.Call(owner, new FsMoveShard(shard, to), TimeSpan.FromMinutes(5)));
}
