using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Simulation;

/// <summary>
/// The directory of names across simulated machines, as a replicated log in virtual time: a
/// change commits once the machine that submitted it reaches a majority of the machines that hold
/// a replica (a leader's round trip later), and every replica applies the log in the same order,
/// a network crossing after the commit. A replica cut off by a partition lags and catches up when
/// it heals; a machine cut off from the majority cannot commit, and its change fails after
/// <see cref="CommitTimeout"/>, as a Raft follower without a leader would. (The real runtime runs
/// Raft itself; this is its behaviour as the services see it, under the simulator's seed.)
/// </summary>
internal sealed class SimDirectory(SimulatedSystem system, SimRandom random)
{
    public static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(1);

    private readonly List<DirectoryChange> log = [];
    private readonly SortedDictionary<ushort, Replica> replicas = [];

    private sealed class Replica(SimCore core, IDirectoryEvents events)
    {
        public SimCore Core { get; } = core;
        public IDirectoryEvents Events { get; } = events;
        public int Applied { get; set; }
        public Dictionary<int, TaskCompletionSource> Waiting { get; } = [];
    }

    public IDirectory Open(SimCore core, IDirectoryEvents events)
    {
        var machine = core.Core.Machine;
        if (replicas.TryGetValue(machine, out var open) && !open.Core.Dead)
            throw new FosException(FosError.BadRequest, $"m{machine} holds a replica of the directory already (one naming server per machine)");
        var replica = replicas[machine] = new Replica(core, events);
        if (log.Count > 0) Deliver(replica, log.Count); // a new replica catches up on what was committed before it
        return new Port(this, replica);
    }

    private sealed class Port(SimDirectory directory, Replica replica) : IDirectory
    {
        public Task Submit(DirectoryChange change) => directory.Submit(replica, change);

        public Task Sync() => directory.Sync(replica);
    }

    private long Crossing() => system.Options.Latency.Cost(new CoreId(1, 0), new CoreId(2, 0), random);

    private bool HasQuorum(ushort machine)
    {
        var reachable = replicas.Values.Count(r => !r.Core.Dead && (r.Core.Core.Machine == machine || system.Network.CanReach(machine, r.Core.Core.Machine)));
        return reachable * 2 > replicas.Count; // of every replica, dead or cut off ones too, as of Raft's voters
    }

    private Task Submit(Replica from, DirectoryChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var done = new TaskCompletionSource();
        var machine = from.Core.Core.Machine;
        if (!HasQuorum(machine)) return FailLater(from, done, $"the directory could not commit {change.Kind} {change.Name}: m{machine} reaches no majority of the cluster's machines");
        var roundTrip = replicas.Count > 1 ? 2 * Crossing() : 0;
        system.AtTime(system.NowNanoseconds + roundTrip, from.Core, () =>
        {
            log.Add(change);
            system.Record($"directory commit #{log.Count} {change.Kind} {change.Name} {change.Member.Address} {change.Core}");
            from.Waiting[log.Count] = done;
            foreach (var replica in replicas.Values)
                if (replica == from) Apply(replica, log.Count);
                else if (!replica.Core.Dead && system.Network.CanReach(machine, replica.Core.Core.Machine)) Deliver(replica, log.Count);
        });
        return done.Task;
    }

    /// <summary>A read barrier: the leader's commit index, a round trip away, applied here before it completes.</summary>
    private Task Sync(Replica replica)
    {
        var done = new TaskCompletionSource();
        var machine = replica.Core.Core.Machine;
        if (!HasQuorum(machine)) return FailLater(replica, done, $"the directory's replica on m{machine} cannot catch up: it reaches no majority of the cluster's machines");
        var upTo = log.Count;
        system.AtTime(system.NowNanoseconds + (replicas.Count > 1 ? 2 * Crossing() : 0), replica.Core, () =>
        {
            Apply(replica, upTo);
            done.TrySetResult();
        });
        return done.Task;
    }

    /// <summary>What a Raft member without a leader does: it waits for one, then gives up.</summary>
    private Task FailLater(Replica replica, TaskCompletionSource done, string why)
    {
        system.AtTime(system.NowNanoseconds + CommitTimeout.Ticks * 100, replica.Core, () => done.TrySetException(new FosException(FosError.MachineDown, why)));
        return done.Task;
    }

    /// <summary>Brings <paramref name="replica"/> up to entry <paramref name="upTo"/>, a network crossing from now.</summary>
    private void Deliver(Replica replica, int upTo) =>
        system.AtTime(system.NowNanoseconds + Crossing(), replica.Core, () => Apply(replica, upTo));

    private void Apply(Replica replica, int upTo)
    {
        while (replica.Applied < upTo)
        {
            var index = ++replica.Applied;
            replica.Events.Applied(log[index - 1]);
            if (replica.Waiting.Remove(index, out var waiting)) waiting.TrySetResult();
        }
    }

    /// <summary>After a partition heals, every replica that fell behind catches up.</summary>
    public void CatchUp()
    {
        foreach (var replica in replicas.Values)
            if (!replica.Core.Dead && replica.Applied < log.Count) Deliver(replica, log.Count);
    }
}
