using System.Net;
using System.Net.Sockets;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.Naming;

namespace Fos.Runtime.Network;

/// <summary>
/// A machine's node of the cluster's directory of names: Raft (DotNext's, over TCP with the
/// cluster's mutual TLS 1.3) replicates the directory's log to every machine that is a voter, at
/// most <see cref="RaftDirectoryOptions.MaxMachines"/>; the log, snapshots of the state and the
/// configuration are kept under <see cref="RaftDirectoryOptions.StateDirectory"/>, so a node that
/// restarts comes back with what it had and catches up. Only the leader appends: a change
/// submitted elsewhere is forwarded to it (<see cref="Forwarder"/>, which the caller provides; see
/// <see cref="DirectoryMessages"/> for fos messages between machines), and the leader's machine is
/// found through the machines the replicated state records. The naming server of the machine
/// opens its replica (<see cref="Open"/>) and hears every committed change on its own core.
/// Whoever starts a node disposes it, after the machine whose name server uses it has stopped.
/// </summary>
public sealed partial class RaftDirectory : IAsyncDisposable
{
    /// <summary>How long to wait before trying again while there is no leader, or it changes.</summary>
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(20);

    /// <summary>How often the node looks whether the state records it as it is (its endpoint and mailbox).</summary>
    private static readonly TimeSpan RecordCheck = TimeSpan.FromMilliseconds(250);

    private readonly RaftDirectoryOptions options;
    private readonly DirectoryStateMachine state;
    private readonly WriteAheadLog wal;
    private readonly DirectoryMembersStorage members;
    private readonly RaftCluster cluster;
    private readonly SemaphoreSlim membership = new(1, 1); // Raft changes its configuration one member at a time
    private readonly SemaphoreSlim recordWanted = new(0);
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock gate = new();
    private Endpoint forwarderMailbox;
    private Task recording = Task.CompletedTask;
    private volatile bool admitted;
    private int disposed;

    private RaftDirectory(RaftDirectoryOptions options, DirectoryStateMachine state, WriteAheadLog wal, DirectoryMembersStorage members, RaftCluster cluster)
    {
        this.options = options;
        this.state = state;
        this.wal = wal;
        this.members = members;
        this.cluster = cluster;
        cluster.LeaderChanged += (_, _) => WantRecord();
        // Every configuration installed once the node runs is one the leader committed.
        members.ConfigurationChanged += (configuration, _) =>
        {
            admitted = configuration.Members.Contains(options.Endpoint);
            return ValueTask.CompletedTask;
        };
    }

    /// <summary>
    /// Starts this machine's node: restores its state from its directory, listens, and takes part
    /// in elections. A founder's first start makes a directory of one; any other start waits to
    /// hear from a leader (a machine that joins waits to be added: see <see cref="WaitReady"/>).
    /// </summary>
    /// <exception cref="FosException"><see cref="FosError.BadRequest"/>: the node cannot listen at its endpoint.</exception>
    public static async Task<RaftDirectory> Start(RaftDirectoryOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.LowerElectionTimeout <= TimeSpan.Zero || options.UpperElectionTimeout < options.LowerElectionTimeout)
            throw new ArgumentOutOfRangeException(nameof(options), "the election timeout needs 0 < lower <= upper");
        var machine = options.Identity.Machine;
        var log = options.Log ?? (line => Console.Error.WriteLine($"fos m{machine}: {line}"));
        var directory = Path.GetFullPath(options.StateDirectory);
        Directory.CreateDirectory(directory);
        var membersFile = Path.Combine(directory, "members");
        var cold = options.Bootstrap && !File.Exists(membersFile); // the founder's very first start: a directory of one

        // The snapshot first: the log is read from where it ends.
        var state = new DirectoryStateMachine(new DirectoryInfo(Path.Combine(directory, "snapshots")), options.SnapshotInterval, log);
        await state.RestoreAsync(cancel).ConfigureAwait(false);
        var wal = new WriteAheadLog(new WriteAheadLog.Options { Location = Path.Combine(directory, "log") }, state);
        var storage = new DirectoryMembersStorage(membersFile);
        if (!cold && !File.Exists(membersFile))
        {
            if (options.Voters.Count == 0)
                throw new ArgumentException($"m{machine} joins a directory but was told none of its voters: pass the founder's node at least (or Bootstrap to make a new cluster)", nameof(options));
            await storage.Seed([.. options.Voters, options.Endpoint], cancel).ConfigureAwait(false);
        }
        // A configuration committed by the leader (a version past 0), or the founder's own of one:
        // a joiner's own (the voters it was told of) does not make it a voter yet.
        var (known, version) = await storage.Load(cancel).ConfigureAwait(false);
        var admitted = cold || version > 0 || (known.Count == 1 && known.Contains(options.Endpoint));
        var configuration = new RaftCluster.TcpConfiguration(options.Endpoint)
        {
            ColdStart = cold,
            ConfigurationStorage = storage,
            LowerElectionTimeout = (int)options.LowerElectionTimeout.TotalMilliseconds,
            UpperElectionTimeout = (int)options.UpperElectionTimeout.TotalMilliseconds,
            HeartbeatThreshold = options.HeartbeatThreshold,
            RequestTimeout = options.RequestTimeout,
            ConnectTimeout = options.ConnectTimeout,
            SslOptions = new DirectoryTls(options.Identity, log).Options(),
            LoggerFactory = new DirectoryLogging(log),
        };
        var node = new RaftDirectory(options, state, wal, storage, new RaftCluster(configuration) { AuditTrail = wal }) { admitted = admitted };
        try
        {
            await node.cluster.StartAsync(cancel).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw new FosException(FosError.BadRequest, $"m{machine}'s directory cannot listen on {options.Endpoint}: {ex.Message}");
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        node.recording = Task.Run(node.KeepRecorded);
        return node;
    }

    public ushort Machine => options.Identity.Machine;

    /// <summary>Where this node listens, and what the other nodes know it by.</summary>
    public IPEndPoint Endpoint => options.Endpoint;

    /// <summary>How a request is carried to the leader when this node is not it; null: it is not, until set.</summary>
    public DirectoryForwarder? Forwarder { get; set; }

    /// <summary>Whether this node leads the directory now.</summary>
    public bool IsLeader => cluster.Leader is { IsRemote: false };

    /// <summary>The leader's machine as this node knows it (null: no leader known, or not yet which machine it is).</summary>
    public ushort? LeaderMachine => cluster.Leader is { } leader ? leader.IsRemote ? state.MachineAt(leader.EndPoint) : Machine : null;

    /// <summary>The endpoints of the directory's voters as this node has them (none while it is not in the configuration).</summary>
    public IReadOnlyList<EndPoint> Voters => [.. cluster.Members.Select(m => m.EndPoint)];

    /// <summary>Whether this node is one of the directory's voters (in a configuration the leader committed).</summary>
    public bool InConfiguration => admitted && cluster.Members.Any(m => !m.IsRemote);

    /// <summary>The machines the replicated state records, by number.</summary>
    public IReadOnlyList<DirectoryMachine> Machines => state.Machines;

    /// <summary>The names as applied on this node, as Adds in name order.</summary>
    public DirectoryChange[] Names => state.Names;

    /// <summary>The last log index applied on this node.</summary>
    public long AppliedIndex => wal.LastAppliedIndex;

    /// <summary>The mailbox on <paramref name="machine"/> that takes forwarded requests, once that machine has recorded one.</summary>
    public Endpoint? ForwarderOf(ushort machine) => state.Machine(machine) is { Forwarder: var mailbox } && mailbox != default ? mailbox : null;

    /// <summary>
    /// Records <paramref name="mailbox"/> as where this machine takes forwarded requests: the node
    /// writes it to the replicated state as soon as it can, and again whenever the state does not
    /// say it (a mailbox is new on every start of a machine).
    /// </summary>
    public void PublishForwarder(Endpoint mailbox)
    {
        lock (gate) forwarderMailbox = mailbox;
        WantRecord();
    }

    // ---- the replica -------------------------------------------------------------------------

    /// <summary>
    /// Opens this machine's replica: <paramref name="events"/> is handed the names as they stand (as
    /// Adds), then every change committed after, each once and in commit order, by
    /// <paramref name="post"/>, which must run what it is given on the replica's core, in the order given.
    /// </summary>
    /// <exception cref="FosException"><see cref="FosError.BadRequest"/>: a replica is open on this node already.</exception>
    public IDirectory Open(IDirectoryEvents events, Action<Action> post) => new Port(this, state.Open(events, post));

    private sealed class Port(RaftDirectory node, DirectoryStateMachine.Replica replica) : IDirectory, IDisposable
    {
        public Task Submit(DirectoryChange change) => node.Submit(replica, change);

        public Task Sync() => node.Sync(replica);

        /// <summary>Closes the replica; a new one may open.</summary>
        public void Dispose() => node.state.Close(replica);
    }

    private Task Submit(DirectoryStateMachine.Replica replica, DirectoryChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var done = new TaskCompletionSource();
        // Off the submitter's core: Raft's work runs on the pool, and the answer is posted back.
        _ = Task.Run(async () =>
        {
            try
            {
                // One id for every try: a change committed on a try whose answer was lost is applied once.
                var submit = new DirectorySubmit(change, Random.Shared.NextInt64(1, long.MaxValue));
                var index = await OnLeader(submit, options.CommitTimeout, $"commit {change.Kind} {change.Name}").ConfigureAwait(false);
                await AppliedHere(index, $"apply {change.Kind} {change.Name}").ConfigureAwait(false);
                replica.Post(() => done.TrySetResult()); // after the change's own delivery, which was posted first
            }
            catch (FosException ex)
            {
                replica.Post(() => done.TrySetException(ex));
            }
        });
        return done.Task;
    }

    private Task Sync(DirectoryStateMachine.Replica replica)
    {
        var done = new TaskCompletionSource();
        _ = Task.Run(async () =>
        {
            try
            {
                await ReadBarrier().ConfigureAwait(false);
                replica.Post(() => done.TrySetResult());
            }
            catch (FosException ex)
            {
                replica.Post(() => done.TrySetException(ex));
            }
        });
        return done.Task;
    }

    /// <summary>Waits until this node has applied every entry the leader had committed when it was asked.</summary>
    private async Task ReadBarrier()
    {
        using var deadline = Deadline(options.CommitTimeout);
        string? problem = null;
        while (true)
        {
            var (done, why) = await TryReadBarrier(deadline.Token).ConfigureAwait(false);
            if (done) return;
            if (deadline.IsCancellationRequested) break;
            problem = why ?? problem; // no leader now, or it changed: try again
            if (!await Pause(deadline.Token).ConfigureAwait(false)) break;
        }
        throw Unreachable("catch up with the cluster", problem, options.CommitTimeout);
    }

    /// <summary>One strong read barrier, within <paramref name="deadline"/> → whether it was passed, and if not, why (null: the deadline came).</summary>
    private async Task<(bool Done, string? Problem)> TryReadBarrier(CancellationToken deadline)
    {
        try
        {
            await Task.Run(() => cluster.ApplyReadBarrierAsync(ReadBarrierType.Strong, deadline).AsTask()).WaitAsync(deadline).ConfigureAwait(false);
            return (true, null);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (false, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return (false, ex.Message);
        }
    }

    /// <summary>Waits until this node has applied entry <paramref name="index"/> (committed: it will come).</summary>
    private async Task AppliedHere(long index, string what)
    {
        using var deadline = Deadline(options.CommitTimeout);
        try
        {
            await wal.WaitForApplyAsync(index, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            throw Unreachable(what, $"entry {index} was committed but has not reached this machine", options.CommitTimeout);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------

    private CancellationTokenSource Deadline(TimeSpan bound, CancellationToken also = default)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token, also);
        deadline.CancelAfter(bound);
        return deadline;
    }

    /// <summary>A short pause before trying again; false once the deadline has passed.</summary>
    private static async Task<bool> Pause(CancellationToken deadline)
    {
        try
        {
            await Task.Delay(RetryPause, deadline).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private FosException Unreachable(string what, string? problem, TimeSpan bound) =>
        stopping.IsCancellationRequested
            ? Stopped()
            : new FosException(FosError.MachineDown,
                $"the directory could not {what}: m{Machine} reached no leader with a majority of the cluster's machines within {bound.TotalSeconds:0.#} s"
                + (problem is null ? "" : $" ({problem})") + "; check that most of the cluster's machines run and reach each other");

    private FosException Stopped() => new(FosError.ShuttingDown, $"m{Machine}'s directory node has stopped");

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        await stopping.CancelAsync().ConfigureAwait(false);
        await recording.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await cluster.DisposeAsync().ConfigureAwait(false); // stops it first
        await wal.DisposeAsync().ConfigureAwait(false);
        await state.DisposeAsync().ConfigureAwait(false);
        members.Dispose();
    }
}
