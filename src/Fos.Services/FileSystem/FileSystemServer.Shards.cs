using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

// Work on the shards this member owns. Each request runs to its end without awaiting between
// its checks and its store write, so on the member's single loop it is atomic; a request that
// touches a name another operation holds waits for it and then starts over.
public sealed partial class FileSystemServer
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(30);

    private readonly NameLocks locks = new();

    /// <summary>Serves a shard request here if this member owns the shard (once nothing it needs is held), else forwards it.</summary>
    private async ValueTask<object?> OnShard(IShardRequest request)
    {
        while (true)
        {
            var shard = FsStore.ShardOf(request.Inode);
            if (frozen.TryGetValue(shard, out var gate))
            {
                await gate.Task;
                continue;
            }
            if (!IsLocal(request.Inode)) return await Forward(shard, request);
            if (store is null) throw FsError.Of(Errno.EBUSY, "this file-system member is still starting");
            if (Blocker(request) is { } held)
            {
                await WaitFor(held);
                continue;
            }
            busy[shard].Begin();
            try
            {
                return await Shard(request);
            }
            catch (ShardMoving moving)
            {
                await moving.Gate; // it wrote nothing: it starts over once the other shard has moved
            }
            finally
            {
                busy[shard].End();
            }
        }
    }

    /// <summary>
    /// Passes a request to its shard's owner. An owner that cannot be reached (its core or machine
    /// down, or its machine not back yet after a restart) makes the shard unavailable: EIO, naming
    /// the member and its machine, never an answer from somewhere else.
    /// </summary>
    private async Task<object?> Forward(int shard, IShardRequest request)
    {
        for (var attempt = 0; ; attempt++)
        {
            var owner = OwnerOf(request.Inode);
            try
            {
                return await Kernel.Call(owner, request, PeerTimeout);
            }
            catch (FosException ex) when (ex.Unanswered)
            {
                // The owner may have been replaced (its machine restarted) while this member could
                // not hear of it. A refused capability says so for sure: its machine answers, and
                // the mailbox there is another's now, whose name is on its way to this machine.
                if (attempt == 0 && await Relearn(owners[shard], owner, patient: ex.Error == FosError.CapabilityRefused)) continue;
                throw FsError.Of(Errno.EIO,
                    $"shard {shard} is kept by file-system member {owners[shard]} on m{owner.Address.Machine}, which does not answer: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// Finds who member <paramref name="member"/> is now: each member under <c>/sys/fleet/fs</c> on
    /// the machine <paramref name="known"/> is on says which index it is (the place its own peer
    /// mailbox has in its view); a member at that index that is not <paramref name="known"/> takes
    /// its place here → whether one did. A <paramref name="patient"/> search looks again for a while:
    /// the replacement's name may not have reached this machine's replica of the directory yet.
    /// </summary>
    private async Task<bool> Relearn(int member, Endpoint known, bool patient)
    {
        var until = Kernel.Now + RelearnPatience;
        while (true)
        {
            if (await RelearnOnce(member, known)) return true;
            if (!patient || Kernel.Now >= until) return false;
            await Kernel.Delay(RelearnPause);
        }
    }

    private static readonly TimeSpan RelearnPatience = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RelearnPause = TimeSpan.FromMilliseconds(100);

    private async Task<bool> RelearnOnce(int member, Endpoint known)
    {
        foreach (var candidate in await Candidates(member, known))
        {
            try
            {
                var view = await Kernel.Call<FsFleetView>(candidate, new FsFleetState(), TimeSpan.FromSeconds(2));
                if (member >= view.Members.Length || view.Members[member].Peer != candidate || member >= members.Length) continue;
                members = [.. members];
                members[member] = view.Members[member];
                SaveFleet();
                return true;
            }
            catch (FosException)
            {
                // That one does not answer either: the next.
            }
        }
        return false;
    }

    /// <summary>
    /// Who may be member <paramref name="member"/> now: the fleet's names on <paramref name="known"/>'s
    /// machine, and whom the other members were told of. This machine's replica of the names can
    /// lag behind a restart, and a member the replacement could not tell learns it from one it did.
    /// </summary>
    private async Task<List<Endpoint>> Candidates(int member, Endpoint known)
    {
        var candidates = new List<Endpoint>();
        try
        {
            var fleet = await Kernel.LookupAll(WellKnownNames.FileSystemFleet);
            candidates.AddRange(fleet.Members.Where(m => m != peer && m != known && m.Address.Machine == known.Address.Machine));
        }
        catch (FosException)
        {
            // No names to ask: the other members may still say.
        }
        foreach (var other in members.Select(m => m.Peer).Where(p => p != peer && p != known).ToList())
        {
            try
            {
                var view = await Kernel.Call<FsFleetView>(other, new FsFleetState(), TimeSpan.FromSeconds(2));
                if (member < view.Members.Length && view.Members[member].Peer is var told && told != known && !candidates.Contains(told))
                    candidates.Add(told);
            }
            catch (FosException)
            {
                // Down as well, or replaced itself: the others may know.
            }
        }
        return candidates;
    }

    /// <summary>What <paramref name="request"/> must wait for before it may run.</summary>
    private Task? Blocker(IShardRequest request) => request switch
    {
        ShardLookup r => locks.Blocker(r.Inode, r.Name),
        ShardStat r => locks.Blocker(r.Inode, ""), // an inode being removed is held until that is durable
        ShardOpenInode r => locks.Blocker(r.Inode, ""),
        ShardOpenAt r => locks.Blocker(r.Inode, r.Name),
        ShardReadDir r => locks.DirectoryBlocker(r.Inode),
        ShardMkdirAt r => locks.Blocker(r.Inode, r.Name),
        ShardRmdirAt r => locks.Blocker(r.Inode, r.Name),
        ShardUnlinkAt r => locks.Blocker(r.Inode, r.Name),
        ShardRenameAt r => locks.Blocker(r.Inode, r.ToName) ?? (IsLocal(r.FromDir) ? locks.Blocker(r.FromDir, r.FromName) : null),
        ShardReserve r => locks.Blocker(r.Inode, r.Name, r.Tx),
        ShardLockRenames r => locks.Blocker(0, "", r.Tx),
        _ => null,
    };

    private ValueTask<object?> Shard(IShardRequest request) => request switch
    {
        ShardLookup r => Reply(Lookup(r.Inode, r.Name)),
        ShardStat r => Reply(Attributes(r.Inode)),
        ShardOpenAt r => ReplyWhenDone(OpenAt(r)),
        ShardOpenInode r => Reply(OpenInode(r.Inode, r.Flags, r.Client)),
        ShardReadDir r => Reply(ReadDir(r)),
        ShardMkdirAt r => ReplyWhenDone(MkdirAt(r.Inode, r.Name)),
        ShardEnsureDirectory r => ReplyWhenDone(EnsureDirectory(r)),
        ShardRmdirAt r => ReplyWhenDone(RmdirAt(r.Inode, r.Name)),
        ShardRemoveDirectory r => ReplyWhenDone(RemoveDirectory(r)),
        ShardUnlinkAt r => ReplyWhenDone(UnlinkAt(r.Inode, r.Name)),
        ShardDropFile r => ReplyWhenDone(DropFile(r.Inode)),
        ShardRenameAt r => ReplyWhenDone(RenameAt(r)),
        ShardReserve r => ReplyWhenDone(Reserve(r)),
        ShardRelease r => ReplyWhenDone(ReleaseReservation(r)),
        ShardUnlinkReserved r => ReplyWhenDone(UnlinkReserved(r)),
        ShardLockRenames r => ReplyWhenDone(LockRenames(r.Tx, r.Coordinator)),
        ShardUnlockRenames r => ReplyWhenDone(UnlockRenames(r.Tx)),
        ShardHandleOp r => HandleOp(r),
        _ => throw new FosException(FosError.BadRequest, $"the file system does not understand {request.GetType().Name}"),
    };

    /// <summary>
    /// Applies a change of this member's shards alone, and returns once it is durable. The names it
    /// changes (a name "" is a whole directory) are held until then, so nobody sees a change that a
    /// crash could still take back: a metadata operation is durable when it returns.
    /// </summary>
    private async Task Commit(StoreBatch batch, params (long Dir, string Name)[] names)
    {
        var tx = NewTx();
        var shards = names.Select(n => FsStore.ShardOf(n.Dir)).Distinct().ToArray();
        foreach (var shard in shards) busy[shard].Begin(); // no shard it holds names of moves before they are let go
        foreach (var (dir, name) in names) locks.TryTake(dir, name, tx);
        try
        {
            Store.Write(batch);
            await Store.Sync();
        }
        finally
        {
            foreach (var (dir, name) in names) locks.Release(dir, name, tx);
            foreach (var shard in shards) busy[shard].End();
        }
    }

    /// <summary>Whether the shard <paramref name="coordinator"/> still runs operation <paramref name="tx"/> (asked of its owner).</summary>
    private async Task<bool> StillRuns(long tx, int coordinator) =>
        IsLocal(coordinator) ? running.ContainsKey(tx) : await Kernel.Call<bool>(OwnerOf(coordinator), new FsTxRunning(tx), PeerTimeout);

    private FsStore.Inode DirectoryInode(long dir)
    {
        var node = Store.GetInode(dir) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory (the directory was removed)");
        return node.Kind == FsNodeKind.Directory ? node : throw FsError.Of(Errno.ENOTDIR, "not a directory");
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or ".." || name.Contains('/') || name.Contains('\0'))
            throw FsError.Of(Errno.EINVAL, "not a valid name");
    }

    private FsEntry? Lookup(long dir, string name)
    {
        DirectoryInode(dir);
        return Store.GetEntry(dir, name) is { } entry ? new FsEntry(name, entry.Kind, entry.Inode) : null;
    }

    private FsAttributes Attributes(long inode)
    {
        var node = Store.GetInode(inode) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory (it was removed)");
        return node.Attributes(inode);
    }

    private FsDirPage ReadDir(ShardReadDir request)
    {
        DirectoryInode(request.Inode);
        var limit = Math.Clamp(request.Limit, 1, FsReadDir.MaxPage);
        var entries = Store.ListEntries(request.Inode, request.After, limit + 1);
        return entries.Count > limit ? new FsDirPage([.. entries.Take(limit)], More: true) : new FsDirPage([.. entries], More: false);
    }

    /// <summary>A directory changed: its version moves on.</summary>
    private void Touch(StoreBatch batch, long dir)
    {
        var node = Store.GetInode(dir)!;
        FsStore.PutInode(batch, dir, node with { Version = node.Version + 1 });
    }

    private async Task<FsOpened> OpenAt(ShardOpenAt request)
    {
        var (dir, name, flags) = (request.Inode, request.Name, request.Flags);
        CheckName(name);
        DirectoryInode(dir);
        if (Store.GetEntry(dir, name) is { } existing)
        {
            if (flags.Create && flags.Exclusive) throw FsError.Of(Errno.EEXIST, "file exists");
            return IsLocal(existing.Inode)
                ? OpenInode(existing.Inode, flags, request.Client)
                : await At<FsOpened>(existing.Inode, new ShardOpenInode(existing.Inode, flags, request.Client));
        }
        if (!flags.Create) throw FsError.Of(Errno.ENOENT, "no such file or directory");
        if (flags.Directory) throw FsError.Of(Errno.EINVAL, "a directory is made with mkdir, not open");
        CheckHandleRoom(request.Client);
        var batch = new StoreBatch();
        var shard = FsStore.ShardOf(dir);
        var inode = Store.NewInode(batch, shard, shard);
        FsStore.PutInode(batch, inode, new FsStore.Inode(FsNodeKind.File, 0, 1));
        FsStore.PutEntry(batch, dir, name, inode, FsNodeKind.File);
        Touch(batch, dir);
        await Commit(batch, (dir, name));
        return OpenInode(inode, flags, request.Client);
    }

    private async Task<FsAttributes> MkdirAt(long dir, string name)
    {
        CheckName(name);
        DirectoryInode(dir);
        if (Store.GetEntry(dir, name) is not null) throw FsError.Of(Errno.EEXIST, "file exists");
        // A random shard spreads the tree; never one on its way elsewhere (its move would wait for us).
        int home;
        do home = Kernel.NextRandom(FsStore.Shards); while (frozen.ContainsKey(home));
        var batch = new StoreBatch();
        var inode = Store.NewInode(batch, FsStore.ShardOf(dir), home);
        var made = new FsAttributes(inode, FsNodeKind.Directory, 0, 1);
        if (IsLocal(inode))
        {
            FsStore.PutInode(batch, inode, new FsStore.Inode(FsNodeKind.Directory, 0, 1));
            FsStore.PutEntry(batch, dir, name, inode, FsNodeKind.Directory);
            Touch(batch, dir);
            await Commit(batch, (dir, name));
            return made;
        }
        await Begin(batch, new FsIntent(NewTx(), IntentKind.Mkdir, IntentState.Decided, dir, name, inode, FsNodeKind.Directory));
        return made;
    }

    private async Task<Ack> EnsureDirectory(ShardEnsureDirectory request)
    {
        if (!await StillRuns(request.Tx, request.Coordinator)) throw FsError.Of(Errno.EINVAL, "the operation that asked for this directory has ended");
        var inode = request.Inode;
        if (Store.GetInode(inode) is null)
        {
            var batch = new StoreBatch();
            FsStore.PutInode(batch, inode, new FsStore.Inode(FsNodeKind.Directory, 0, 1));
            await Commit(batch, (inode, ""));
        }
        else
        {
            await Store.Sync();
        }
        return Ack.Instance;
    }

    private async Task<Ack> RmdirAt(long dir, string name)
    {
        CheckName(name);
        DirectoryInode(dir);
        var entry = Store.GetEntry(dir, name) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory");
        if (entry.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, "not a directory");
        var batch = new StoreBatch();
        if (IsLocal(entry.Inode))
        {
            ThrowIfMoving(entry.Inode);
            CheckEmpty(entry.Inode);
            Store.DeleteInode(batch, entry.Inode);
            FsStore.DeleteEntry(batch, dir, name);
            Touch(batch, dir);
            await Commit(batch, (dir, name), (entry.Inode, ""));
            return Ack.Instance;
        }
        await Begin(batch, new FsIntent(NewTx(), IntentKind.Rmdir, IntentState.Decided, dir, name, entry.Inode, FsNodeKind.Directory));
        return Ack.Instance;
    }

    private void CheckEmpty(long dir)
    {
        if (Store.HasEntries(dir) || locks.AnyIn(dir)) throw FsError.Of(Errno.ENOTEMPTY, "directory not empty");
    }

    private async Task<Ack> RemoveDirectory(ShardRemoveDirectory request)
    {
        var dir = request.Inode;
        if (!await StillRuns(request.Tx, request.Coordinator)) throw FsError.Of(Errno.EINVAL, "the operation that asked for this removal has ended");
        if (Store.GetInode(dir) is not { } node) return Ack.Instance; // gone already: this step was done before
        if (node.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, "not a directory");
        CheckEmpty(dir);
        var batch = new StoreBatch();
        Store.DeleteInode(batch, dir);
        await Commit(batch, (dir, ""));
        return Ack.Instance;
    }

    private async Task<Ack> UnlinkAt(long dir, string name)
    {
        CheckName(name);
        DirectoryInode(dir);
        var entry = Store.GetEntry(dir, name) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory");
        if (entry.Kind == FsNodeKind.Directory) throw FsError.Of(Errno.EISDIR, "is a directory (use rmdir)");
        var batch = new StoreBatch();
        FsStore.DeleteEntry(batch, dir, name);
        Touch(batch, dir);
        if (IsLocal(entry.Inode))
        {
            ThrowIfMoving(entry.Inode);
            Drop(batch, entry.Inode);
            await Commit(batch, (dir, name), (entry.Inode, ""));
            return Ack.Instance;
        }
        // The name goes now; the file, kept by another member, goes next (finished after a crash).
        await Begin(batch, new FsIntent(NewTx(), IntentKind.Unlink, IntentState.Decided, dir, name, entry.Inode, FsNodeKind.File));
        return Ack.Instance;
    }

    private async Task<Ack> DropFile(long inode)
    {
        if (Store.GetInode(inode) is null) return Ack.Instance; // dropped before: this step was done already
        var batch = new StoreBatch();
        Drop(batch, inode);
        await Commit(batch, (inode, ""));
        return Ack.Instance;
    }
}
