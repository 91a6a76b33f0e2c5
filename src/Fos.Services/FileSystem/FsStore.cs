using System.Buffers.Binary;
using System.Text;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

/// <summary>
/// The file system's layout in a member's store. Every key starts with its shard, so a shard is a
/// key prefix that can be listed and moved whole:
/// <code>
/// [shard] 'n'                       next inode sequence of the shard
/// [shard] 'i' [inode]               inode: kind, size, version, and whether its data is in an extent
/// [shard] 'e' [dir inode] [name]    directory entry: child inode, kind
/// [shard] 'b' [inode] [block]       file data, BlockSize bytes per block (the last may be short), of a file of one block at most
/// [shard] 'o' [inode]               unlinked while open: delete when the member restarts
/// [shard] 'x' [tx]                  an operation over several shards this shard coordinates (<see cref="FsIntent"/>)
/// [shard] 'r' [dir inode] [name]    a name reserved for another shard's operation: the transaction's id
/// [shard] 'l'                       (shard 0) the lock held by a directory rename across directories
/// </code>
/// A file that grows past one block moves its data to the store's extent numbered by its inode,
/// where it is written once, in place, instead of through the engine's log and its compactions
/// (BlueStore's split). Small files stay in blocks, where one sync covers data and metadata.
/// An inode's number is <c>sequence · 4096 + allocating shard · 64 + home shard</c>: the home
/// shard (low six bits) says where it lives, and a shard can number an inode for another one
/// (a new directory) from its own sequence without asking.
/// </summary>
public sealed class FsStore(IStore store)
{
    public const int Shards = FsLimits.Shards;
    public const int BlockSize = FsLimits.BlockSize;
    public const long RootInode = Shards; // below every number a sequence gives

    /// <summary>The layout version this code reads and writes, kept under a key outside every shard.</summary>
    public const byte FormatVersion = 2;

    /// <summary>Where a store keeps its layout version (outside every shard).</summary>
    public static readonly byte[] VersionKey = [0xFF, (byte)'v'];

    /// <summary>
    /// The fleet as this member last knew it (outside the shards, like the version): the machine
    /// each member ran on and each shard's owner, so a member restarted while the rest of its
    /// cluster is down knows which shards are its and where the others will come back.
    /// </summary>
    private static readonly byte[] FleetKey = [0xFF, (byte)'f'];

    /// <summary>The machine of each member by index, and the owning member of each shard.</summary>
    public sealed record FleetMap(ushort[] Machines, int[] Owners);

    public static void PutFleet(StoreBatch batch, FleetMap map)
    {
        var bytes = new byte[4 + map.Machines.Length * 2 + map.Owners.Length * 4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, map.Machines.Length);
        for (var i = 0; i < map.Machines.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4 + i * 2), map.Machines[i]);
        var owners = bytes.AsSpan(4 + map.Machines.Length * 2);
        for (var s = 0; s < map.Owners.Length; s++) BinaryPrimitives.WriteInt32BigEndian(owners[(s * 4)..], map.Owners[s]);
        batch.Put(FleetKey, bytes);
    }

    /// <summary>The fleet this member last knew, or null if it never saved one (or what is there is not one).</summary>
    public FleetMap? GetFleet()
    {
        if (store.Get(FleetKey) is not { Length: >= 4 } bytes) return null;
        var count = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (count is <= 0 or > 4096 || bytes.Length != 4 + count * 2 + Shards * 4) return null;
        var machines = new ushort[count];
        for (var i = 0; i < count; i++) machines[i] = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(4 + i * 2));
        var owners = new int[Shards];
        for (var s = 0; s < Shards; s++) owners[s] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + count * 2 + s * 4));
        return owners.All(o => o >= 0 && o < count) ? new FleetMap(machines, owners) : null;
    }

    private readonly Dictionary<int, long> nextSequence = [];

    // The member is the only writer of its shards, so it can cache them without asking anyone:
    // inodes and directory entries (absent ones too) stay in memory until a write changes them.
    // That is what makes a path walk over warm directories cost dictionary lookups, not engine reads.
    private const int CacheLimit = 200_000;
    private readonly Dictionary<long, Inode?> inodes = [];
    private readonly Dictionary<EntryName, (long Inode, FsNodeKind Kind)?> entries = new(EntryNames.Instance);

    public IStore Store => store;

    /// <summary>
    /// Moves on whenever a directory entry may have changed or a shard was let go: what was learned
    /// by walking names before then may be stale.
    /// </summary>
    public long NamesVersion { get; private set; }

    public static int ShardOf(long inode) => (int)(inode & (Shards - 1));

    /// <summary>An inode: what it is, its size, its version, and whether its data is in its extent (else in blocks).</summary>
    public sealed record Inode(FsNodeKind Kind, long Size, long Version, bool InExtent = false)
    {
        /// <summary>What stat says of inode <paramref name="number"/>, which this record describes.</summary>
        public FsAttributes Attributes(long number) => new(number, Kind, Size, Version);
    }

    /// <summary>An inode as stored: 17 bytes, and an 18th that is 1 when its data is in its extent.</summary>
    public static Inode DecodeInode(byte[] value) =>
        new((FsNodeKind)value[0], BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(1)), BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(9)),
            value.Length > 17 && value[17] == 1);

    private static byte[] EncodeInode(Inode value)
    {
        var bytes = new byte[value.InExtent ? 18 : 17];
        bytes[0] = (byte)value.Kind;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(1), value.Size);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(9), value.Version);
        if (value.InExtent) bytes[17] = 1;
        return bytes;
    }

    // Extents of removed files, deleted once the removal is durable: deleted before, a crash could
    // bring back an inode whose data is gone.
    private readonly List<long> doomed = [];

    // ---- keys --------------------------------------------------------------------------------

    private static byte[] Key(int shard, byte tag, long inode, ReadOnlySpan<byte> suffix = default)
    {
        var key = new byte[10 + suffix.Length];
        key[0] = (byte)shard;
        key[1] = tag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(2), inode);
        suffix.CopyTo(key.AsSpan(10));
        return key;
    }

    private static byte[] InodeKey(long inode) => Key(ShardOf(inode), (byte)'i', inode);

    private static byte[] EntryKey(long dir, string name) => Key(ShardOf(dir), (byte)'e', dir, Encoding.UTF8.GetBytes(name));

    private static byte[] EntryPrefix(long dir) => Key(ShardOf(dir), (byte)'e', dir);

    private static byte[] BlockKey(long inode, long block)
    {
        Span<byte> suffix = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(suffix, block);
        return Key(ShardOf(inode), (byte)'b', inode, suffix);
    }

    private static byte[] BlockPrefix(long inode) => Key(ShardOf(inode), (byte)'b', inode);

    private static byte[] OrphanKey(long inode) => Key(ShardOf(inode), (byte)'o', inode);

    private static byte[] SequenceKey(int shard) => [(byte)shard, (byte)'n'];

    private static byte[] IntentKey(int shard, long tx) => Key(shard, (byte)'x', tx);

    private static byte[] ReservationKey(long dir, string name) => Key(ShardOf(dir), (byte)'r', dir, Encoding.UTF8.GetBytes(name));

    private static readonly byte[] RenameLockKey = [0, (byte)'l'];

    public static void DeleteRenameLock(StoreBatch batch) => batch.Delete(RenameLockKey);

    public static byte[] ShardPrefix(int shard) => [(byte)shard];

    /// <summary>The first key after every key that starts with <paramref name="prefix"/>.</summary>
    public static byte[] PrefixEnd(byte[] prefix)
    {
        var end = (byte[])prefix.Clone();
        for (var i = end.Length - 1; i >= 0; i--)
            if (++end[i] != 0) return end;
        throw new ArgumentException("a prefix of 0xFF bytes has no end", nameof(prefix));
    }

    // ---- inodes and entries ------------------------------------------------------------------

    public Inode? GetInode(long inode)
    {
        if (inodes.TryGetValue(inode, out var cached)) return cached;
        var value = store.Get(InodeKey(inode));
        var node = value is null ? null : DecodeInode(value);
        if (inodes.Count >= CacheLimit) inodes.Clear();
        inodes[inode] = node;
        return node;
    }

    /// <summary>Forgets a shard this member no longer owns (its sequence and anything cached of it).</summary>
    public void Forget(int shard)
    {
        NamesVersion++;
        nextSequence.Remove(shard);
        foreach (var inode in inodes.Keys.Where(i => ShardOf(i) == shard).ToList()) inodes.Remove(inode);
        foreach (var key in entries.Keys.Where(k => ShardOf(k.Dir) == shard).ToList()) entries.Remove(key);
    }

    /// <summary>Applies a batch to the store, and forgets what it changes from the cache.</summary>
    public void Write(StoreBatch batch)
    {
        store.Write(batch);
        if (batch.RangeDeletes > 0) NamesVersion++;
        foreach (var (key, value) in batch.Operations)
        {
            if (key.Length < 10) continue;
            var inode = BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(2));
            if (key[1] == (byte)'i')
            {
                // A removed file's extent goes once the removal is durable (see Sync), and not
                // before the removal is even written.
                if (value is null && inodes.GetValueOrDefault(inode) is { InExtent: true }) doomed.Add(inode);
                inodes.Remove(inode);
            }
            else if (key[1] == (byte)'e')
            {
                entries.Remove(new EntryName(inode, Encoding.UTF8.GetString(key.AsSpan(10))));
                NamesVersion++;
            }
        }
    }

    public static void PutInode(StoreBatch batch, long inode, Inode value) => batch.Put(InodeKey(inode), EncodeInode(value));

    /// <summary>
    /// Makes durable everything written before it (the store's extents first, then its batches),
    /// then deletes the extents of files whose removal that made durable.
    /// </summary>
    public async Task Sync()
    {
        long[] gone = [.. doomed];
        doomed.Clear();
        try
        {
            await store.Sync();
        }
        catch
        {
            doomed.AddRange(gone); // not durable yet: the next sync deletes them
            throw;
        }
        foreach (var inode in gone) store.Extents.Delete(inode);
    }

    public (long Inode, FsNodeKind Kind)? GetEntry(long dir, string name)
    {
        if (entries.TryGetValue(new EntryName(dir, name), out var cached)) return cached;
        var value = store.Get(EntryKey(dir, name));
        (long, FsNodeKind)? entry = value is null ? null : (BinaryPrimitives.ReadInt64BigEndian(value), (FsNodeKind)value[8]);
        if (entries.Count >= CacheLimit) entries.Clear();
        entries[new EntryName(dir, name)] = entry;
        return entry;
    }

    /// <summary>The same, for a name that is a slice of a path: a cached entry costs no string.</summary>
    public (long Inode, FsNodeKind Kind)? GetEntry(long dir, ReadOnlySpan<char> name) =>
        entries.GetAlternateLookup<EntrySlice>().TryGetValue(new EntrySlice(dir, name), out var cached) ? cached : GetEntry(dir, name.ToString());

    private readonly record struct EntryName(long Dir, string Name);

    private readonly ref struct EntrySlice(long dir, ReadOnlySpan<char> name)
    {
        public long Dir { get; } = dir;
        public ReadOnlySpan<char> Name { get; } = name;
    }

    /// <summary>Entry names compared by their characters, so a slice of a path finds a cached name.</summary>
    private sealed class EntryNames : IEqualityComparer<EntryName>, IAlternateEqualityComparer<EntrySlice, EntryName>
    {
        public static readonly EntryNames Instance = new();

        public bool Equals(EntryName x, EntryName y) => x.Dir == y.Dir && string.Equals(x.Name, y.Name, StringComparison.Ordinal);

        public int GetHashCode(EntryName entry) => HashCode.Combine(entry.Dir, string.GetHashCode(entry.Name.AsSpan()));

        public bool Equals(EntrySlice slice, EntryName entry) => slice.Dir == entry.Dir && slice.Name.SequenceEqual(entry.Name);

        public int GetHashCode(EntrySlice slice) => HashCode.Combine(slice.Dir, string.GetHashCode(slice.Name));

        public EntryName Create(EntrySlice slice) => new(slice.Dir, slice.Name.ToString());
    }

    public static void PutEntry(StoreBatch batch, long dir, string name, long inode, FsNodeKind kind)
    {
        var bytes = new byte[9];
        BinaryPrimitives.WriteInt64BigEndian(bytes, inode);
        bytes[8] = (byte)kind;
        batch.Put(EntryKey(dir, name), bytes);
    }

    public static void DeleteEntry(StoreBatch batch, long dir, string name) => batch.Delete(EntryKey(dir, name));

    /// <summary>Up to <paramref name="limit"/> entries of a directory in name (byte) order, after <paramref name="after"/> if given.</summary>
    public List<FsEntry> ListEntries(long dir, string? after = null, int limit = int.MaxValue)
    {
        var prefix = EntryPrefix(dir);
        byte[] from = after is null ? prefix : [.. EntryKey(dir, after), 0]; // the first key past 'after'
        return [.. store.Scan(prefix, from, limit).Select(e => new FsEntry(
            Encoding.UTF8.GetString(e.Key.AsSpan(prefix.Length)), (FsNodeKind)e.Value[8], BinaryPrimitives.ReadInt64BigEndian(e.Value)))];
    }

    public bool HasEntries(long dir) => store.Scan(EntryPrefix(dir), limit: 1).Count > 0;

    /// <summary>
    /// A new inode number that lives in <paramref name="home"/>, drawn from the sequence of
    /// <paramref name="allocator"/> (a shard this member owns); the batch records the sequence.
    /// </summary>
    public long NewInode(StoreBatch batch, int allocator, int home)
    {
        if (!nextSequence.TryGetValue(allocator, out var next))
        {
            var stored = store.Get(SequenceKey(allocator));
            next = stored is null ? 1 : BinaryPrimitives.ReadInt64BigEndian(stored);
        }
        nextSequence[allocator] = next + 1;
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, next + 1);
        batch.Put(SequenceKey(allocator), bytes);
        return (next << 12) | ((long)allocator << 6) | (long)home;
    }

    /// <summary>Checks the store's layout version (writing it into a new store); an older layout is refused plainly.</summary>
    public void CheckFormat(StoreBatch batch)
    {
        var stored = store.Get(VersionKey);
        if (stored is null)
        {
            if (store.Scan([], limit: 1).Count > 0)
                throw new Kernel.FosException(Kernel.FosError.BadRequest,
                    $"store '{store.Name}' was written by an older fos (layout 1); this one reads layout {FormatVersion}: boot on a new data directory");
            batch.Put(VersionKey, [FormatVersion]);
        }
        else if (stored.Length != 1 || stored[0] != FormatVersion)
        {
            throw new Kernel.FosException(Kernel.FosError.BadRequest, $"store '{store.Name}' has layout {stored.FirstOrDefault()}; this fos reads layout {FormatVersion}");
        }
    }

    // ---- operations over several shards ------------------------------------------------------

    public static void PutIntent(StoreBatch batch, int shard, FsIntent intent) => batch.Put(IntentKey(shard, intent.Tx), intent.Encode());

    public static void DeleteIntent(StoreBatch batch, int shard, long tx) => batch.Delete(IntentKey(shard, tx));

    /// <summary>The operations a shard was coordinating when its member last stopped.</summary>
    public List<FsIntent> Intents(int shard) => [.. store.Scan([(byte)shard, (byte)'x']).Select(e => FsIntent.Decode(e.Value))];

    /// <summary>A hold for another shard's operation: its transaction, and the shard that coordinates it (and can say whether it still runs).</summary>
    public readonly record struct Hold(long Tx, int Coordinator);

    private static byte[] HoldBytes(Hold hold)
    {
        var bytes = new byte[9];
        BinaryPrimitives.WriteInt64BigEndian(bytes, hold.Tx);
        bytes[8] = (byte)hold.Coordinator;
        return bytes;
    }

    private static Hold HoldOf(byte[] value) => new(BinaryPrimitives.ReadInt64BigEndian(value), value.Length > 8 ? value[8] : 0);

    public static void PutReservation(StoreBatch batch, long dir, string name, Hold hold) => batch.Put(ReservationKey(dir, name), HoldBytes(hold));

    public static void DeleteReservation(StoreBatch batch, long dir, string name) => batch.Delete(ReservationKey(dir, name));

    /// <summary>Names of a shard reserved for other shards' operations.</summary>
    public List<(long Dir, string Name, Hold Hold)> Reservations(int shard) =>
        [.. store.Scan([(byte)shard, (byte)'r']).Select(e => (BinaryPrimitives.ReadInt64BigEndian(e.Key.AsSpan(2)),
            Encoding.UTF8.GetString(e.Key.AsSpan(10)), HoldOf(e.Value)))];

    /// <summary>The operation holding the directory-rename lock, if any (shard 0).</summary>
    public Hold? RenameLockHolder() => store.Get(RenameLockKey) is { } v ? HoldOf(v) : null;

    public static void PutRenameLock(StoreBatch batch, Hold hold) => batch.Put(RenameLockKey, HoldBytes(hold));

    /// <summary>Removes an inode, its data and its orphan mark; returns the bytes of data it held.</summary>
    public long DeleteInode(StoreBatch batch, long inode)
    {
        var freed = GetInode(inode) is { Kind: FsNodeKind.File } file ? file.Size : 0; // cached: the write below sees whether it had an extent
        batch.Delete(InodeKey(inode));
        batch.Delete(OrphanKey(inode));
        var blocks = BlockPrefix(inode);
        batch.DeleteRange(blocks, PrefixEnd(blocks)); // one range delete: the engine gives the space back by compacting it
        return freed;
    }

    public static void MarkOrphan(StoreBatch batch, long inode) => batch.Put(OrphanKey(inode), []);

    /// <summary>The bytes of file data in a shard (the sum of its files' sizes).</summary>
    public long DataBytes(int shard) =>
        store.Scan([(byte)shard, (byte)'i']).Where(e => e.Value[0] == (byte)FsNodeKind.File).Sum(e => BinaryPrimitives.ReadInt64BigEndian(e.Value.AsSpan(1)));

    /// <summary>Inodes unlinked while open when the member last stopped; nobody can open them now.</summary>
    public List<long> Orphans(int shard) =>
        [.. store.Scan([(byte)shard, (byte)'o']).Select(e => BinaryPrimitives.ReadInt64BigEndian(e.Key.AsSpan(2)))];

    // ---- file data ---------------------------------------------------------------------------

    /// <summary>
    /// Up to <paramref name="count"/> bytes from <paramref name="offset"/>; a file in an extent is
    /// read into <paramref name="lent"/> when the reader lent a buffer of just the right size.
    /// </summary>
    public byte[] Read(long inode, Inode node, long offset, int count, byte[]? lent = null)
    {
        if (offset >= node.Size || count <= 0) return [];
        var length = (int)Math.Min(count, node.Size - offset);
        if (node.InExtent)
        {
            // Not cleared first: the extent fills it (holes read as zeros from the host), and
            // clearing a MiB costs as much as reading it.
            var bytes = lent?.Length == length ? lent : GC.AllocateUninitializedArray<byte>(length);
            var read = store.Extents.Read(inode, offset, bytes);
            bytes.AsSpan(read).Clear(); // an extent shorter than the file (it cannot be, after Reconcile) reads as zeros
            return bytes;
        }
        var result = new byte[length]; // holes read as zeros
        var first = offset / BlockSize;
        var last = (offset + length - 1) / BlockSize;
        foreach (var entry in store.Scan(BlockPrefix(inode), from: BlockKey(inode, first), limit: (int)(last - first + 1)))
        {
            var block = BinaryPrimitives.ReadInt64BigEndian(entry.Key.AsSpan(10));
            if (block > last) break;
            var blockStart = block * BlockSize;
            var from = Math.Max(offset, blockStart);
            var to = Math.Min(offset + length, blockStart + entry.Value.Length);
            if (to > from) entry.Value.AsSpan((int)(from - blockStart), (int)(to - from)).CopyTo(result.AsSpan((int)(from - offset)));
        }
        return result;
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>; returns the inode with its new size (and where its data now is).</summary>
    public Inode Write(StoreBatch batch, long inode, Inode node, long offset, ReadOnlySpan<byte> data)
    {
        var end = offset + data.Length;
        if (!node.InExtent && end > BlockSize) node = MoveToExtent(batch, inode, node);
        if (node.InExtent)
        {
            store.Extents.Write(inode, offset, data);
            return node with { Size = Math.Max(node.Size, end) };
        }
        for (var position = offset; position < end;)
        {
            var block = position / BlockSize;
            var blockStart = block * BlockSize;
            var within = (int)(position - blockStart);
            var take = (int)Math.Min(BlockSize - within, end - position);
            byte[] bytes;
            if (within == 0 && (take == BlockSize || position + take >= node.Size))
            {
                bytes = new byte[take]; // the block is replaced whole, or nothing lies beyond the write
            }
            else
            {
                var old = store.Get(BlockKey(inode, block)) ?? [];
                var length = Math.Max(old.Length, within + take);
                // Within the file's old size, a block shorter than that size ends in a hole: zeros.
                bytes = new byte[length];
                old.CopyTo(bytes, 0);
            }
            data.Slice((int)(position - offset), take).CopyTo(bytes.AsSpan(within));
            batch.Put(BlockKey(inode, block), bytes);
            position += take;
        }
        return node with { Size = Math.Max(node.Size, end) };
    }

    /// <summary>
    /// Copies a file's blocks into its extent, makes it durable, and drops the blocks in the batch.
    /// The flush comes first because the engine may make the batch durable on its own before any
    /// sync (a flush of its memtable): without it, a power loss could keep a batch that says the
    /// data is in an extent whose bytes never reached the disk, and lose data that was synced.
    /// Until the batch is written the inode still says blocks; a crash before then leaves an
    /// extent no inode claims, which the member deletes when it starts (<see cref="Reconcile"/>).
    /// </summary>
    private Inode MoveToExtent(StoreBatch batch, long inode, Inode node)
    {
        var extents = store.Extents;
        extents.SetLength(inode, 0); // whatever an earlier, unfinished move left
        var prefix = BlockPrefix(inode);
        for (var from = prefix; ;) // a page at a time: a file that came with a shard move can be big and still in blocks
        {
            var page = store.Scan(prefix, from, limit: 64);
            foreach (var entry in page)
                extents.Write(inode, BinaryPrimitives.ReadInt64BigEndian(entry.Key.AsSpan(10)) * BlockSize, entry.Value);
            if (page.Count < 64) break;
            from = [.. page[^1].Key, 0];
        }
        extents.SetLength(inode, node.Size);
        extents.Flush(inode);
        batch.DeleteRange(prefix, PrefixEnd(prefix));
        return node with { InExtent = true };
    }

    /// <summary>
    /// After a restart: the extents of a shard's files agree with their inodes. An extent that
    /// holds less than its inode's size lost unsynced data in a crash after a later batch was
    /// made durable by the engine on its own: the file ends where its data does. An extent that
    /// holds more is cut, so that growing the file again shows zeros, not old bytes. Each extent
    /// an inode claims goes into <paramref name="claimed"/>, for <see cref="DeleteUnclaimedExtents"/>.
    /// </summary>
    public void Reconcile(StoreBatch batch, int shard, HashSet<long> claimed, IReadOnlyCollection<long> going)
    {
        foreach (var (key, value) in store.Scan([(byte)shard, (byte)'i']))
        {
            var node = DecodeInode(value);
            if (!node.InExtent) continue;
            var inode = BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(2));
            claimed.Add(inode);
            if (going.Contains(inode)) continue; // removed in this same batch: nothing to mend
            var length = store.Extents.Length(inode);
            if (length < node.Size) PutInode(batch, inode, node with { Size = length, Version = node.Version + 1 });
            else if (length > node.Size) store.Extents.SetLength(inode, node.Size);
        }
    }

    /// <summary>Deletes the extents that no inode of this member claims (see <see cref="Reconcile"/>).</summary>
    public void DeleteUnclaimedExtents(HashSet<long> claimed)
    {
        foreach (var id in store.Extents.List())
            if (!claimed.Contains(id)) store.Extents.Delete(id);
    }

    /// <summary>
    /// A shard's keys as another member takes them: a file in an extent goes as blocks (the
    /// taker moves it to an extent of its own if it grows). Read as the taker asks for more, so a
    /// big file is never in memory whole.
    /// </summary>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Export(int shard)
    {
        foreach (var entry in store.Scan(ShardPrefix(shard)))
        {
            if (entry.Key.Length < 10 || entry.Key[1] != (byte)'i' || DecodeInode(entry.Value) is not { InExtent: true } node)
            {
                yield return entry;
                continue;
            }
            var inode = BinaryPrimitives.ReadInt64BigEndian(entry.Key.AsSpan(2));
            yield return new(entry.Key, EncodeInode(node with { InExtent = false }));
            for (long block = 0; block * BlockSize < node.Size; block++)
            {
                var bytes = new byte[(int)Math.Min(BlockSize, node.Size - block * BlockSize)];
                store.Extents.Read(inode, block * BlockSize, bytes);
                yield return new(BlockKey(inode, block), bytes);
            }
        }
    }

    /// <summary>Drops a shard this member gave away: its keys now, its files' extents once that is durable.</summary>
    public void Drop(int shard)
    {
        foreach (var (key, value) in store.Scan([(byte)shard, (byte)'i']))
            if (DecodeInode(value).InExtent) doomed.Add(BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(2)));
        Write(new StoreBatch().DeleteRange(ShardPrefix(shard), PrefixEnd(ShardPrefix(shard))));
        Forget(shard);
    }

    /// <summary>Cuts or extends (with zeros) a file to <paramref name="length"/>.</summary>
    public void Truncate(StoreBatch batch, long inode, Inode node, long length)
    {
        if (node.InExtent)
        {
            store.Extents.SetLength(inode, length);
            return;
        }
        var keep = (length + BlockSize - 1) / BlockSize; // blocks 0..keep-1 stay
        foreach (var entry in store.Scan(BlockPrefix(inode), from: BlockKey(inode, Math.Max(0, keep - 1))))
        {
            var block = BinaryPrimitives.ReadInt64BigEndian(entry.Key.AsSpan(10));
            if (block >= keep) batch.Delete(entry.Key);
            else
            {
                var limit = (int)(length - block * BlockSize);
                if (entry.Value.Length > limit) batch.Put(entry.Key, entry.Value.AsSpan(0, limit).ToArray());
            }
        }
    }
}
