using Fos.Kernel;

namespace Fos.Protocols.FileSystem;

// Requests between members of the file-system fleet, and from boot. They are accepted only on a
// member's peer mailbox, whose capability boot gives to the members (and to the process fleet);
// sent to the public mailbox they are refused and counted. Each shard request names the inode
// whose shard must handle it; a member that does not own that shard forwards it to the one that does.

/// <summary>A member as the fleet knows it: the mailbox clients use, and the one its siblings use.</summary>
public sealed record FsMember(Endpoint Public, Endpoint Peer)
{
    public override string ToString() => Public.ToString();
}

/// <summary>
/// Sent by boot to every member: who the members are, which shard each one owns, and how many bytes
/// of file data each member may hold (its quota: a write past it fails with ENOSPC).
/// </summary>
public sealed record FsConfigure(int Index, FsMember[] Members, int[] ShardOwners, long QuotaBytes = long.MaxValue);

/// <summary>Closes every handle the process on process core <paramref name="Core"/> still holds, on every member → how many (int).</summary>
public sealed record FsCloseAllOf(CoreId Core, bool Fanout = true);

/// <summary>What a member has counted → <see cref="FsMemberCounters"/>.</summary>
public sealed record FsMemberStats;

/// <summary>Requests refused on the public mailbox, handles open, operations over shards under way.</summary>
public sealed record FsMemberCounters(long Refused, int OpenHandles, int Intents);

public interface IShardRequest
{
    long Inode { get; }
}

/// <summary>The entry <paramref name="Name"/> of directory <paramref name="Inode"/> → FsEntry or null.</summary>
public sealed record ShardLookup(long Inode, string Name) : IShardRequest;

/// <summary>stat of an inode → FsAttributes.</summary>
public sealed record ShardStat(long Inode) : IShardRequest;

/// <summary>open or create <paramref name="Name"/> in directory <paramref name="Inode"/> for the client the kernel named → FsOpened.</summary>
public sealed record ShardOpenAt(long Inode, string Name, FsOpenFlags Flags, Address Client) : IShardRequest;

/// <summary>open an existing inode for the client the kernel named → FsOpened.</summary>
public sealed record ShardOpenInode(long Inode, FsOpenFlags Flags, Address Client) : IShardRequest;

/// <summary>A page of the entries of directory <paramref name="Inode"/> → FsDirPage.</summary>
public sealed record ShardReadDir(long Inode, string? After, int Limit) : IShardRequest;

/// <summary>mkdir <paramref name="Name"/> in directory <paramref name="Inode"/> → the new FsAttributes.</summary>
public sealed record ShardMkdirAt(long Inode, string Name) : IShardRequest;

/// <summary>
/// Makes directory inode <paramref name="Inode"/> if it is not there, durably, for operation
/// <paramref name="Tx"/> of shard <paramref name="Coordinator"/> if that still runs it → Ack.
/// </summary>
public sealed record ShardEnsureDirectory(long Inode, long Tx, int Coordinator) : IShardRequest;

/// <summary>rmdir <paramref name="Name"/> in directory <paramref name="Inode"/>.</summary>
public sealed record ShardRmdirAt(long Inode, string Name) : IShardRequest;

/// <summary>
/// Deletes directory inode <paramref name="Inode"/>, durably, if it has no entries and none on the
/// way (else ENOTEMPTY) → Ack; a directory already gone is Ack too (the step may be redone). Only
/// for operation <paramref name="Tx"/> of shard <paramref name="Coordinator"/>, if that still runs it:
/// a step a crashed coordinator sent before its restart ended the operation must not act late.
/// </summary>
public sealed record ShardRemoveDirectory(long Inode, long Tx, int Coordinator) : IShardRequest;

/// <summary>unlink <paramref name="Name"/> in directory <paramref name="Inode"/>.</summary>
public sealed record ShardUnlinkAt(long Inode, string Name) : IShardRequest;

/// <summary>A file inode lost its only name: delete it now, or when its last handle closes; durably → Ack.</summary>
public sealed record ShardDropFile(long Inode) : IShardRequest;

/// <summary>
/// rename, sent to the owner of the target directory <paramref name="Inode"/>, which coordinates it:
/// <paramref name="Moving"/> (as the walk found it) moves from (<paramref name="FromDir"/>,
/// <paramref name="FromName"/>) to <paramref name="ToName"/>. <paramref name="TargetParent"/> is
/// the path of the target directory, walked again under the rename lock to refuse a cycle.
/// </summary>
public sealed record ShardRenameAt(long Inode, string ToName, long FromDir, string FromName, FsEntry Moving, string[] TargetParent) : IShardRequest;

/// <summary>
/// Reserves entry <paramref name="Name"/> of directory <paramref name="Inode"/> for transaction
/// <paramref name="Tx"/> (coordinated by shard <paramref name="Coordinator"/>), durably, once nobody else
/// holds it, if it still names <paramref name="Expected"/> → Ack (ENOENT if it no longer does). Nothing
/// else may change or read the name until it is released.
/// </summary>
public sealed record ShardReserve(long Inode, string Name, long Tx, long Expected, int Coordinator) : IShardRequest;

/// <summary>Lets a reservation of <paramref name="Tx"/> go, durably, leaving the entry as it is → Ack.</summary>
public sealed record ShardRelease(long Inode, string Name, long Tx) : IShardRequest;

/// <summary>Removes a reserved entry and its reservation, durably, if <paramref name="Tx"/> still holds it → Ack.</summary>
public sealed record ShardUnlinkReserved(long Inode, string Name, long Tx) : IShardRequest;

/// <summary>Takes the fleet's directory-rename lock (kept with shard 0) for <paramref name="Tx"/>, which shard <paramref name="Coordinator"/> runs, durably → Ack.</summary>
public sealed record ShardLockRenames(long Tx, int Coordinator) : IShardRequest
{
    public long Inode => 0; // routes to shard 0
}

/// <summary>Lets the directory-rename lock go, durably, if <paramref name="Tx"/> holds it → Ack.</summary>
public sealed record ShardUnlockRenames(long Tx) : IShardRequest
{
    public long Inode => 0;
}

/// <summary>
/// Whether the member still runs operation <paramref name="Tx"/> → bool; sent to the owner of the
/// operation's coordinating shard and answered at once, whatever is moving (operations never move).
/// A request a coordinator sent just before it crashed can arrive after the coordinator's restart
/// has ended the operation: whoever receives such a step, or holds a name for it, asks.
/// </summary>
public sealed record FsTxRunning(long Tx);

/// <summary>A handle request (read, write, ...) forwarded for <paramref name="Client"/>, whom the first member's kernel attested.</summary>
public sealed record ShardHandleOp(long Inode, Address Client, object Request) : IShardRequest;

// ---- moving shards between members (the fleet grows and shrinks) ---------------------------

/// <summary>To a shard's owner: move shard <paramref name="Shard"/> to member <paramref name="To"/> → Ack.</summary>
public sealed record FsMoveShard(int Shard, int To);

/// <summary>The fleet as a member sees it → <see cref="FsFleetView"/>.</summary>
public sealed record FsFleetState;

/// <summary>
/// Boot to a member not yet configured: the fleet that member <paramref name="Index"/>'s store last
/// knew → <see cref="FsFleetView"/> (the other members as placeholders) or null, so a machine that
/// restarts while the rest of its cluster is down serves its own shards again.
/// </summary>
public sealed record FsStoredFleet(int Index, long QuotaBytes = long.MaxValue);

public sealed record FsFleetView(FsMember[] Members, int[] ShardOwners, long QuotaBytes = long.MaxValue);

/// <summary>The fleet's members changed (one was added): the full list, indexes unchanged.</summary>
public sealed record FsMembers(FsMember[] Members);

/// <summary>Shard <paramref name="Shard"/> now belongs to member <paramref name="Owner"/>.</summary>
public sealed record FsShardOwner(int Shard, int Owner);

/// <summary>Member <paramref name="Index"/> is <paramref name="Member"/> now (it replaced a member that died, or whose machine restarted) → Ack. Owners do not change.</summary>
public sealed record FsMemberAt(int Index, FsMember Member);

/// <summary>An open handle travelling with its inode's shard.</summary>
public sealed record FsHandleState(long Id, long Inode, bool Write, bool Directory, Address Client, bool UnlinkedWhileOpen);

/// <summary>Part of a shard on its way to its new owner; the last part carries the shard's open handles.</summary>
/// The first part (<paramref name="First"/>) clears whatever an earlier, perhaps failed, move left here.
public sealed record FsImportShard(int Shard, KeyValuePair<byte[], byte[]>[] Entries, FsHandleState[] Handles, bool Last, bool First = false);

/// <summary>To a member that is leaving: answer once no request of a client is still being worked on → Ack.</summary>
public sealed record FsQuiesce;
