using Fos.Kernel;
using Fos.Kernel.Storage;
using RocksDbSharp;

namespace Fos.Runtime.Storage;

/// <summary>
/// A store in RocksDB. A write goes to the write-ahead log with a write() and no fsync, so once it
/// returns it survives a killed process (the host's page cache holds it) and a lost machine loses
/// only what was not synced; RocksDB replays its log in order, so what survives is a prefix of the
/// batches. A sync fsyncs the log (and with it everything written before), on a pool thread.
/// </summary>
/// <remarks>
/// <para><b>Memory.</b> A store holds at most <see cref="StoreOptions.WriteBuffers"/> write buffers of
/// <see cref="StoreOptions.WriteBufferBytes"/> (2 × 16 MB by default), and all stores of a machine
/// together flush their biggest buffer once they hold <see cref="StoreOptions.MachineWriteBufferBytes"/>
/// (64 MB). Blocks read from table files, their indexes and filters live in one LRU cache of
/// <see cref="StoreOptions.BlockCacheBytes"/> (64 MB) shared by every store of the machine, and a
/// store keeps at most <see cref="StoreOptions.MaxOpenFiles"/> (64) table files open. So a machine's
/// stores need about 128 MB plus a few MB each (iterators, log buffers, open files), however much is
/// written or read.</para>
/// <para><b>Space.</b> Deleted keys stay in the table files as tombstones until a compaction drops
/// them. Range deletes that cover more than <see cref="StoreOptions.CompactAfterDeletedBytes"/> of
/// table files get those ranges compacted on a pool thread; table files dense with single-key
/// deletes are marked for compaction when written; and every file is recompacted within a day, which
/// bounds how long any deleted space stays taken.</para>
/// <para><b>Lifetime.</b> Every call into the engine holds a pass of a <see cref="StoreGate"/>, and
/// <see cref="Dispose"/> waits for the passes out (a sync, a compaction) before it closes the
/// database: nothing touches the native handle after it is freed.</para>
/// </remarks>
internal sealed class RocksStore : IStore
{
    private const ulong PeriodicCompactionSeconds = 24 * 60 * 60;
    private const int DeletionWindow = 256; // a table file with 128 deletes in any 256 entries in a row gets compacted
    private const int DeletionTrigger = 128;

    private readonly RocksDb db;
    private readonly StoreGate gate;
    private readonly long compactAfter;
    private readonly WriteOptions lazy = new WriteOptions().SetSync(false);
    private readonly Lock compactions = new();
    private readonly List<(byte[] From, byte[] To)> deleted = [];
    private long deletedBytes;
    private bool compacting;
    private int disposing;
    private readonly GroupCommit commits;
    private readonly HostExtents extents;

    private RocksStore(string name, RocksDb db, long compactAfter, HostExtents extents)
    {
        Name = name;
        this.db = db;
        this.extents = extents;
        this.compactAfter = compactAfter;
        gate = new StoreGate(name);
        commits = new GroupCommit(SyncLog);
    }

    public static RocksStore Open(string name, string directory, StoreOptions settings, RocksShared shared)
    {
        var table = new BlockBasedTableOptions()
            .SetBlockCache(shared.BlockCache)
            .SetCacheIndexAndFilterBlocks(true)
            .SetPinL0FilterAndIndexBlocksInCache(true);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetMaxBackgroundCompactions(1) // the CPUs belong to fos cores; compaction takes what is left
            .SetCompression(Compression.No)
            .SetWriteBufferSize((ulong)settings.WriteBufferBytes)
            .SetMaxWriteBufferNumber(settings.WriteBuffers)
            .SetMaxOpenFiles(settings.MaxOpenFiles)
            .SetMaxTotalWalSize((ulong)(settings.WriteBufferBytes * settings.WriteBuffers))
            .SetKeepLogFileNum(2)
            .SetMaxLogFileSize(1 << 20)
            .SetBlockBasedTableFactory(table);
        var native = Native.Instance;
        native.rocksdb_options_set_write_buffer_manager(options.Handle, shared.WriteBufferManager);
        native.rocksdb_options_set_periodic_compaction_seconds(options.Handle, PeriodicCompactionSeconds);
        native.rocksdb_options_add_compact_on_deletion_collector_factory(options.Handle, DeletionWindow, DeletionTrigger);
        var extents = new HostExtents(Path.Combine(directory, "extents")); // first: it holds nothing open yet, so a failed open below leaks nothing
        try
        {
            return new RocksStore(name, RocksDb.Open(options, directory), settings.CompactAfterDeletedBytes, extents);
        }
        catch (RocksDbException ex)
        {
            throw new FosException(FosError.BadRequest, $"cannot open store '{name}' in {directory}: {ex.Message}");
        }
    }

    public string Name { get; }

    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        using var pass = gate.Enter();
        return key.IsEmpty ? null : db.Get(key);
    }

    public void Write(StoreBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var pass = gate.Enter();
        using var rocks = new WriteBatch();
        foreach (var edit in batch.Edits)
        {
            switch (edit.Kind)
            {
                case StoreEditKind.Put: rocks.Put(edit.Key, edit.Value); break;
                case StoreEditKind.Delete: rocks.Delete(edit.Key); break;
                case StoreEditKind.DeleteRange:
                    if (edit.Key.AsSpan().SequenceCompareTo(edit.End) < 0)
                        rocks.DeleteRange(edit.Key, (ulong)edit.Key.Length, edit.End!, (ulong)edit.End!.Length);
                    break;
            }
        }
        db.Write(rocks, lazy);
        if (batch.RangeDeletes > 0) Deleted(batch);
    }

    public IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue)
    {
        using var pass = gate.Enter();
        var result = new List<KeyValuePair<byte[], byte[]>>();
        if (limit <= 0) return result;
        var prefixCopy = prefix.ToArray();
        var start = from.SequenceCompareTo(prefix) > 0 ? from.ToArray() : prefixCopy; // a start before the prefix means the prefix
        using var iterator = db.NewIterator();
        for (iterator.Seek(start); iterator.Valid() && result.Count < limit; iterator.Next())
        {
            var key = iterator.Key();
            if (!key.AsSpan().StartsWith(prefixCopy)) break;
            result.Add(new(key, iterator.Value()));
        }
        return result;
    }

    // The fsync runs on a pool thread so the core keeps serving; the awaiting server resumes on
    // its own core (its synchronization context), as after any other await. Syncing the log makes
    // durable every write that returned before, since each is already in the log; syncs asked for
    // while one runs share the next (group commit).
    public Task Sync()
    {
        // The caller's pass keeps the store open until its sync is done: Dispose waits for it,
        // so a sync asked for before Dispose still happens.
        if (!gate.TryEnter(out var pass)) return Task.FromException(Closed());
        var synced = commits.Sync();
        synced.ContinueWith(static (_, held) => ((StoreGate.Pass)held!).Dispose(), pass,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return synced;
    }

    public IExtents Extents => extents;

    // Every caller this sync answers holds a pass (see Sync), so the database is open while it
    // runs. Extents go first: a batch that records what they hold is never durable without them.
    private void SyncLog()
    {
        extents.FlushAll();
        Native.Instance.rocksdb_flush_wal(db.Handle, 1);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposing, 1) != 0) return;
        // A manual compaction under way stops at its next step instead of finishing the range.
        Native.Instance.rocksdb_disable_manual_compaction(db.Handle);
        gate.Close();
        extents.Dispose();
        db.Dispose();
    }

    private ObjectDisposedException Closed() => new($"store '{Name}'", $"store '{Name}' is closed");

    /// <summary>Notes the table-file bytes a batch's range deletes cover, and compacts them once there are enough.</summary>
    private void Deleted(StoreBatch batch)
    {
        long covered = 0;
        var ranges = new List<(byte[], byte[])>();
        foreach (var edit in batch.Edits)
        {
            if (edit.Kind != StoreEditKind.DeleteRange || edit.Key.AsSpan().SequenceCompareTo(edit.End) >= 0) continue;
            covered += (long)TableBytes(edit.Key, edit.End!);
            ranges.Add((edit.Key, edit.End!));
        }
        lock (compactions)
        {
            deleted.AddRange(ranges);
            deletedBytes += covered;
            if (compacting || deletedBytes < compactAfter || deleted.Count == 0) return;
            if (!gate.TryEnter(out var pass)) return;
            compacting = true;
            _ = Task.Run(() => CompactDeleted(pass));
        }
    }

    private void CompactDeleted(StoreGate.Pass pass)
    {
        using (pass)
        {
            try
            {
                while (TakeDeleted() is { } ranges)
                {
                    foreach (var (from, to) in ranges)
                    {
                        try
                        {
                            db.CompactRange(from, to);
                        }
                        catch (RocksDbException)
                        {
                            // Paused by Dispose, or the disk failed: the space comes back with a later compaction.
                        }
                    }
                }
            }
            finally
            {
                lock (compactions) compacting = false;
            }
        }
    }

    /// <summary>The ranges deleted since the last compaction, joined; null (and no compaction under way) once there are none.</summary>
    private List<(byte[] From, byte[] To)>? TakeDeleted()
    {
        lock (compactions)
        {
            if (deleted.Count == 0 || Volatile.Read(ref disposing) != 0)
            {
                compacting = false;
                return null;
            }
            var ranges = Merge(deleted);
            deleted.Clear();
            deletedBytes = 0;
            return ranges;
        }
    }

    /// <summary>The ranges sorted, with overlapping and touching ones joined.</summary>
    private static List<(byte[] From, byte[] To)> Merge(List<(byte[] From, byte[] To)> ranges)
    {
        var merged = new List<(byte[] From, byte[] To)>();
        foreach (var (from, to) in ranges.OrderBy(r => r.From, ByteComparer.Instance))
        {
            if (merged.Count > 0 && from.AsSpan().SequenceCompareTo(merged[^1].To) <= 0)
            {
                if (to.AsSpan().SequenceCompareTo(merged[^1].To) > 0) merged[^1] = (merged[^1].From, to);
            }
            else merged.Add((from, to));
        }
        return merged;
    }

    /// <summary>About how many bytes of table files hold keys in [from, to).</summary>
    private unsafe ulong TableBytes(byte[] from, byte[] to)
    {
        fixed (byte* start = from, limit = to)
        {
            var starts = stackalloc IntPtr[] { (IntPtr)start };
            var limits = stackalloc IntPtr[] { (IntPtr)limit };
            var startLengths = stackalloc UIntPtr[] { (UIntPtr)from.Length };
            var limitLengths = stackalloc UIntPtr[] { (UIntPtr)to.Length };
            var sizes = stackalloc ulong[1];
            Native.Instance.rocksdb_approximate_sizes(db.Handle, 1, (IntPtr)starts, (IntPtr)startLengths, (IntPtr)limits, (IntPtr)limitLengths, (IntPtr)sizes, out var error);
            return error == IntPtr.Zero ? sizes[0] : 0;
        }
    }

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static readonly ByteComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}

/// <summary>
/// What all RocksDB stores of a machine share: one block cache and one write-buffer budget. The
/// databases hold their own references, so this may be released while stores are still open.
/// </summary>
internal sealed class RocksShared : IDisposable
{
    private int disposed;

    public RocksShared(StoreOptions settings)
    {
        BlockCache = Cache.CreateLru((ulong)settings.BlockCacheBytes);
        WriteBufferManager = Native.Instance.rocksdb_write_buffer_manager_create((UIntPtr)settings.MachineWriteBufferBytes, 0);
    }

    public Cache BlockCache { get; }

    public IntPtr WriteBufferManager { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        Native.Instance.rocksdb_write_buffer_manager_destroy(WriteBufferManager);
    }
}
