namespace Fos.Services.FileSystem;

// Requests between members of the file-system fleet. Each names the inode whose shard must handle
// it; a member that does not own that shard forwards the request to the one that does.

/// <summary>
/// Sent by boot to every member: who the members are, which shard each one owns, and how many bytes
/// of file data each member may hold (its quota: a write past it fails with ENOSPC).
/// </summary>
public sealed record FsConfigure(int Index, Kernel.Endpoint[] Members, int[] ShardOwners, long QuotaBytes = long.MaxValue);

internal interface IShardRequest
{
    long Inode { get; }
}

/// <summary>The entry <paramref name="Name"/> of directory <paramref name="Inode"/> → FsEntry or null.</summary>
internal sealed record ShardLookup(long Inode, string Name) : IShardRequest;

/// <summary>stat of an inode → FsAttributes.</summary>
internal sealed record ShardStat(long Inode) : IShardRequest;

/// <summary>open or create <paramref name="Name"/> in directory <paramref name="Inode"/> → FsOpened.</summary>
internal sealed record ShardOpenAt(long Inode, string Name, FsOpenFlags Flags, long Owner) : IShardRequest;

/// <summary>open an existing file inode → FsOpened.</summary>
internal sealed record ShardOpenInode(long Inode, FsOpenFlags Flags, long Owner) : IShardRequest;

/// <summary>The entries of directory <paramref name="Inode"/> → FsEntry[].</summary>
internal sealed record ShardReadDir(long Inode) : IShardRequest;

/// <summary>mkdir <paramref name="Name"/> in directory <paramref name="Inode"/> → the new FsAttributes.</summary>
internal sealed record ShardMkdirAt(long Inode, string Name) : IShardRequest;

/// <summary>Makes an empty directory inode in shard <paramref name="Shard"/> → its number (long).</summary>
internal sealed record ShardNewDirectory(int Shard) : IShardRequest
{
    public long Inode => Shard; // routes by shard: the low bits of an inode number are its shard
}

/// <summary>rmdir <paramref name="Name"/> in directory <paramref name="Inode"/>.</summary>
internal sealed record ShardRmdirAt(long Inode, string Name) : IShardRequest;

/// <summary>Deletes directory inode <paramref name="Inode"/> if it has no entries (else ENOTEMPTY).</summary>
internal sealed record ShardRemoveDirectory(long Inode) : IShardRequest;

/// <summary>unlink <paramref name="Name"/> in directory <paramref name="Inode"/>.</summary>
internal sealed record ShardUnlinkAt(long Inode, string Name) : IShardRequest;

/// <summary>A file inode lost its only name: delete it now, or when its last handle closes.</summary>
internal sealed record ShardDropFile(long Inode) : IShardRequest;

/// <summary>
/// Sets entry <paramref name="Name"/> of directory <paramref name="Inode"/> to <paramref name="Target"/>,
/// replacing what was there only if it is <paramref name="Expected"/> (null: nothing) → the replaced FsEntry or null.
/// </summary>
internal sealed record ShardLink(long Inode, string Name, FsEntry Target, long? Expected) : IShardRequest;

/// <summary>Removes entry <paramref name="Name"/> of directory <paramref name="Inode"/> if it still names <paramref name="Expected"/>.</summary>
internal sealed record ShardUnlinkEntry(long Inode, string Name, long Expected) : IShardRequest;

// ---- moving shards between members (the fleet grows and shrinks) ---------------------------

/// <summary>To a shard's owner: move shard <paramref name="Shard"/> to member <paramref name="To"/> → Ack.</summary>
public sealed record FsMoveShard(int Shard, int To);

/// <summary>The fleet as a member sees it → <see cref="FsFleetView"/>.</summary>
public sealed record FsFleetState;

public sealed record FsFleetView(Kernel.Endpoint[] Members, int[] ShardOwners);

/// <summary>The fleet's members changed (one was added): the full list, indexes unchanged.</summary>
public sealed record FsMembers(Kernel.Endpoint[] Members);

/// <summary>Shard <paramref name="Shard"/> now belongs to member <paramref name="Owner"/>.</summary>
public sealed record FsShardOwner(int Shard, int Owner);

/// <summary>An open handle travelling with its inode's shard.</summary>
public sealed record FsHandleState(long Id, long Inode, bool Write, long Owner, bool UnlinkedWhileOpen);

/// <summary>Part of a shard on its way to its new owner; the last part carries the shard's open handles.</summary>
public sealed record FsImportShard(int Shard, KeyValuePair<byte[], byte[]>[] Entries, FsHandleState[] Handles, bool Last);

/// <summary>To a member that is leaving: answer once no request of a client is still being worked on → Ack.</summary>
public sealed record FsQuiesce;
