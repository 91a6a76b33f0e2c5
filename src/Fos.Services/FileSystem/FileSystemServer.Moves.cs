using Fos.Kernel;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

// Moving shards between members while the fleet serves (it grows or shrinks).
public sealed partial class FileSystemServer
{
    private readonly Dictionary<int, TaskCompletionSource> frozen = []; // shards on their way to another member
    private readonly Underway[] busy = [.. Enumerable.Range(0, FsStore.Shards).Select(_ => new Underway())]; // shard work that awaits: a move waits for it
    private readonly HashSet<int> importing = []; // shards arriving here, part by part

    /// <summary>Thrown by work about to write a shard that is on its way to another member: it waits for the move and starts over.</summary>
    private sealed class ShardMoving(Task gate) : Exception("a shard is moving")
    {
        public Task Gate { get; } = gate;
    }

    /// <summary>Refuses to go on (see <see cref="ShardMoving"/>) if any of these inodes' shards is moving.</summary>
    private void ThrowIfMoving(params long[] inodes)
    {
        foreach (var inode in inodes)
            if (frozen.TryGetValue(FsStore.ShardOf(inode), out var gate)) throw new ShardMoving(gate.Task);
    }

    /// <summary>
    /// Moves a shard this member owns to member <paramref name="to"/>, by messages: requests for the
    /// shard wait while its keys and open handles travel; the new owner syncs them before the map
    /// changes (the new owner first, so nobody sends it requests it would bounce back); then this
    /// member drops its copy and lets the waiting requests go where the map now says.
    /// </summary>
    private async Task<Ack> MoveShard(int shard, int to)
    {
        if (shard is < 0 or >= FsStore.Shards || owners.Length == 0 || owners[shard] != index)
            throw new FosException(FosError.BadRequest, $"shard {shard} is not this member's to move");
        if (to < 0 || to >= members.Length) throw new FosException(FosError.BadRequest, $"no member {to} in this fleet");
        if (to == index) return Ack.Instance;
        var gate = new TaskCompletionSource();
        frozen.Add(shard, gate);
        try
        {
            await busy[shard].Idle(); // work already under way, and intents it coordinates, finish here
            var target = members[to].Peer;
            var moving = handles.Where(h => FsStore.ShardOf(h.Value.Inode) == shard)
                .Select(h => new FsHandleState(h.Key, h.Value.Inode, h.Value.Write, h.Value.Directory, h.Value.Client,
                    unlinkedWhileOpen.Contains(h.Value.Inode))).ToArray();
            const int PartSize = 256;
            using (var keys = Store.Export(shard).GetEnumerator())
            {
                var (more, first) = (keys.MoveNext(), true);
                do
                {
                    var part = new List<KeyValuePair<byte[], byte[]>>(PartSize);
                    for (; more && part.Count < PartSize; more = keys.MoveNext()) part.Add(keys.Current);
                    await Kernel.Call(target, new FsImportShard(shard, [.. part], more ? [] : moving, !more, First: first), PeerTimeout);
                    first = false;
                }
                while (more);
            }
            owners[shard] = to;
            ownersChanged++;
            SaveFleet();
            await Kernel.Call(target, new FsShardOwner(shard, to));
            foreach (var member in members.Where((_, i) => i != index && i != to))
            {
                try
                {
                    await Kernel.Call(member.Peer, new FsShardOwner(shard, to));
                }
                catch (FosException)
                {
                    // A member that does not answer learns the owner when it is configured again (a
                    // replacement is); meanwhile what it sends here is forwarded.
                }
            }
            used -= Store.DataBytes(shard);
            Store.Drop(shard);
            await Store.Sync(); // the drop durable, its files' extents go
            foreach (var handle in moving)
            {
                Forget(handle.Id, handles[handle.Id]);
                openCount.Remove(handle.Inode);
                unlinkedWhileOpen.Remove(handle.Inode);
            }
            locks.ReleaseShard(shard); // whoever waits on its names starts over, and goes to the new owner
            foreach (var tx in holds.Keys.Where(tx => locks.HeldBy(tx).Count == 0).ToList()) holds.Remove(tx);
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
        if (part.Shard is < 0 or >= FsStore.Shards || part.Entries is null || part.Handles is null)
            throw new FosException(FosError.BadRequest, $"no shard {part.Shard}, or a part without its entries");
        var batch = new StoreBatch();
        if (part.First || !importing.Contains(part.Shard))
        {
            // The first part: whatever an earlier stay of this shard here left behind goes first.
            importing.Add(part.Shard);
            batch.DeleteRange(FsStore.ShardPrefix(part.Shard), FsStore.PrefixEnd(FsStore.ShardPrefix(part.Shard)));
            Store.Forget(part.Shard);
        }
        foreach (var (key, value) in part.Entries)
        {
            if (key is null || value is null || key.Length == 0 || key[0] != part.Shard)
                throw new FosException(FosError.BadRequest, $"a key outside shard {part.Shard} came with it");
            batch.Put(key, value);
        }
        if (batch.Count > 0) Store.Write(batch);
        if (!part.Last) return Ack.Instance;
        importing.Remove(part.Shard);
        foreach (var h in part.Handles)
        {
            if (handles.ContainsKey(h.Id)) throw new FosException(FosError.BadRequest, $"handle {h.Id} is open here already");
            handles[h.Id] = new OpenFile(h.Inode, h.Write, h.Directory, h.Client);
            openCount[h.Inode] = openCount.GetValueOrDefault(h.Inode) + 1;
            perProcess[h.Client.CoreId] = perProcess.GetValueOrDefault(h.Client.CoreId) + 1;
            if (h.UnlinkedWhileOpen) unlinkedWhileOpen.Add(h.Inode);
        }
        used += Store.DataBytes(part.Shard);
        await Store.Sync(); // durable here before the old owner lets go of it
        Adopt(part.Shard);
        return Ack.Instance;
    }
}
