using DotNext.Net.Cluster.Consensus.Raft;
using Fos.Kernel;
using Fos.Protocols.Naming;
using Fos.Protocols.Wire;

namespace Fos.Runtime.Network;

/// <summary>The node's side of the leader: a request runs there, here if this node leads, or is forwarded.</summary>
public sealed partial class RaftDirectory
{
    /// <summary>
    /// Runs <paramref name="request"/> on the leader: here if this node leads, else forwarded to the
    /// leader's machine; through elections and lost leaders it tries again until
    /// <paramref name="bound"/> has passed. Answers the index the request committed at.
    /// </summary>
    private async Task<long> OnLeader(IDirectoryRequest request, TimeSpan bound, string what)
    {
        using var deadline = Deadline(bound);
        string? problem = null;
        while (true)
        {
            try
            {
                var leader = cluster.Leader;
                if (leader is null) problem = InConfiguration ? "no leader is known" : "this machine is not a voter of the directory";
                // Not every wait in Raft (a write to the log that the disk holds up) ends the moment
                // the deadline passes: the bound is kept here, whatever the work does.
                else if (!leader.IsRemote) return await Task.Run(() => Lead(request, deadline.Token)).WaitAsync(deadline.Token).ConfigureAwait(false);
                else if (state.MachineAt(leader.EndPoint) is not { } machine) problem = $"the leader at {leader.EndPoint} is no machine this one knows yet";
                else if (Forwarder is not { } forward) problem = "this machine has no way yet to forward requests to the leader";
                else return await Task.Run(() => forward(machine, request, deadline.Token)).WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (FosException ex) when (ex.Error is FosError.BadRequest or FosError.ServiceError)
            {
                throw; // the leader's answer, not a failure to reach it
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                problem = ex.Message; // the leader changed, lost its majority, or cannot be reached: try again
            }
            if (!await Pause(deadline.Token).ConfigureAwait(false)) break;
        }
        throw Unreachable(what, problem, bound);
    }

    /// <summary>
    /// The leader's side of a request another machine forwarded (see <see cref="Forwarder"/>):
    /// answers the index it committed at, or fails with a <see cref="FosException"/>, which the
    /// sender retries unless it is a refusal (<see cref="FosError.BadRequest"/>, <see cref="FosError.ServiceError"/>).
    /// </summary>
    public async Task<long> HandleForwarded(IDirectoryRequest request, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsLeader) throw new FosException(FosError.MachineDown, $"m{Machine} does not lead the directory now");
        using var deadline = Deadline(request is DirectoryAddMachine ? options.MembershipTimeout : options.CommitTimeout, cancel);
        try
        {
            var index = await Lead(request, deadline.Token).ConfigureAwait(false);
            // The sender waits until its own node applies the entry, which would otherwise hear
            // the new commit index only with the next heartbeat: send it now.
            PushCommitIndex();
            return index;
        }
        catch (FosException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new FosException(FosError.MachineDown, $"m{Machine} could not commit {request.GetType().Name} for the directory: {ex.Message}");
        }
    }

    private void PushCommitIndex()
    {
        try
        {
            _ = cluster.ForceReplicationAsync().AsTask().ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (NotLeaderException)
        {
            // Then the next leader tells the followers.
        }
    }

    private async Task<long> Lead(IDirectoryRequest request, CancellationToken cancel) => request switch
    {
        DirectorySubmit submit => await Append(submit.Change is null ? throw new FosException(FosError.BadRequest, "a directory submit needs a change") : submit, cancel).ConfigureAwait(false),
        DirectoryMachine machine => await Append(machine, cancel).ConfigureAwait(false),
        DirectoryAddMachine add => await Admit(add.Machine, ParseEndpoint(add.Address), cancel).ConfigureAwait(false),
        _ => throw new FosException(FosError.BadRequest, $"the directory does not understand {request.GetType().Name}"),
    };

    /// <summary>Appends <paramref name="body"/> to the log and waits until a majority has it and it is applied here.</summary>
    private async Task<long> Append(object body, CancellationToken cancel)
    {
        var appliedAt = new DirectoryStateMachine.AppliedAt();
        await cluster.ReplicateAsync(WireCodec.ToArray(body), appliedAt, cancel).ConfigureAwait(false);
        return appliedAt.Index > 0 ? appliedAt.Index : wal.LastAppliedIndex; // the latter is past it, and committed
    }
}
