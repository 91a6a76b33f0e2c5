using System.Net;

namespace Fos.Runtime.Network;

/// <summary>How to start a machine's node of the cluster's directory of names (<see cref="RaftDirectory"/>).</summary>
public sealed record RaftDirectoryOptions
{
    /// <summary>The most voters a directory has: Raft's majorities stay quick to reach, and five tolerate two machines lost.</summary>
    public const int MaxMachines = 5;

    /// <summary>Who this machine is: its certificate is what the other nodes see, and theirs must come from the same authority.</summary>
    public required ClusterIdentity Identity { get; init; }

    /// <summary>
    /// Where the node listens, and what the others dial it at (its identity in the directory's
    /// configuration, so it must be the same on every start, and reachable by the other machines).
    /// </summary>
    public required IPEndPoint Endpoint { get; init; }

    /// <summary>Where the node keeps its log, its snapshots and its configuration (a machine passes DATA/directory).</summary>
    public required string StateDirectory { get; init; }

    /// <summary>
    /// This is the machine that makes the cluster: on its very first start (nothing in
    /// <see cref="StateDirectory"/> yet) it is a directory of one, which others are added to. Every
    /// other start, of any machine, waits to hear from the leader of the directory it belongs to.
    /// </summary>
    public bool Bootstrap { get; init; }

    /// <summary>
    /// For a machine that joins: the directory's voters as it was told them when it joined (the
    /// founder's node at least). On its first start it takes them, and itself, as its configuration
    /// until the leader's committed one reaches it, so that while it is added it knows whom to vote
    /// for: a second voter that knew nobody could leave the pair without a leader for good.
    /// </summary>
    public IReadOnlyList<IPEndPoint> Voters { get; init; } = [];

    /// <summary>Where the node says what goes wrong (warnings and worse, connections refused); null: standard error.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>An election starts after the leader has been silent for a random time in [lower, upper].</summary>
    public TimeSpan LowerElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(300);

    public TimeSpan UpperElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(600);

    /// <summary>The leader's heartbeat period as a fraction of the lower election timeout.</summary>
    public double HeartbeatThreshold { get; init; } = 0.3;

    /// <summary>How long one request to another node may take (a heartbeat, a vote, a batch of entries), a new connection's handshake included.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(280);

    /// <summary>
    /// How long connecting to another node may take, TLS handshake included. A node that restarts
    /// must connect anew while the others run on; on a loaded machine a handshake took longer
    /// than 75 ms, and the restarted node heard no leader for as long as the load lasted.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a submitted change or a read barrier may wait for a leader and a majority before it fails as <see cref="Kernel.FosError.MachineDown"/>.</summary>
    public TimeSpan CommitTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long adding a machine may take: the new machine must catch up with the log first.</summary>
    public TimeSpan MembershipTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The state is written as a snapshot after this many entries, so the log can be cut there.</summary>
    public int SnapshotInterval { get; init; } = 1024;
}
