using System.Buffers;
using System.Net;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.Naming;
using Fos.Protocols.Wire;

namespace Fos.Runtime.Network;

/// <summary>
/// The directory's replicated state, as its committed log entries make it on this node: the
/// table of names and the directory's machines (where each node listens, and its mailbox for
/// forwarded requests). Entries are wire-encoded bodies (<see cref="WireCodec"/>): a
/// <see cref="DirectorySubmit"/> or a <see cref="DirectoryMachine"/>. Each change applied is handed
/// to the replica open on this node, through its poster, in commit order and once: a change whose
/// id is among the last <see cref="RecentIds"/> is one sent again, and is skipped. A snapshot
/// (the whole state, every <see cref="RaftDirectoryOptions.SnapshotInterval"/> entries) is a
/// <see cref="DirectorySnapshot"/>. The WAL's applier calls in one entry at a time; a replica
/// opens and machines are looked up from other threads, so the state is behind a lock.
/// </summary>
internal sealed class DirectoryStateMachine(DirectoryInfo location, int snapshotInterval, Action<string> log) : SimpleStateMachine(location)
{
    /// <summary>How many submitted ids are remembered: far more than are sent again within a submit's few seconds.</summary>
    public const int RecentIds = 4096;

    private readonly Lock gate = new();
    private readonly DirectoryTable table = new();
    private readonly SortedDictionary<ushort, DirectoryMachine> machines = [];
    private readonly Queue<long> recent = new();
    private readonly HashSet<long> recentSet = [];
    private Replica? replica;
    private long lastApplied;
    private int sinceSnapshot;

    /// <summary>The replica open on this node: what hears each change, and how to reach its core.</summary>
    internal sealed class Replica(IDirectoryEvents events, Action<Action> post)
    {
        public void Deliver(DirectoryChange change) => post(() => events.Applied(change));

        public void Post(Action work) => post(work);
    }

    /// <summary>Set on an entry this node appended as leader: the index it was applied at.</summary>
    internal sealed class AppliedAt
    {
        public long Index;
    }

    /// <summary>Opens the replica: it is handed the table as it stands (as Adds), then every change after.</summary>
    public Replica Open(IDirectoryEvents events, Action<Action> post)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(post);
        lock (gate)
        {
            if (replica is not null)
                throw new FosException(FosError.BadRequest, "this machine's directory has a replica open already (one naming server per machine)");
            var opened = replica = new Replica(events, post);
            foreach (var add in table.AsAdds()) opened.Deliver(add);
            return opened;
        }
    }

    /// <summary>Closes <paramref name="closing"/>, if it is the open replica: nothing more is delivered to it.</summary>
    public void Close(Replica closing)
    {
        lock (gate)
            if (replica == closing) replica = null;
    }

    public DirectoryMachine? Machine(ushort machine)
    {
        lock (gate) return machines.GetValueOrDefault(machine);
    }

    /// <summary>The machine whose node listens at <paramref name="endpoint"/>, if the state records it.</summary>
    public ushort? MachineAt(EndPoint endpoint)
    {
        lock (gate)
        {
            foreach (var (number, machine) in machines)
                if (IPEndPoint.TryParse(machine.Address, out var address) && address.Equals(endpoint)) return number;
            return null;
        }
    }

    public IReadOnlyList<DirectoryMachine> Machines
    {
        get { lock (gate) return [.. machines.Values]; }
    }

    /// <summary>The names, as Adds (for tests and tools).</summary>
    public DirectoryChange[] Names
    {
        get { lock (gate) return table.AsAdds(); }
    }

    protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        // Configuration changes go to the configuration storage, and a leader's first entry is
        // empty: neither is the directory's.
        if (entry.IsConfiguration || !entry.TryGetPayload(out var payload) || payload.IsEmpty) return Applied(entry.Index);
        object? body;
        try
        {
            body = WireCodec.Read(payload);
        }
        catch (FosException ex)
        {
            // Every node reads the same bytes and skips them alike, so the replicas still agree.
            log($"skipped directory entry {entry.Index}: {ex.Message}");
            return Applied(entry.Index);
        }
        if (entry.Context is AppliedAt appliedAt) appliedAt.Index = entry.Index;
        lock (gate)
        {
            switch (body)
            {
                case DirectorySubmit { Change: { } change } submit:
                    if (Remember(submit.Id))
                    {
                        table.Apply(change);
                        replica?.Deliver(change);
                    }
                    break;
                case DirectoryMachine machine:
                    Record(machine);
                    break;
                default:
                    log($"skipped directory entry {entry.Index}: a {body?.GetType().Name ?? "null"} is not a directory change");
                    break;
            }
        }
        return Applied(entry.Index);
    }

    /// <summary>Whether <paramref name="id"/> is new (then it is remembered, and the oldest forgotten past <see cref="RecentIds"/>).</summary>
    private bool Remember(long id)
    {
        if (!recentSet.Add(id)) return false;
        recent.Enqueue(id);
        if (recent.Count > RecentIds) recentSet.Remove(recent.Dequeue());
        return true;
    }

    /// <summary>A machine's record; one without a mailbox keeps the mailbox already known for the same address.</summary>
    private void Record(DirectoryMachine machine)
    {
        if (machine.Forwarder == default && machines.TryGetValue(machine.Machine, out var known) && known.Address == machine.Address)
            machine = machine with { Forwarder = known.Forwarder };
        machines[machine.Machine] = machine;
    }

    private ValueTask<bool> Applied(long index)
    {
        lastApplied = index;
        if (++sinceSnapshot < snapshotInterval) return ValueTask.FromResult(false);
        sinceSnapshot = 0;
        return ValueTask.FromResult(true);
    }

    protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token)
    {
        DirectorySnapshot snapshot;
        lock (gate) snapshot = new DirectorySnapshot(lastApplied, [.. machines.Values], table.AsAdds(), [.. recent]);
        return writer.Invoke(WireCodec.ToArray(snapshot), token);
    }

    /// <summary>
    /// Takes the state a snapshot holds: at start, before the log replays what came after it, or
    /// when the leader sends one to a node too far behind, whose open replica is then told the
    /// difference as changes.
    /// </summary>
    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        var bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false);
        if (WireCodec.Read(new ReadOnlySequence<byte>(bytes)) is not DirectorySnapshot snapshot)
            throw new InvalidDataException($"{snapshotFile.FullName} is not a snapshot of the directory");
        lock (gate)
        {
            machines.Clear();
            foreach (var machine in snapshot.Machines) machines[machine.Machine] = machine;
            recent.Clear();
            recentSet.Clear();
            foreach (var id in snapshot.Recent) Remember(id);
            var changes = table.Replace(snapshot.Names);
            lastApplied = snapshot.Index;
            if (replica is { } open)
                foreach (var change in changes) open.Deliver(change);
        }
    }
}
