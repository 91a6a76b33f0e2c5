using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

// Names held for an operation another shard coordinates (reservations, and the fleet's
// directory-rename lock on shard 0): taken and let go durably, and let go as well when a request
// has waited on one long and the coordinating shard says it no longer runs that operation.
public sealed partial class FileSystemServer
{
    /// <summary>How long a request waits on a name held for another shard's operation before asking whether that operation still runs.</summary>
    private static readonly TimeSpan AskAfter = TimeSpan.FromSeconds(2);

    private readonly Dictionary<long, int> holds = []; // operations of other shards holding names here → their coordinating shard

    /// <summary>
    /// Waits for a held name. While it stays held, every <see cref="AskAfter"/> a kernel timer asks
    /// whether its holder, if it is another shard's operation, still runs there; if the coordinating
    /// shard runs no such operation (a request that arrived after its coordinator restarted and
    /// undid it), the hold goes. (A kernel timer, not Task.WhenAny: a continuation that is not an
    /// await would run off the core's loop.)
    /// </summary>
    private async Task WaitFor(Task held)
    {
        var timer = Kernel.StartTimer(AskAfter, () => _ = AskWhetherHolderRuns(held));
        try
        {
            await held;
        }
        finally
        {
            timer.Cancel();
        }
    }

    private async Task AskWhetherHolderRuns(Task held)
    {
        if (held.IsCompleted || locks.HolderOf(held) is not { } tx || !holds.TryGetValue(tx, out var coordinator)) return;
        bool runs;
        try
        {
            runs = await StillRuns(tx, coordinator);
        }
        catch (FosException)
        {
            runs = true; // the coordinator is not reachable now: ask again later
        }
        if (held.IsCompleted || !holds.ContainsKey(tx)) return;
        if (runs)
        {
            Kernel.StartTimer(AskAfter, () => _ = AskWhetherHolderRuns(held));
            return;
        }
        var batch = new StoreBatch();
        foreach (var (dir, name) in locks.HeldBy(tx))
        {
            if (dir == 0 && name.Length == 0) FsStore.DeleteRenameLock(batch);
            else FsStore.DeleteReservation(batch, dir, name);
        }
        Store.Write(batch);
        foreach (var (dir, name) in locks.HeldBy(tx)) locks.Release(dir, name, tx);
        holds.Remove(tx);
    }

    private async Task<Ack> Reserve(ShardReserve request)
    {
        if (locks.Holder(request.Inode, request.Name) != request.Tx)
        {
            DirectoryInode(request.Inode);
            if (Store.GetEntry(request.Inode, request.Name)?.Inode != request.Expected)
                throw FsError.Of(Errno.ENOENT, "no such file or directory (it was moved or removed meanwhile)");
            locks.TryTake(request.Inode, request.Name, request.Tx);
            holds[request.Tx] = request.Coordinator;
            var batch = new StoreBatch();
            FsStore.PutReservation(batch, request.Inode, request.Name, new FsStore.Hold(request.Tx, request.Coordinator));
            Store.Write(batch);
        }
        await Store.Sync();
        return Ack.Instance;
    }

    private async Task<Ack> ReleaseReservation(ShardRelease request)
    {
        if (locks.Holder(request.Inode, request.Name) != request.Tx) return Ack.Instance;
        var batch = new StoreBatch();
        FsStore.DeleteReservation(batch, request.Inode, request.Name);
        Store.Write(batch);
        await Store.Sync();
        locks.Release(request.Inode, request.Name, request.Tx);
        holds.Remove(request.Tx);
        return Ack.Instance;
    }

    private async Task<Ack> UnlinkReserved(ShardUnlinkReserved request)
    {
        if (locks.Holder(request.Inode, request.Name) != request.Tx) return Ack.Instance; // done before
        var batch = new StoreBatch();
        FsStore.DeleteReservation(batch, request.Inode, request.Name);
        FsStore.DeleteEntry(batch, request.Inode, request.Name);
        Touch(batch, request.Inode);
        Store.Write(batch);
        await Store.Sync();
        locks.Release(request.Inode, request.Name, request.Tx);
        holds.Remove(request.Tx);
        return Ack.Instance;
    }

    private async Task<Ack> LockRenames(long tx, int coordinator)
    {
        if (locks.Holder(0, "") != tx)
        {
            locks.TryTake(0, "", tx);
            holds[tx] = coordinator;
            var batch = new StoreBatch();
            FsStore.PutRenameLock(batch, new FsStore.Hold(tx, coordinator));
            Store.Write(batch);
        }
        await Store.Sync();
        return Ack.Instance;
    }

    private async Task<Ack> UnlockRenames(long tx)
    {
        if (locks.Holder(0, "") != tx) return Ack.Instance;
        var batch = new StoreBatch();
        FsStore.DeleteRenameLock(batch);
        Store.Write(batch);
        await Store.Sync();
        locks.Release(0, "", tx);
        holds.Remove(tx);
        return Ack.Instance;
    }
}
