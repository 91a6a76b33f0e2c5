using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

// Operations that change more than one shard: mkdir and rmdir of a directory whose inode another
// member keeps, unlink of such a file, and rename. The member owning the changed entry coordinates:
// it records an intent (FsIntent) in its own store before any other shard changes, holds the names
// the operation changes until it is done, and drives idempotent steps on the other shards. Each
// step that another shard's state depends on is synced before the next one is sent, so after any
// crash of any member (losing whatever it had not synced) the intent is still there to be finished
// when its member starts again, and nobody has seen a state in between: names in flight wait.
//
// The decision of each operation, after which it is finished and never undone:
//   mkdir  - the intent itself (nothing can refuse it afterwards);
//   rmdir  - the directory's owner deleting it if empty (else the intent is dropped: ENOTEMPTY);
//   unlink - the entry's removal, in the same batch as the intent;
//   rename - the intent turning Decided, or, when it replaces a directory, that directory's deletion.
// A rename across directories of a directory also holds the fleet's rename lock (kept with shard 0,
// as Linux keeps one per file system), under which it walks the target's path again so that no
// rename can make a directory its own ancestor.
public sealed partial class FileSystemServer
{
    private static readonly TimeSpan RetryFirst = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan RetryMost = TimeSpan.FromSeconds(2);

    private readonly Dictionary<long, FsIntent> running = [];
    private readonly Dictionary<long, int[]> pinned = []; // shards of this member an intent writes besides its coordinator's: they do not move until it ends
    private bool stopping;

    private static int CoordinatorOf(FsIntent intent) => FsStore.ShardOf(intent.Kind == IntentKind.Rename ? intent.ToDir : intent.Dir);

    /// <summary>Keeps the other local shards an intent writes from moving until it ends (the caller checked none is moving now).</summary>
    private void Pin(FsIntent intent)
    {
        if (pinned.ContainsKey(intent.Tx)) return;
        long[] touched = intent.Kind == IntentKind.Rename ? [intent.Dir, intent.Replaced] : [];
        var shards = touched.Where(i => i != 0 && IsLocal(i)).Select(FsStore.ShardOf).Where(s => s != CoordinatorOf(intent)).Distinct().ToArray();
        foreach (var shard in shards) busy[shard].Begin();
        pinned[intent.Tx] = shards;
    }

    private void Unpin(long tx)
    {
        if (!pinned.Remove(tx, out var shards)) return;
        foreach (var shard in shards) busy[shard].End();
    }

    private long NewTx()
    {
        long tx;
        do tx = (long)(Kernel.NextRandom() >> 1); while (tx == 0 || running.ContainsKey(tx));
        return tx;
    }

    /// <summary>The names an intent holds on its coordinator while it runs.</summary>
    private IEnumerable<(long Dir, string Name)> NamesOf(FsIntent intent) => intent.Kind switch
    {
        IntentKind.Mkdir or IntentKind.Rmdir or IntentKind.Unlink => [(intent.Dir, intent.Name)],
        IntentKind.Rename => [
            (intent.ToDir, intent.ToName),
            .. IsLocal(intent.Dir) ? [(intent.Dir, intent.Name)] : Array.Empty<(long, string)>(),
            .. intent.ReplacedKind == FsNodeKind.Directory && IsLocal(intent.Replaced) ? [(intent.Replaced, "")] : Array.Empty<(long, string)>()],
        _ => [],
    };

    /// <summary>
    /// Records <paramref name="intent"/> with <paramref name="batch"/>'s changes, holds its names,
    /// syncs the record before the first step goes out, and drives the intent to its end.
    /// </summary>
    private async Task Begin(StoreBatch batch, FsIntent intent)
    {
        var shard = CoordinatorOf(intent);
        FsStore.PutIntent(batch, shard, intent);
        foreach (var (dir, name) in NamesOf(intent))
            if (!locks.TryTake(dir, name, intent.Tx)) throw new InvalidOperationException($"{name} is held by another operation");
        Pin(intent);
        Store.Write(batch);
        running[intent.Tx] = intent;
        await Store.Sync();
        await Drive(intent);
    }

    /// <summary>Runs an intent's steps until they are all done, waiting and trying again while a member is unreachable.</summary>
    private Task Drive(FsIntent intent) => UntilDone(() => Finish(intent));

    /// <summary>Runs <paramref name="work"/> until it ends other than with a transient failure, waiting longer each time (up to 2 s).</summary>
    private async Task UntilDone(Func<Task> work)
    {
        var wait = RetryFirst;
        while (true)
        {
            try
            {
                await work();
                return;
            }
            catch (FosException ex) when (!stopping && Transient(ex))
            {
                await Kernel.Delay(wait);
                wait = wait * 2 > RetryMost ? RetryMost : wait * 2;
            }
        }
    }

    /// <summary>Writes (or rewrites) a rename's record in its coordinator's store and counts it as running; the caller syncs.</summary>
    private void Record(FsIntent intent)
    {
        var batch = new StoreBatch();
        FsStore.PutIntent(batch, CoordinatorOf(intent), intent);
        Store.Write(batch);
        running[intent.Tx] = intent;
    }

    /// <summary>
    /// A failure that waiting can cure: anything but the file system's own refusals (a member
    /// starting, stopped, dead until replaced (EIO: its shard's owner does not answer), overloaded
    /// or slow). An operation past its decision
    /// must finish, so it keeps trying.
    /// </summary>
    private static bool Transient(FosException ex) => FsError.ErrnoOf(ex) is null or Errno.EBUSY or Errno.EIO;

    private Task Finish(FsIntent intent) => intent.Kind switch
    {
        IntentKind.Mkdir => FinishMkdir(intent),
        IntentKind.Rmdir => FinishRmdir(intent),
        IntentKind.Unlink => FinishUnlink(intent),
        IntentKind.Rename => FinishRename(intent),
        _ => throw new InvalidOperationException($"an intent of kind {intent.Kind}"),
    };

    /// <summary>The intent is done: its record goes with <paramref name="batch"/>'s last changes, and its names are let go.</summary>
    private async Task End(StoreBatch batch, FsIntent intent)
    {
        FsStore.DeleteIntent(batch, CoordinatorOf(intent), intent.Tx);
        Store.Write(batch);
        // Durable before its names are let go: a crash that brought the record back after others had
        // used those names would redo the operation in a world that has moved on.
        await Store.Sync();
        running.Remove(intent.Tx);
        foreach (var (dir, name) in NamesOf(intent)) locks.Release(dir, name, intent.Tx);
        Unpin(intent.Tx);
    }

    private async Task FinishMkdir(FsIntent intent)
    {
        await At<Ack>(intent.Inode, new ShardEnsureDirectory(intent.Inode, intent.Tx, CoordinatorOf(intent)));
        var batch = new StoreBatch();
        FsStore.PutEntry(batch, intent.Dir, intent.Name, intent.Inode, FsNodeKind.Directory);
        Touch(batch, intent.Dir);
        await End(batch, intent);
    }

    private async Task FinishRmdir(FsIntent intent)
    {
        var batch = new StoreBatch();
        try
        {
            await At<Ack>(intent.Inode, new ShardRemoveDirectory(intent.Inode, intent.Tx, CoordinatorOf(intent)));
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is Errno.ENOTEMPTY or Errno.ENOTDIR)
        {
            await End(batch, intent); // refused: nothing changed anywhere
            throw;
        }
        if (Store.GetEntry(intent.Dir, intent.Name)?.Inode == intent.Inode)
        {
            FsStore.DeleteEntry(batch, intent.Dir, intent.Name);
            Touch(batch, intent.Dir);
        }
        await End(batch, intent);
    }

    private async Task FinishUnlink(FsIntent intent)
    {
        await At<Ack>(intent.Inode, new ShardDropFile(intent.Inode));
        await End(new StoreBatch(), intent);
    }

    // ---- rename ------------------------------------------------------------------------------

    /// <summary>rename, on the owner of the target directory.</summary>
    private async Task<Ack> RenameAt(ShardRenameAt request)
    {
        var (toDir, toName, fromDir, fromName, moving) = (request.Inode, request.ToName, request.FromDir, request.FromName, request.Moving);
        CheckName(toName);
        CheckName(fromName);
        if (moving is null || request.TargetParent is null) throw FsError.Of(Errno.EINVAL, "a rename needs what it moves and where");
        DirectoryInode(toDir);
        var tx = NewTx();
        var acrossDirectories = moving.Kind == FsNodeKind.Directory && fromDir != toDir;
        if (!acrossDirectories)
            return IsLocal(fromDir) ? await RenameHere(tx, request, locked: false) : await RenameAcross(tx, request, locked: false);
        // The rename is recorded before it asks for the lock, so a crash cannot leave the lock held by nobody's operation.
        Record(new FsIntent(tx, IntentKind.Rename, IntentState.Preparing, fromDir, fromName, moving.Inode, moving.Kind, toDir, toName, RenameLock: true));
        try
        {
            await Store.Sync();
            await At<Ack>(0, new ShardLockRenames(tx, FsStore.ShardOf(toDir)));
            var chain = await Chain(request.TargetParent);
            if (chain.Count != request.TargetParent.Length + 1 || chain[^1] != toDir)
                throw FsError.Of(Errno.EAGAIN, "the target's directory moved meanwhile");
            if (chain.Contains(moving.Inode)) throw FsError.Of(Errno.EINVAL, "cannot move a directory into itself");
            // The walk awaited: whatever holds the names now finishes first.
            while ((locks.Blocker(toDir, toName) ?? (IsLocal(fromDir) ? locks.Blocker(fromDir, fromName) : null)) is { } held) await WaitFor(held);
            DirectoryInode(toDir);
            return IsLocal(fromDir) ? await RenameHere(tx, request, locked: true) : await RenameAcross(tx, request, locked: true);
        }
        finally
        {
            // Every way on ends the record it takes over; one still here never got past asking, and has nothing to undo.
            if (running.TryGetValue(tx, out var left) && left.State == IntentState.Preparing && left.Replaced == 0) await End(new StoreBatch(), left);
            await Unlock(tx);
        }
    }

    private Task Unlock(long tx) => UntilDone(() => At<Ack>(0, new ShardUnlockRenames(tx)));

    /// <summary>The checks rename makes of what it replaces, in Linux's order.</summary>
    private void CheckReplace(FsEntry moving, (long Inode, FsNodeKind Kind)? replaced)
    {
        if (replaced is not { } y) return;
        if (moving.Kind == FsNodeKind.Directory && y.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, "cannot replace a file with a directory");
        if (moving.Kind != FsNodeKind.Directory && y.Kind == FsNodeKind.Directory) throw FsError.Of(Errno.EISDIR, "cannot replace a directory with a file");
        if (y.Kind == FsNodeKind.Directory && IsLocal(y.Inode)) CheckEmpty(y.Inode);
    }

    /// <summary>Both names in this member's shards: one batch, unless what is replaced lives elsewhere.</summary>
    private async Task<Ack> RenameHere(long tx, ShardRenameAt request, bool locked)
    {
        var (toDir, toName, fromDir, fromName, moving) = (request.Inode, request.ToName, request.FromDir, request.FromName, request.Moving);
        ThrowIfMoving(fromDir);
        DirectoryInode(fromDir);
        if (Store.GetEntry(fromDir, fromName)?.Inode != moving.Inode) throw FsError.Of(Errno.EAGAIN, "the source changed meanwhile");
        var replaced = Store.GetEntry(toDir, toName);
        if (replaced?.Inode == moving.Inode) return Ack.Instance;
        if (replaced is { } local && IsLocal(local.Inode)) ThrowIfMoving(local.Inode);
        CheckReplace(moving, replaced);
        var intent = new FsIntent(tx, IntentKind.Rename, IntentState.Decided, fromDir, fromName, moving.Inode, moving.Kind, toDir, toName,
            replaced?.Inode ?? 0, replaced?.Kind ?? 0, locked);
        if (replaced is { } y && !IsLocal(y.Inode))
        {
            if (y.Kind == FsNodeKind.Directory)
            {
                // The replaced directory's owner decides (it must be empty): record, then ask.
                await Begin(new StoreBatch(), intent with { State = IntentState.Preparing });
                return Ack.Instance;
            }
            // The replaced file lives elsewhere: the names change now, the file goes next.
            var moved = new StoreBatch();
            Move(moved, intent);
            await Begin(moved, intent);
            return Ack.Instance;
        }
        var batch = new StoreBatch();
        Move(batch, intent);
        if (replaced is { Kind: FsNodeKind.Directory } dir) Store.DeleteInode(batch, dir.Inode);
        else if (replaced is { } file) Drop(batch, file.Inode);
        if (running.TryGetValue(tx, out _))
        {
            FsStore.DeleteIntent(batch, FsStore.ShardOf(toDir), tx); // its record goes in the same batch
            running.Remove(tx);
        }
        (long, string)[] names = replaced is { Kind: FsNodeKind.Directory } gone ? [(toDir, toName), (fromDir, fromName), (gone.Inode, "")] : [(toDir, toName), (fromDir, fromName)];
        await Commit(batch, names);
        return Ack.Instance;
    }

    /// <summary>
    /// The source is another member's: record the rename, reserve both names (in one order fleet-wide,
    /// so two renames crossing each other cannot wait for each other), decide here, finish on both.
    /// </summary>
    private async Task<Ack> RenameAcross(long tx, ShardRenameAt request, bool locked)
    {
        var (toDir, toName, fromDir, fromName, moving) = (request.Inode, request.ToName, request.FromDir, request.FromName, request.Moving);
        var intent = new FsIntent(tx, IntentKind.Rename, IntentState.Preparing, fromDir, fromName, moving.Inode, moving.Kind, toDir, toName, RenameLock: locked);
        Record(intent);
        var sourceFirst = fromDir < toDir || (fromDir == toDir && string.CompareOrdinal(fromName, toName) < 0);
        try
        {
            await Store.Sync();
            if (sourceFirst) await At<Ack>(fromDir, new ShardReserve(fromDir, fromName, tx, moving.Inode, FsStore.ShardOf(toDir)));
            while (locks.Blocker(toDir, toName, tx) is { } held) await WaitFor(held);
            locks.TryTake(toDir, toName, tx);
            if (!sourceFirst) await At<Ack>(fromDir, new ShardReserve(fromDir, fromName, tx, moving.Inode, FsStore.ShardOf(toDir)));
            DirectoryInode(toDir);
            var replaced = Store.GetEntry(toDir, toName);
            // What it replaces may live in another shard of this member that is moving: wait for that (its name is held).
            while (replaced is { } y && IsLocal(y.Inode) && frozen.TryGetValue(FsStore.ShardOf(y.Inode), out var gate))
            {
                await gate.Task;
                replaced = Store.GetEntry(toDir, toName);
            }
            if (replaced?.Inode == moving.Inode)
            {
                await Drive(intent); // undone: it is there already
                return Ack.Instance;
            }
            CheckReplace(moving, replaced);
            intent = intent with { Replaced = replaced?.Inode ?? 0, ReplacedKind = replaced?.Kind ?? 0 };
            // A directory it replaces here is held whole from its emptiness check to the rename's end.
            if (intent.ReplacedKind == FsNodeKind.Directory && IsLocal(intent.Replaced)) locks.TryTake(intent.Replaced, "", tx);
            Pin(intent);
        }
        catch (FosException ex)
        {
            await Drive(intent); // before its decision: undone everywhere
            throw FsError.ErrnoOf(ex) == Errno.ENOENT ? FsError.Of(Errno.EAGAIN, "the source changed meanwhile") : ex;
        }
        if (intent.ReplacedKind != FsNodeKind.Directory || IsLocal(intent.Replaced)) intent = intent with { State = IntentState.Decided };
        Record(intent);
        await Store.Sync();
        await Drive(intent);
        return Ack.Instance;
    }

    /// <summary>The entries' part of a rename, in this member's batch: the target names the moving inode; a local source name goes.</summary>
    private void Move(StoreBatch batch, FsIntent intent)
    {
        if (IsLocal(intent.Dir) && Store.GetEntry(intent.Dir, intent.Name)?.Inode == intent.Inode)
        {
            FsStore.DeleteEntry(batch, intent.Dir, intent.Name);
            if (intent.Dir != intent.ToDir) Touch(batch, intent.Dir);
        }
        FsStore.PutEntry(batch, intent.ToDir, intent.ToName, intent.Inode, intent.InodeKind);
        Touch(batch, intent.ToDir);
    }

    private async Task FinishRename(FsIntent intent)
    {
        if (intent.State == IntentState.Preparing)
        {
            if (intent.ReplacedKind != FsNodeKind.Directory)
            {
                await Abort(intent); // stopped before its decision: undone
                return;
            }
            try
            {
                await At<Ack>(intent.Replaced, new ShardRemoveDirectory(intent.Replaced, intent.Tx, CoordinatorOf(intent)));
            }
            catch (FosException ex) when (FsError.ErrnoOf(ex) is Errno.ENOTEMPTY or Errno.ENOTDIR)
            {
                await Abort(intent);
                throw;
            }
        }
        if (!IsLocal(intent.Dir)) await At<Ack>(intent.Dir, new ShardUnlinkReserved(intent.Dir, intent.Name, intent.Tx));
        var batch = new StoreBatch();
        if (intent.ReplacedKind == FsNodeKind.File)
        {
            if (IsLocal(intent.Replaced)) Drop(batch, intent.Replaced);
            else await At<Ack>(intent.Replaced, new ShardDropFile(intent.Replaced));
        }
        else if (intent.ReplacedKind == FsNodeKind.Directory && IsLocal(intent.Replaced) && Store.GetInode(intent.Replaced) is not null)
        {
            Store.DeleteInode(batch, intent.Replaced);
        }
        if (Store.GetEntry(intent.ToDir, intent.ToName)?.Inode != intent.Inode || (IsLocal(intent.Dir) && Store.GetEntry(intent.Dir, intent.Name)?.Inode == intent.Inode))
            Move(batch, intent);
        await End(batch, intent);
    }

    /// <summary>Undoes a rename before its decision: the source's reservation goes, nothing else changed.</summary>
    private async Task Abort(FsIntent intent)
    {
        if (!IsLocal(intent.Dir)) await At<Ack>(intent.Dir, new ShardRelease(intent.Dir, intent.Name, intent.Tx));
        await End(new StoreBatch(), intent);
    }

    // ---- recovery ----------------------------------------------------------------------------

    /// <summary>
    /// A shard became this member's (at start, or moved here): the names its records hold are held
    /// again, and the intents it was coordinating are driven to their end in the background.
    /// </summary>
    private void Adopt(int shard)
    {
        foreach (var (dir, name, hold) in Store.Reservations(shard))
        {
            locks.TryTake(dir, name, hold.Tx);
            holds[hold.Tx] = hold.Coordinator;
        }
        if (shard == 0 && Store.RenameLockHolder() is { } holder)
        {
            locks.TryTake(0, "", holder.Tx);
            holds[holder.Tx] = holder.Coordinator;
        }
        foreach (var intent in Store.Intents(shard))
        {
            if (running.ContainsKey(intent.Tx)) continue;
            running.Add(intent.Tx, intent);
            foreach (var (dir, name) in NamesOf(intent)) locks.TryTake(dir, name, intent.Tx);
            Pin(intent);
            _ = Recover(intent, shard);
        }
    }

    private async Task Recover(FsIntent intent, int shard)
    {
        busy[shard].Begin();
        try
        {
            await Drive(intent);
        }
        catch (FosException)
        {
            // A refused step (a directory no longer empty) ended the intent; nobody waits for its answer.
        }
        finally
        {
            busy[shard].End();
        }
        if (intent.Kind == IntentKind.Rename && intent.RenameLock && !stopping) await Unlock(intent.Tx);
    }
}
