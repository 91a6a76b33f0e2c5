using System.Diagnostics;
using System.Net;
using DotNext.Net.Cluster.Consensus.Raft;
using Fos.Kernel;
using Fos.Protocols.Naming;

namespace Fos.Runtime.Network;

/// <summary>The directory's voters: machines added (one at a time, at most five), a joiner made ready, and each machine's record kept.</summary>
public sealed partial class RaftDirectory
{
    /// <summary>
    /// Makes <paramref name="machine"/>, whose node listens at <paramref name="endpoint"/>, a voter of
    /// the directory (on the leader, forwarded there otherwise): once this completes, it is in the
    /// configuration and has caught up. Adding a voter again does nothing.
    /// </summary>
    /// <exception cref="FosException">
    /// <see cref="FosError.BadRequest"/>: the directory has <see cref="RaftDirectoryOptions.MaxMachines"/>
    /// voters already, or the machine is one at another endpoint; <see cref="FosError.ServiceError"/>
    /// (EHOSTUNREACH): the machine could not be reached to catch up (not running, or not of this
    /// cluster); <see cref="FosError.MachineDown"/>: no leader with a majority.
    /// </exception>
    public Task AddMachine(ushort machine, IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (machine == 0) throw new FosException(FosError.BadRequest, "machine numbers start at 1");
        return Task.Run(() => OnLeader(new DirectoryAddMachine(machine, endpoint.ToString()), options.MembershipTimeout, $"add m{machine} at {endpoint}"));
    }

    private async Task<long> Admit(ushort machine, IPEndPoint endpoint, CancellationToken cancel)
    {
        await membership.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            var voters = Voters;
            var isVoter = voters.Contains(endpoint);
            if (!isVoter)
            {
                if (voters.Count >= RaftDirectoryOptions.MaxMachines)
                    throw new FosException(FosError.BadRequest,
                        $"a cluster has at most {RaftDirectoryOptions.MaxMachines} machines in its directory, and this one has {voters.Count} ({Described(voters)}): m{machine} cannot join; remove a machine first");
                if (state.Machine(machine) is { } known && IPEndPoint.TryParse(known.Address, out var before) && voters.Contains(before))
                    throw new FosException(FosError.BadRequest, $"m{machine} is in the directory already, at {known.Address}, not {endpoint}: remove it there first");
            }
            // Recorded first, so that every node, the newcomer too, knows which machine each voter is.
            if (!Recorded(state.Machine(Machine), Wanted())) await Append(Wanted(), cancel).ConfigureAwait(false);
            if (state.Machine(machine)?.Address != endpoint.ToString())
                await Append(new DirectoryMachine(machine, endpoint.ToString(), default), cancel).ConfigureAwait(false);
            if (!isVoter)
            {
                await CatchUp(machine, endpoint, cancel).ConfigureAwait(false);
                PushCommitIndex(); // the newcomer learns it is a voter now, not a heartbeat later
            }
            return wal.LastCommittedEntryIndex;
        }
        finally
        {
            membership.Release();
        }
    }

    /// <summary>
    /// Raft's catch-up of a new voter: a few rounds of replication, which a slow first connection
    /// (a TLS handshake on a busy host) or a round cut short can spoil, so it is tried again until
    /// most of the time for adding a machine is spent; then the machine is taken for unreachable.
    /// </summary>
    private async Task CatchUp(ushort machine, IPEndPoint endpoint, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (!await cluster.AddMemberAsync(endpoint, cancel).ConfigureAwait(false) && !Voters.Contains(endpoint))
        {
            if (clock.Elapsed > options.MembershipTimeout * 0.7)
                throw new FosException(FosError.ServiceError,
                    $"EHOSTUNREACH: m{machine} at {endpoint} did not catch up with the directory within {clock.Elapsed.TotalSeconds:0.#} s, so it was not added: is it running and reachable from m{Machine}, and is its certificate from this cluster?",
                    "EHOSTUNREACH");
            await Task.Delay(RetryPause * 5, cancel).ConfigureAwait(false);
        }
    }

    private string Described(IEnumerable<EndPoint> voters) =>
        string.Join(", ", voters.Select(v => state.MachineAt(v) is { } m ? $"m{m} at {v}" : v.ToString()));

    private static IPEndPoint ParseEndpoint(string address) =>
        IPEndPoint.TryParse(address, out var endpoint) && endpoint.Port > 0
            ? endpoint
            : throw new FosException(FosError.BadRequest, $"'{address}' is not an IP address and port of a directory node");

    /// <summary>
    /// Completes once this node is a voter, knows a leader and has caught up with it (a read
    /// barrier): for a machine that joins, once a machine of the cluster has added it.
    /// </summary>
    /// <exception cref="FosException"><see cref="FosError.Timeout"/>: not within <paramref name="timeout"/>.</exception>
    public async Task WaitReady(TimeSpan timeout)
    {
        using var deadline = Deadline(timeout);
        var problem = "it is not a voter of the directory yet";
        while (true)
        {
            if (!InConfiguration) problem = "it is not a voter of the directory yet";
            else if (cluster.Leader is null) problem = "it knows no leader yet";
            else
            {
                var (done, why) = await TryReadBarrier(deadline.Token).ConfigureAwait(false);
                if (done) return;
                if (deadline.IsCancellationRequested) break;
                problem = why ?? problem;
            }
            if (!await Pause(deadline.Token).ConfigureAwait(false)) break;
        }
        if (stopping.IsCancellationRequested) throw Stopped();
        throw new FosException(FosError.Timeout,
            $"m{Machine}'s directory node was not ready within {timeout.TotalSeconds:0.#} s ({problem}; it has applied the log to {wal.LastAppliedIndex}): a machine of the cluster must add it (AddMachine) and reach it at {Endpoint}");
    }



    private DirectoryMachine Wanted()
    {
        lock (gate) return new DirectoryMachine(Machine, Endpoint.ToString(), forwarderMailbox);
    }

    private static bool Recorded(DirectoryMachine? known, DirectoryMachine wanted) =>
        known is not null && known.Address == wanted.Address && (wanted.Forwarder == default || known.Forwarder == wanted.Forwarder);

    private void WantRecord()
    {
        try
        {
            if (recordWanted.CurrentCount == 0) recordWanted.Release();
        }
        catch (ObjectDisposedException)
        {
            // Stopped.
        }
    }

    /// <summary>Keeps the replicated state saying where this node listens and which mailbox takes its forwarded requests.</summary>
    private async Task KeepRecorded()
    {
        while (!stopping.IsCancellationRequested)
        {
            var wanted = Wanted();
            if (InConfiguration && cluster.Leader is not null && !Recorded(state.Machine(Machine), wanted))
            {
                try
                {
                    await OnLeader(wanted, options.CommitTimeout, $"record m{Machine}").ConfigureAwait(false);
                    continue;
                }
                catch (FosException)
                {
                    // No majority now: looked at again below.
                }
            }
            try
            {
                await recordWanted.WaitAsync(RecordCheck, stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
