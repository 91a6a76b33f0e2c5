using Fos.Kernel;
using Fos.Kernel.Storage;

namespace Fos.Services.FileSystem;

/// <summary>
/// A member of the file-system fleet (<c>/sys/fs</c>). The namespace and the data are split into
/// <see cref="FsStore.Shards"/> shards by inode number; each member owns some shards and keeps them
/// in its own store. A client asks its nearest member, which walks the path one directory at a
/// time, asking the owner of each directory's shard (itself, or a sibling by message), and then has
/// the owner of the last directory or file do the operation. A new file lives in its directory's
/// shard, so creating, opening and removing a file is one member's work; a new directory goes to a
/// random shard, which spreads the tree over the fleet.
/// </summary>
/// <remarks>
/// Writes reach the store at once (a killed process loses nothing written); fsync and close wait
/// for the store's sync, after which the data survives a crash of the machine. Handles live with
/// the member owning their inode; a file unlinked while open stays readable through its handles
/// and is deleted when the last one closes (or when the member next starts).
/// Operations that span two members (mkdir of a directory in another shard, rmdir of one, rename
/// between members) are done in steps, each safe to stop after: a crash between steps can leave an
/// unreachable directory inode or, for rename, the file under both names, never a name without its
/// file.
/// </remarks>
public sealed class FileSystemServer : Server
{
    public static readonly ServerImage Image = new("fs", () => new FileSystemServer(), MailboxCapacity: 4096);

    private readonly Dictionary<long, OpenFile> handles = [];
    private readonly Dictionary<long, int> openCount = [];
    private readonly HashSet<long> unlinkedWhileOpen = [];
    private readonly HashSet<(long, string)> creating = [];
    private readonly Dictionary<int, TaskCompletionSource> frozen = []; // shards on their way to another member
    private readonly Underway[] busy = [.. Enumerable.Range(0, FsStore.Shards).Select(_ => new Underway())]; // shard work that awaits: a move waits for it
    private FsStore? store;
    private Endpoint[] members = [];
    private int[] owners = [];
    private int index = -1;
    private long nextHandle = 1;
    private readonly Underway working = new(); // client requests (path walks) this member is coordinating now
    private readonly HashSet<int> importing = []; // shards arriving here, part by part
    private long quota = long.MaxValue;
    private long used; // bytes of file data in this member's shards

    private sealed record OpenFile(long Inode, bool Write, long Owner);

    private FsStore Store => store ?? throw FsError.Of(Errno.EBUSY, "this file-system member is still starting");

    protected override void OnStop()
    {
        store?.Store.Dispose();
        store = null;
    }

    protected override ValueTask<object?> Handle(Message message) => message.Body switch
    {
        FsConfigure configure => Configure(configure),
        FsFleetState => Reply(new FsFleetView(members, [.. owners])),
        FsMembers m => Reply(SetMembers(m.Members)),
        FsShardOwner o => Reply(SetOwner(o.Shard, o.Owner)),
        FsMoveShard m => ReplyWhenDone(MoveShard(m.Shard, m.To)),
        FsImportShard i => ReplyWhenDone(Import(i)),
        FsQuiesce => ReplyWhenDone(Quiesce()),
        _ when Moving(message.Body) is { } gate => AfterMove(gate, message),
        IShardRequest shard => IsLocal(shard.Inode) ? Shard(shard) : Forward(shard.Inode, shard),
        FsRead r => OnOwner(r.Handle.Inode, r, () => Reply(Read(r))),
        FsWrite r => OnOwner(r.Handle.Inode, r, () => Reply(Write(r))),
        FsTruncate r => OnOwner(r.Handle.Inode, r, () => Reply(Truncate(r))),
        FsStatHandle r => OnOwner(r.Handle.Inode, r, () => Reply(Attributes(Check(r.Handle, write: false).Inode))),
        FsSync r => OnOwner(r.Handle.Inode, r, () => Busy(r.Handle.Inode, () => Sync(r.Handle))),
        FsClose r => OnOwner(r.Handle.Inode, r, () => Busy(r.Handle.Inode, () => Close(r.Handle))),
        FsCloseAllOf r => ReplyWhenDone(CloseAllOf(r.Owner)),
        FsStat r => Working(Stat(r.Path), r.Path),
        FsOpen r => Working(Open(r), r.Path),
        FsReadDir r => Working(ReadDirPath(r.Path), r.Path),
        FsMkdir r => Working(Mkdir(r.Path), r.Path),
        FsRmdir r => Working(Rmdir(r.Path), r.Path),
        FsUnlink r => Working(Unlink(r.Path), r.Path),
        FsRename r => Working(Rename(r.From, r.To), $"{r.From} -> {r.To}"),
        _ => throw new FosException(FosError.BadRequest, $"the file system does not understand {message.Body?.GetType().Name ?? "null"}"),
    };

    /// <summary>Work on a shard this member owns.</summary>
    private ValueTask<object?> Shard(IShardRequest request) => request switch
    {
        ShardLookup r => Reply(Lookup(r.Inode, r.Name)),
        ShardStat r => Reply(Attributes(r.Inode)),
        ShardOpenAt r => Busy(r.Inode, () => OpenAt(r.Inode, r.Name, r.Flags, r.Owner)),
        ShardOpenInode r => Reply(OpenInode(r.Inode, r.Flags, r.Owner)),
        ShardReadDir r => Reply(ReadDir(r.Inode)),
        ShardMkdirAt r => Busy(r.Inode, () => MkdirAt(r.Inode, r.Name)),
        ShardNewDirectory r => Reply(NewDirectory(r.Shard)),
        ShardRmdirAt r => Busy(r.Inode, () => RmdirAt(r.Inode, r.Name)),
        ShardRemoveDirectory r => Reply(RemoveDirectory(r.Inode)),
        ShardUnlinkAt r => Busy(r.Inode, () => UnlinkAt(r.Inode, r.Name)),
        ShardDropFile r => Reply(DropFile(r.Inode)),
        ShardLink r => Reply(Link(r)),
        ShardUnlinkEntry r => Reply(UnlinkEntry(r)),
        _ => throw new FosException(FosError.BadRequest, $"the file system does not understand {request.GetType().Name}"),
    };

    /// <summary>The gate of the shard a request needs, if that shard is being moved away right now.</summary>
    private Task? Moving(object? request)
    {
        if (frozen.Count == 0) return null;
        long? inode = request switch
        {
            IShardRequest r => r.Inode,
            FsRead r => r.Handle.Inode,
            FsWrite r => r.Handle.Inode,
            FsTruncate r => r.Handle.Inode,
            FsStatHandle r => r.Handle.Inode,
            FsSync r => r.Handle.Inode,
            FsClose r => r.Handle.Inode,
            _ => null,
        };
        return inode is { } i && frozen.TryGetValue(FsStore.ShardOf(i), out var gate) ? gate.Task : null;
    }

    /// <summary>Holds a request until its shard has moved, then serves or forwards it as the new map says.</summary>
    private async ValueTask<object?> AfterMove(Task gate, Message message)
    {
        await gate;
        return await Handle(message);
    }

    /// <summary>Shard work that awaits midway: the shard cannot move until it is done.</summary>
    private async ValueTask<object?> Busy<T>(long inode, Func<Task<T>> work)
    {
        var shard = FsStore.ShardOf(inode);
        busy[shard].Begin();
        try
        {
            return await work();
        }
        finally
        {
            busy[shard].End();
        }
    }

    /// <summary>
    /// A client request this member coordinates, counted so a leaving member can wait for them. Its
    /// error names the path the client gave, whichever member found the problem.
    /// </summary>
    private async ValueTask<object?> Working<T>(Task<T> work, string path)
    {
        working.Begin();
        try
        {
            return await work;
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is { } errno && !ex.Message.Contains(path, StringComparison.Ordinal))
        {
            var detail = ex.Message.StartsWith($"{errno}: ", StringComparison.Ordinal) ? ex.Message[(errno.ToString().Length + 2)..] : ex.Message;
            throw FsError.Of(errno, $"{path}: {detail}");
        }
        finally
        {
            working.End();
        }
    }

    private async Task<Ack> Quiesce()
    {
        await working.Idle();
        return Ack.Instance;
    }

    // ---- the fleet: who owns which shard -----------------------------------------------------

    private ValueTask<object?> Configure(FsConfigure configure)
    {
        if (configure.ShardOwners.Length != FsStore.Shards || configure.ShardOwners.Any(o => o < 0 || o >= configure.Members.Length)
            || configure.Index < 0 || configure.Index >= configure.Members.Length || configure.Members[configure.Index] != Endpoint)
            throw new FosException(FosError.BadRequest, "a file-system configuration must give every shard an owner among the members, this one included");
        if (configure.QuotaBytes < 0) throw new FosException(FosError.BadRequest, "a file-system quota cannot be negative");
        members = configure.Members;
        owners = configure.ShardOwners;
        index = configure.Index;
        quota = configure.QuotaBytes;
        if (store is null)
        {
            store = new FsStore(Kernel.OpenStore($"fs/member-{index}"));
            var batch = new StoreBatch();
            if (IsLocal(FsStore.RootInode) && store.GetInode(FsStore.RootInode) is null)
                FsStore.PutInode(batch, FsStore.RootInode, new FsStore.Inode(FsNodeKind.Directory, 0, 1));
            for (var shard = 0; shard < FsStore.Shards; shard++)
                if (owners[shard] == index)
                    foreach (var orphan in store.Orphans(shard)) store.DeleteInode(batch, orphan);
            if (batch.Count > 0) store.Write(batch);
        }
        used = Enumerable.Range(0, FsStore.Shards).Where(s => owners[s] == index).Sum(store.DataBytes);
        return Reply(Ack.Instance);
    }

    private bool IsLocal(long inode) => owners.Length > 0 && owners[FsStore.ShardOf(inode)] == index;

    private Endpoint OwnerOf(long inode) =>
        owners.Length > 0 ? members[owners[FsStore.ShardOf(inode)]] : throw FsError.Of(Errno.EBUSY, "this file-system member is still starting");

    private async ValueTask<object?> Forward(long inode, object request) => await Kernel.Call(OwnerOf(inode), request);

    private ValueTask<object?> OnOwner(long inode, object request, Func<ValueTask<object?>> here) =>
        IsLocal(inode) ? here() : Forward(inode, request);

    /// <summary>Has the owner of <paramref name="inode"/>'s shard do <paramref name="request"/>: this member, or a sibling.</summary>
    private async Task<T> At<T>(long inode, IShardRequest request)
    {
        while (frozen.TryGetValue(FsStore.ShardOf(inode), out var gate)) await gate.Task;
        return (T)(IsLocal(inode) ? await Shard(request) : await Kernel.Call(OwnerOf(inode), request))!;
    }

    // ---- path walking (on the member the client asked) ---------------------------------------

    /// <summary>The directory that holds the last part of <paramref name="parts"/>.</summary>
    private async Task<long> ParentOf(string[] parts)
    {
        var dir = FsStore.RootInode;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            var entry = await At<FsEntry?>(dir, new ShardLookup(dir, parts[i]))
                ?? throw FsError.Of(Errno.ENOENT, $"no such file or directory: {FsPath.Join(parts[..(i + 1)])}");
            if (entry.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, $"not a directory: {FsPath.Join(parts[..(i + 1)])}");
            dir = entry.Inode;
        }
        return dir;
    }

    /// <summary>The inode <paramref name="parts"/> names.</summary>
    private async Task<FsEntry> Resolve(string[] parts)
    {
        if (parts.Length == 0) return new FsEntry("/", FsNodeKind.Directory, FsStore.RootInode);
        var parent = await ParentOf(parts);
        return await At<FsEntry?>(parent, new ShardLookup(parent, parts[^1]))
            ?? throw FsError.Of(Errno.ENOENT, $"no such file or directory: {FsPath.Join(parts)}");
    }

    private async Task<FsAttributes> Stat(string path)
    {
        var entry = await Resolve(FsPath.Split(path));
        return await At<FsAttributes>(entry.Inode, new ShardStat(entry.Inode));
    }

    private async Task<FsOpened> Open(FsOpen request)
    {
        var parts = FsPath.Split(request.Path);
        if (parts.Length == 0) throw FsError.Of(Errno.EISDIR, "/ is a directory");
        var parent = await ParentOf(parts);
        return await At<FsOpened>(parent, new ShardOpenAt(parent, parts[^1], request.Flags, request.Owner));
    }

    private async Task<FsEntry[]> ReadDirPath(string path)
    {
        var parts = FsPath.Split(path);
        var dir = await Resolve(parts);
        if (dir.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, $"not a directory: {path}");
        return await At<FsEntry[]>(dir.Inode, new ShardReadDir(dir.Inode));
    }

    private async Task<FsAttributes> Mkdir(string path)
    {
        var parts = FsPath.Split(path);
        if (parts.Length == 0) throw FsError.Of(Errno.EEXIST, "/ exists");
        var parent = await ParentOf(parts);
        return await At<FsAttributes>(parent, new ShardMkdirAt(parent, parts[^1]));
    }

    private async Task<Ack> Rmdir(string path)
    {
        var parts = FsPath.Split(path);
        if (parts.Length == 0) throw FsError.Of(Errno.EBUSY, "/ cannot be removed");
        var parent = await ParentOf(parts);
        return await At<Ack>(parent, new ShardRmdirAt(parent, parts[^1]));
    }

    private async Task<Ack> Unlink(string path)
    {
        var parts = FsPath.Split(path);
        if (parts.Length == 0) throw FsError.Of(Errno.EISDIR, "/ is a directory");
        var parent = await ParentOf(parts);
        return await At<Ack>(parent, new ShardUnlinkAt(parent, parts[^1]));
    }

    private async Task<Ack> Rename(string from, string to)
    {
        var source = FsPath.Split(from);
        var target = FsPath.Split(to);
        if (source.Length == 0 || target.Length == 0) throw FsError.Of(Errno.EBUSY, "/ cannot be renamed or replaced");
        // The checks in the order Linux makes them, so the same mistake gets the same error.
        var sourceParent = await ParentOf(source);
        var targetParent = await ParentOf(target);
        var moving = await At<FsEntry?>(sourceParent, new ShardLookup(sourceParent, source[^1]))
            ?? throw FsError.Of(Errno.ENOENT, $"no such file or directory: {from}");
        if (source.SequenceEqual(target)) return Ack.Instance;
        if (target.Length > source.Length && target.Take(source.Length).SequenceEqual(source))
            throw FsError.Of(Errno.EINVAL, $"cannot move {from} into itself ({to})");
        if (target.Length < source.Length && source.Take(target.Length).SequenceEqual(target))
            throw FsError.Of(Errno.ENOTEMPTY, $"{to} contains {from}");
        var replaced = await At<FsEntry?>(targetParent, new ShardLookup(targetParent, target[^1]));
        if (replaced is not null)
        {
            if (replaced.Inode == moving.Inode) return Ack.Instance;
            if (moving.Kind == FsNodeKind.Directory && replaced.Kind != FsNodeKind.Directory)
                throw FsError.Of(Errno.ENOTDIR, $"cannot replace file {to} with directory {from}");
            if (moving.Kind != FsNodeKind.Directory && replaced.Kind == FsNodeKind.Directory)
                throw FsError.Of(Errno.EISDIR, $"cannot replace directory {to} with file {from}");
            if (replaced.Kind == FsNodeKind.Directory)
                await At<Ack>(replaced.Inode, new ShardRemoveDirectory(replaced.Inode)); // ENOTEMPTY stops the rename here
        }
        // The new name first, then the old one goes: a crash in between leaves both, never neither.
        await At<FsEntry?>(targetParent, new ShardLink(targetParent, target[^1], moving with { Name = target[^1] }, replaced?.Inode));
        await At<Ack>(sourceParent, new ShardUnlinkEntry(sourceParent, source[^1], moving.Inode));
        if (replaced is { Kind: FsNodeKind.File }) await At<Ack>(replaced.Inode, new ShardDropFile(replaced.Inode));
        return Ack.Instance;
    }

    // ---- shard work (on the member owning the shard) -----------------------------------------

    private FsStore.Inode DirectoryInode(long dir)
    {
        var node = Store.GetInode(dir) ?? throw FsError.Of(Errno.ENOENT, "the directory was removed");
        return node.Kind == FsNodeKind.Directory ? node : throw FsError.Of(Errno.ENOTDIR, "not a directory");
    }

    private FsEntry? Lookup(long dir, string name)
    {
        DirectoryInode(dir);
        return Store.GetEntry(dir, name) is { } entry ? new FsEntry(name, entry.Kind, entry.Inode) : null;
    }

    private FsAttributes Attributes(long inode)
    {
        var node = Store.GetInode(inode) ?? throw FsError.Of(Errno.ENOENT, "the file was removed");
        return new FsAttributes(inode, node.Kind, node.Size, node.Version);
    }

    private FsEntry[] ReadDir(long dir)
    {
        DirectoryInode(dir);
        return [.. Store.ListEntries(dir)];
    }

    private async Task<FsOpened> OpenAt(long dir, string name, FsOpenFlags flags, long owner)
    {
        DirectoryInode(dir);
        if (creating.Contains((dir, name))) throw FsError.Of(Errno.EEXIST, $"{name} is being created");
        if (Store.GetEntry(dir, name) is { } existing)
        {
            if (flags.Create && flags.Exclusive) throw FsError.Of(Errno.EEXIST, $"{name} exists");
            if (existing.Kind == FsNodeKind.Directory) throw FsError.Of(Errno.EISDIR, $"{name} is a directory");
            return IsLocal(existing.Inode)
                ? OpenInode(existing.Inode, flags, owner)
                : await At<FsOpened>(existing.Inode, new ShardOpenInode(existing.Inode, flags, owner));
        }
        if (!flags.Create) throw FsError.Of(Errno.ENOENT, $"no such file or directory: {name}");
        var batch = new StoreBatch();
        var inode = Store.NewInode(batch, FsStore.ShardOf(dir));
        FsStore.PutInode(batch, inode, new FsStore.Inode(FsNodeKind.File, 0, 1));
        FsStore.PutEntry(batch, dir, name, inode, FsNodeKind.File);
        Touch(batch, dir);
        Store.Write(batch);
        return OpenInode(inode, flags, owner);
    }

    private FsOpened OpenInode(long inode, FsOpenFlags flags, long owner)
    {
        var node = Store.GetInode(inode) ?? throw FsError.Of(Errno.ENOENT, "the file was removed");
        if (node.Kind == FsNodeKind.Directory) throw FsError.Of(Errno.EISDIR, "it is a directory");
        if (flags.Truncate && flags.Write && node.Size > 0)
        {
            var batch = new StoreBatch();
            Store.Truncate(batch, inode, 0);
            used -= node.Size;
            node = node with { Size = 0, Version = node.Version + 1 };
            FsStore.PutInode(batch, inode, node);
            Store.Write(batch);
        }
        var handle = new FsHandle(inode, nextHandle++ * 64 + index); // unique in the fleet, so handles can move with their shard
        handles.Add(handle.Id, new OpenFile(inode, flags.Write, owner));
        openCount[inode] = openCount.GetValueOrDefault(inode) + 1;
        return new FsOpened(handle, new FsAttributes(inode, node.Kind, node.Size, node.Version), Endpoint);
    }

    private async Task<FsAttributes> MkdirAt(long dir, string name)
    {
        DirectoryInode(dir);
        if (Store.GetEntry(dir, name) is not null || !creating.Add((dir, name))) throw FsError.Of(Errno.EEXIST, $"{name} exists");
        try
        {
            // A random shard spreads the tree; never one on its way elsewhere (its move would wait for us).
            int shard;
            do shard = Kernel.NextRandom(FsStore.Shards); while (frozen.ContainsKey(shard));
            var batch = new StoreBatch();
            long? inode = shard == FsStore.ShardOf(dir) ? CreateDirectoryInode(batch, shard) : null;
            inode ??= await At<long>(shard, new ShardNewDirectory(shard));
            DirectoryInode(dir); // it may have gone while we waited
            if (Store.GetEntry(dir, name) is not null) throw FsError.Of(Errno.EEXIST, $"{name} exists (made while this mkdir waited)");
            FsStore.PutEntry(batch, dir, name, inode.Value, FsNodeKind.Directory);
            Touch(batch, dir);
            Store.Write(batch);
            return new FsAttributes(inode.Value, FsNodeKind.Directory, 0, 1);
        }
        finally
        {
            creating.Remove((dir, name));
        }
    }

    private long CreateDirectoryInode(StoreBatch batch, int shard)
    {
        var inode = Store.NewInode(batch, shard);
        FsStore.PutInode(batch, inode, new FsStore.Inode(FsNodeKind.Directory, 0, 1));
        return inode;
    }

    private long NewDirectory(int shard)
    {
        var batch = new StoreBatch();
        var inode = CreateDirectoryInode(batch, shard);
        Store.Write(batch);
        return inode;
    }

    private async Task<Ack> RmdirAt(long dir, string name)
    {
        DirectoryInode(dir);
        var entry = Store.GetEntry(dir, name) ?? throw FsError.Of(Errno.ENOENT, $"no such file or directory: {name}");
        if (entry.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, $"{name} is not a directory");
        if (FsStore.ShardOf(entry.Inode) == FsStore.ShardOf(dir)) RemoveDirectory(entry.Inode); // same shard: no waiting on ourselves
        else await At<Ack>(entry.Inode, new ShardRemoveDirectory(entry.Inode));
        if (Store.GetEntry(dir, name) is { } still && still.Inode == entry.Inode)
        {
            var batch = new StoreBatch();
            FsStore.DeleteEntry(batch, dir, name);
            Touch(batch, dir);
            Store.Write(batch);
        }
        return Ack.Instance;
    }

    private Ack RemoveDirectory(long dir)
    {
        DirectoryInode(dir);
        if (Store.HasEntries(dir)) throw FsError.Of(Errno.ENOTEMPTY, "the directory is not empty");
        var batch = new StoreBatch();
        Store.DeleteInode(batch, dir);
        Store.Write(batch);
        return Ack.Instance;
    }

    private async Task<Ack> UnlinkAt(long dir, string name)
    {
        DirectoryInode(dir);
        var entry = Store.GetEntry(dir, name) ?? throw FsError.Of(Errno.ENOENT, $"no such file or directory: {name}");
        if (entry.Kind == FsNodeKind.Directory) throw FsError.Of(Errno.EISDIR, $"{name} is a directory: use rmdir");
        var batch = new StoreBatch();
        FsStore.DeleteEntry(batch, dir, name);
        Touch(batch, dir);
        var local = IsLocal(entry.Inode);
        if (local) Drop(batch, entry.Inode);
        Store.Write(batch);
        if (!local) await At<Ack>(entry.Inode, new ShardDropFile(entry.Inode));
        return Ack.Instance;
    }

    private Ack DropFile(long inode)
    {
        var batch = new StoreBatch();
        Drop(batch, inode);
        Store.Write(batch);
        return Ack.Instance;
    }

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

    private FsEntry? Link(ShardLink request)
    {
        DirectoryInode(request.Inode);
        if (creating.Contains((request.Inode, request.Name))) throw FsError.Of(Errno.EEXIST, $"{request.Name} is being created");
        var current = Store.GetEntry(request.Inode, request.Name);
        if (current?.Inode != request.Expected)
            throw FsError.Of(Errno.EEXIST, $"{request.Name} changed while it was being replaced; try again");
        var batch = new StoreBatch();
        FsStore.PutEntry(batch, request.Inode, request.Name, request.Target.Inode, request.Target.Kind);
        Touch(batch, request.Inode);
        Store.Write(batch);
        return current is { } c ? new FsEntry(request.Name, c.Kind, c.Inode) : null;
    }

    private Ack UnlinkEntry(ShardUnlinkEntry request)
    {
        DirectoryInode(request.Inode);
        if (Store.GetEntry(request.Inode, request.Name) is { } entry && entry.Inode == request.Expected)
        {
            var batch = new StoreBatch();
            FsStore.DeleteEntry(batch, request.Inode, request.Name);
            Touch(batch, request.Inode);
            Store.Write(batch);
        }
        return Ack.Instance;
    }

    /// <summary>A directory changed: its version moves on.</summary>
    private void Touch(StoreBatch batch, long dir)
    {
        var node = Store.GetInode(dir)!;
        FsStore.PutInode(batch, dir, node with { Version = node.Version + 1 });
    }

    // ---- moving shards -----------------------------------------------------------------------

    private Ack SetMembers(Endpoint[] all)
    {
        if (all.Length < members.Length || !all.Take(members.Length).SequenceEqual(members))
            throw new FosException(FosError.BadRequest, "members may be added to a file-system fleet, never renumbered");
        members = all;
        return Ack.Instance;
    }

    private Ack SetOwner(int shard, int owner)
    {
        if (shard is < 0 or >= FsStore.Shards || owner < 0 || owner >= members.Length)
            throw new FosException(FosError.BadRequest, $"no shard {shard} or member {owner} in this fleet");
        owners[shard] = owner;
        return Ack.Instance;
    }

    /// <summary>
    /// Moves a shard this member owns to member <paramref name="to"/>, by messages: requests for the
    /// shard wait while its keys and open handles travel; the new owner syncs them before the map
    /// changes (the new owner first, so nobody sends it requests it would bounce back); then this
    /// member drops its copy and lets the waiting requests go where the map now says.
    /// </summary>
    private async Task<Ack> MoveShard(int shard, int to)
    {
        if (shard is < 0 or >= FsStore.Shards || owners[shard] != index)
            throw new FosException(FosError.BadRequest, $"shard {shard} is not this member's to move");
        if (to < 0 || to >= members.Length) throw new FosException(FosError.BadRequest, $"no member {to} in this fleet");
        if (to == index) return Ack.Instance;
        var gate = new TaskCompletionSource();
        frozen.Add(shard, gate);
        try
        {
            await busy[shard].Idle(); // work already under way finishes here
            var target = members[to];
            var keys = Store.Store.Scan(FsStore.ShardPrefix(shard));
            var moving = handles.Where(h => FsStore.ShardOf(h.Value.Inode) == shard)
                .Select(h => new FsHandleState(h.Key, h.Value.Inode, h.Value.Write, h.Value.Owner, unlinkedWhileOpen.Contains(h.Value.Inode))).ToArray();
            const int PartSize = 256;
            for (var at = 0; at == 0 || at < keys.Count; at += PartSize)
            {
                var last = at + PartSize >= keys.Count;
                await Kernel.Call(target, new FsImportShard(shard, [.. keys.Skip(at).Take(PartSize)], last ? moving : [], last));
            }
            owners[shard] = to;
            await Kernel.Call(target, new FsShardOwner(shard, to));
            foreach (var member in members.Where((m, i) => i != index && i != to)) await Kernel.Call(member, new FsShardOwner(shard, to));
            var drop = new StoreBatch();
            foreach (var key in Store.Store.Scan(FsStore.ShardPrefix(shard))) drop.Delete(key.Key);
            used -= Store.DataBytes(shard);
            Store.Write(drop);
            Store.Forget(shard);
            foreach (var handle in moving)
            {
                handles.Remove(handle.Id);
                openCount.Remove(handle.Inode);
                unlinkedWhileOpen.Remove(handle.Inode);
            }
            return Ack.Instance;
        }
        finally
        {
            frozen.Remove(shard);
            gate.SetResult();
        }
    }

    private async Task<Ack> Import(FsImportShard part)
    {
        if (part.Shard is < 0 or >= FsStore.Shards) throw new FosException(FosError.BadRequest, $"no shard {part.Shard}");
        var batch = new StoreBatch();
        if (!importing.Contains(part.Shard))
        {
            // The first part: whatever an earlier stay of this shard here left behind goes first.
            importing.Add(part.Shard);
            foreach (var stale in Store.Store.Scan(FsStore.ShardPrefix(part.Shard))) batch.Delete(stale.Key);
            Store.Forget(part.Shard);
        }
        foreach (var (key, value) in part.Entries)
        {
            if (key.Length == 0 || key[0] != part.Shard) throw new FosException(FosError.BadRequest, $"a key outside shard {part.Shard} came with it");
            batch.Put(key, value);
        }
        if (batch.Count > 0) Store.Write(batch);
        if (!part.Last) return Ack.Instance;
        importing.Remove(part.Shard);
        foreach (var h in part.Handles)
        {
            handles[h.Id] = new OpenFile(h.Inode, h.Write, h.Owner);
            openCount[h.Inode] = openCount.GetValueOrDefault(h.Inode) + 1;
            if (h.UnlinkedWhileOpen) unlinkedWhileOpen.Add(h.Inode);
        }
        used += Store.DataBytes(part.Shard);
        await Store.Store.Sync(); // durable here before the old owner lets go of it
        return Ack.Instance;
    }

    // ---- open files (on the member owning the inode) -----------------------------------------

    private OpenFile Check(FsHandle handle, bool write)
    {
        if (!handles.TryGetValue(handle.Id, out var open) || open.Inode != handle.Inode)
            throw FsError.Of(Errno.EBADF, $"{handle} is not open (closed already, or never opened)");
        if (write && !open.Write) throw FsError.Of(Errno.EBADF, $"{handle} was opened for reading only");
        return open;
    }

    private byte[] Read(FsRead request)
    {
        Check(request.Handle, write: false);
        if (request.Offset < 0 || request.Count < 0) throw FsError.Of(Errno.EINVAL, "offset and count must not be negative");
        var node = Store.GetInode(request.Handle.Inode)!;
        return Store.Read(request.Handle.Inode, node, request.Offset, Math.Min(request.Count, 16 << 20));
    }

    private long Write(FsWrite request)
    {
        Check(request.Handle, write: true);
        if (request.Offset < 0) throw FsError.Of(Errno.EINVAL, "offset must not be negative");
        if (request.Offset > MaxFileSize - request.Data.Length) throw FsError.Of(Errno.EFBIG, $"a file may hold at most {MaxFileSize} bytes");
        var inode = request.Handle.Inode;
        var node = Store.GetInode(inode)!;
        if (request.Data.Length == 0) return node.Size; // POSIX: writing nothing changes nothing
        Reserve(Math.Max(node.Size, request.Offset + request.Data.Length) - node.Size);
        var batch = new StoreBatch();
        var size = Store.Write(batch, inode, node, request.Offset, request.Data);
        FsStore.PutInode(batch, inode, node with { Size = size, Version = node.Version + 1 });
        Store.Write(batch);
        used += size - node.Size;
        return size;
    }

    /// <summary>Refuses growth past this member's quota before anything is written.</summary>
    private void Reserve(long growth)
    {
        if (growth > 0 && used + growth > quota)
            throw FsError.Of(Errno.ENOSPC, $"no space left: this file-system member holds {used} of its {quota} bytes, and the write needs {growth} more");
    }

    /// <summary>The largest file (1 TiB): far beyond any test, small enough that offsets never overflow.</summary>
    public const long MaxFileSize = 1L << 40;

    private long Truncate(FsTruncate request)
    {
        Check(request.Handle, write: true);
        if (request.Length < 0 || request.Length > MaxFileSize) throw FsError.Of(Errno.EINVAL, $"a length must be between 0 and {MaxFileSize}");
        var inode = request.Handle.Inode;
        var node = Store.GetInode(inode)!;
        Reserve(request.Length - node.Size);
        var batch = new StoreBatch();
        Store.Truncate(batch, inode, request.Length);
        FsStore.PutInode(batch, inode, node with { Size = request.Length, Version = node.Version + 1 });
        Store.Write(batch);
        used += request.Length - node.Size;
        return request.Length;
    }

    private async Task<Ack> Sync(FsHandle handle)
    {
        Check(handle, write: false);
        await Store.Store.Sync();
        return Ack.Instance;
    }

    private async Task<Ack> Close(FsHandle handle)
    {
        var open = Check(handle, write: false);
        handles.Remove(handle.Id); // a second close is EBADF even while the sync runs
        try
        {
            if (open.Write) await Store.Store.Sync();
        }
        finally
        {
            Release(open.Inode);
        }
        return Ack.Instance;
    }

    private void Release(long inode)
    {
        var left = openCount.GetValueOrDefault(inode) - 1;
        if (left > 0)
        {
            openCount[inode] = left;
            return;
        }
        openCount.Remove(inode);
        if (unlinkedWhileOpen.Remove(inode) && store is not null)
        {
            var batch = new StoreBatch();
            used -= store.DeleteInode(batch, inode);
            store.Write(batch);
        }
    }

    private async Task<int> CloseAllOf(long owner)
    {
        while (frozen.Count > 0) await frozen.Values.First().Task; // a moving shard's handles settle first
        var theirs = handles.Where(h => h.Value.Owner == owner).ToList();
        foreach (var (id, open) in theirs)
        {
            handles.Remove(id);
            Release(open.Inode);
        }
        return theirs.Count;
    }
}
