using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

// Open files, on the member owning their inode, and the member's quota.
public sealed partial class FileSystemServer
{
    /// <summary>The most handles one process may hold open on one member (EMFILE past it), so no client can grow a member without bound.</summary>
    public const int MaxHandlesPerProcess = 4096;

    /// <summary>The largest file (1 TiB): far beyond any test, small enough that offsets never overflow.</summary>
    public const long MaxFileSize = 1L << 40;

    private readonly Dictionary<long, OpenFile> handles = [];
    private readonly Dictionary<long, int> openCount = [];
    private readonly Dictionary<CoreId, int> perProcess = []; // handles by the sending core: a process has one of its own
    private readonly HashSet<long> unlinkedWhileOpen = [];
    private long quota = long.MaxValue;
    private long used; // bytes of file data in this member's shards

    /// <summary>An open handle: whose it is (the sender the kernel named for the open), and how it was opened.</summary>
    private sealed record OpenFile(long Inode, bool Write, bool Directory, Address Client);

    private static FsHandle HandleOf(object request) => request switch
    {
        FsRead r => r.Handle,
        FsWrite r => r.Handle,
        FsTruncate r => r.Handle,
        FsStatHandle r => r.Handle,
        FsSync r => r.Handle,
        FsClose r => r.Handle,
        _ => throw new FosException(FosError.BadRequest, $"{request.GetType().Name} is not a handle request"),
    } ?? throw FsError.Of(Errno.EBADF, "no handle given");

    /// <summary>A handle request from a client: served by the member that keeps the handle, for the client its kernel named.</summary>
    private ValueTask<object?> OnHandle(object request, Address client) =>
        OnShard(new ShardHandleOp(HandleOf(request).Inode, client, request));

    private ValueTask<object?> HandleOp(ShardHandleOp op) => op.Request switch
    {
        FsRead r => Reply(Read(r, op.Client)),
        FsWrite r => Reply(Write(r, op.Client)),
        FsTruncate r => Reply(Truncate(r, op.Client)),
        FsStatHandle r => Reply(Attributes(Check(r.Handle, op.Client, write: false).Inode)),
        FsSync r => ReplyWhenDone(Sync(r.Handle, op.Client)),
        FsClose r => ReplyWhenDone(Close(r.Handle, op.Client)),
        _ => throw new FosException(FosError.BadRequest, $"{op.Request?.GetType().Name ?? "null"} is not a handle request"),
    };

    private void CheckHandleRoom(Address client)
    {
        if (perProcess.GetValueOrDefault(client.CoreId) >= MaxHandlesPerProcess)
            throw FsError.Of(Errno.EMFILE, $"too many open files: a process may hold {MaxHandlesPerProcess} on one member");
    }

    private FsOpened OpenInode(long inode, FsOpenFlags flags, Address client)
    {
        var node = Store.GetInode(inode) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory (it was removed)");
        if (flags.Directory)
        {
            if (node.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, "not a directory");
            if (flags.Write || flags.Truncate) throw FsError.Of(Errno.EISDIR, "a directory opens for reading only");
        }
        else if (node.Kind == FsNodeKind.Directory)
        {
            throw FsError.Of(Errno.EISDIR, "is a directory");
        }
        CheckHandleRoom(client);
        if (flags.Truncate && flags.Write && node.Size > 0)
        {
            var batch = new StoreBatch();
            Store.Truncate(batch, inode, node, 0);
            used -= node.Size;
            node = node with { Size = 0, Version = node.Version + 1 };
            FsStore.PutInode(batch, inode, node);
            Store.Write(batch);
        }
        long id;
        do id = (long)(Kernel.NextRandom() >> 1); while (id == 0 || handles.ContainsKey(id)); // unguessable, and unique in the fleet
        handles.Add(id, new OpenFile(inode, flags.Write, flags.Directory, client));
        openCount[inode] = openCount.GetValueOrDefault(inode) + 1;
        perProcess[client.CoreId] = perProcess.GetValueOrDefault(client.CoreId) + 1;
        return new FsOpened(new FsHandle(inode, id), node.Attributes(inode), members[index].Public);
    }

    /// <summary>The open file a handle names, if <paramref name="client"/> opened it; anyone else's guess or copy is EBADF.</summary>
    private OpenFile Check(FsHandle handle, Address client, bool write)
    {
        if (!handles.TryGetValue(handle.Id, out var open) || open.Inode != handle.Inode || open.Client != client)
            throw FsError.Of(Errno.EBADF, $"bad file descriptor ({handle} is not open for this process)");
        if (write && open.Directory) throw FsError.Of(Errno.EISDIR, "is a directory");
        if (write && !open.Write) throw FsError.Of(Errno.EBADF, "bad file descriptor (opened for reading only)");
        return open;
    }

    private byte[] Read(FsRead request, Address client)
    {
        if (Check(request.Handle, client, write: false).Directory) throw FsError.Of(Errno.EISDIR, "is a directory");
        if (request.Offset < 0 || request.Count < 0) throw FsError.Of(Errno.EINVAL, "offset and count must not be negative");
        var node = Store.GetInode(request.Handle.Inode)!;
        return Store.Read(request.Handle.Inode, node, request.Offset, Math.Min(request.Count, 16 << 20), request.Into);
    }

    private long Write(FsWrite request, Address client)
    {
        Check(request.Handle, client, write: true);
        if (request.Data is null) throw FsError.Of(Errno.EINVAL, "a write needs data");
        if (request.Offset < 0) throw FsError.Of(Errno.EINVAL, "offset must not be negative");
        if (request.Offset > MaxFileSize - request.Data.Length) throw FsError.Of(Errno.EFBIG, $"file too large: a file may hold at most {MaxFileSize} bytes");
        var inode = request.Handle.Inode;
        var node = Store.GetInode(inode)!;
        if (request.Data.Length == 0) return node.Size; // POSIX: writing nothing changes nothing
        Reserve(Math.Max(node.Size, request.Offset + request.Data.Length) - node.Size);
        var batch = new StoreBatch();
        var written = Store.Write(batch, inode, node, request.Offset, request.Data);
        FsStore.PutInode(batch, inode, written with { Version = node.Version + 1 });
        Store.Write(batch);
        used += written.Size - node.Size;
        return written.Size;
    }

    /// <summary>Refuses growth past this member's quota before anything is written.</summary>
    private void Reserve(long growth)
    {
        if (growth > 0 && used + growth > quota)
            throw FsError.Of(Errno.ENOSPC, $"no space left on device: this file-system member holds {used} of its {quota} bytes, and the write needs {growth} more");
    }

    private long Truncate(FsTruncate request, Address client)
    {
        Check(request.Handle, client, write: true);
        if (request.Length < 0 || request.Length > MaxFileSize) throw FsError.Of(Errno.EINVAL, $"a length must be between 0 and {MaxFileSize}");
        var inode = request.Handle.Inode;
        var node = Store.GetInode(inode)!;
        Reserve(request.Length - node.Size);
        var batch = new StoreBatch();
        Store.Truncate(batch, inode, node, request.Length);
        FsStore.PutInode(batch, inode, node with { Size = request.Length, Version = node.Version + 1 });
        Store.Write(batch);
        used += request.Length - node.Size;
        return request.Length;
    }

    /// <summary>fsync: the member's store syncs, which makes the file's data and inode durable, or a directory's entries.</summary>
    private async Task<Ack> Sync(FsHandle handle, Address client)
    {
        Check(handle, client, write: false);
        await Store.Sync();
        return Ack.Instance;
    }

    private async Task<Ack> Close(FsHandle handle, Address client)
    {
        var open = Check(handle, client, write: false);
        Forget(handle.Id, open); // a second close is EBADF even while the sync runs
        // Released first: a file unlinked while open goes with its last handle, and the sync
        // makes that durable too, so its extent goes now, not at some later sync.
        if (Release(open.Inode) | open.Write) await Store.Sync();
        return Ack.Instance;
    }

    private void Forget(long id, OpenFile open)
    {
        handles.Remove(id);
        var key = open.Client.CoreId;
        if (perProcess.GetValueOrDefault(key) <= 1) perProcess.Remove(key);
        else perProcess[key]--;
    }

    /// <summary>One handle of the inode fewer → whether that removed the inode (its last handle, after an unlink).</summary>
    private bool Release(long inode)
    {
        var left = openCount.GetValueOrDefault(inode) - 1;
        if (left > 0)
        {
            openCount[inode] = left;
            return false;
        }
        openCount.Remove(inode);
        if (!unlinkedWhileOpen.Remove(inode) || store is null) return false;
        var batch = new StoreBatch();
        used -= store.DeleteInode(batch, inode);
        store.Write(batch);
        return true;
    }

    /// <summary>A file loses its only name: it goes now, or when its last handle closes.</summary>
    private void Drop(StoreBatch batch, long inode)
    {
        if (openCount.GetValueOrDefault(inode) > 0)
        {
            unlinkedWhileOpen.Add(inode); // readable through its handles until the last one closes
            FsStore.MarkOrphan(batch, inode);
        }
        else
        {
            used -= Store.DeleteInode(batch, inode);
        }
    }

    /// <summary>A process ended: every handle it held here closes, and with <see cref="FsCloseAllOf.Fanout"/> on every other member too.</summary>
    private async Task<int> CloseAllOf(FsCloseAllOf request)
    {
        while (frozen.Count > 0) await frozen.Values.First().Task; // a moving shard's handles settle first
        var theirs = handles.Where(h => h.Value.Client.CoreId == request.Core).ToList();
        var removed = false;
        foreach (var (id, open) in theirs)
        {
            Forget(id, open);
            removed |= Release(open.Inode);
        }
        if (removed) await Store.Sync(); // the files they kept after an unlink are gone for good, and their extents with them
        var closed = theirs.Count;
        if (!request.Fanout) return closed;
        foreach (var member in members.Where((_, i) => i != index))
        {
            try
            {
                closed += await Kernel.Call<int>(member.Peer, request with { Fanout = false });
            }
            catch (FosException ex) when (ex.Error is FosError.NoSuchMailbox or FosError.Timeout)
            {
                // A member that left the fleet holds nothing; one that does not answer closes nothing now.
            }
        }
        return closed;
    }
}
