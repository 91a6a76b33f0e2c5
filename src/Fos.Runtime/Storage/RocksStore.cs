using Fos.Kernel;
using Fos.Kernel.Storage;
using RocksDbSharp;

namespace Fos.Runtime.Storage;

/// <summary>
/// A store in RocksDB. Writes go to the write-ahead log without waiting for the disk (so a killed
/// process loses nothing it wrote, and a lost machine loses only what was not synced); a sync is a
/// tiny write with the sync flag, which makes RocksDB fsync the log and everything before it.
/// </summary>
internal sealed class RocksStore : IStore
{
    private static readonly byte[] SyncMarker = [0x00, (byte)'s', (byte)'y', (byte)'n', (byte)'c'];
    private readonly RocksDb db;
    private readonly WriteOptions lazy = new WriteOptions().SetSync(false);
    private readonly WriteOptions durable = new WriteOptions().SetSync(true);
    private int disposed;

    private RocksStore(string name, RocksDb db)
    {
        Name = name;
        this.db = db;
    }

    public static RocksStore Open(string name, string directory)
    {
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetMaxBackgroundCompactions(1) // the CPUs belong to fos cores; compaction takes what is left
            .SetCompression(Compression.No);
        try
        {
            return new RocksStore(name, RocksDb.Open(options, directory));
        }
        catch (RocksDbException ex)
        {
            throw new FosException(FosError.BadRequest, $"cannot open store '{name}' in {directory}: {ex.Message}");
        }
    }

    public string Name { get; }

    public byte[]? Get(ReadOnlySpan<byte> key) => db.Get(key.ToArray());

    public void Write(StoreBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var rocks = new WriteBatch();
        foreach (var (key, value) in batch.Operations)
        {
            if (value is null) rocks.Delete(key);
            else rocks.Put(key, value);
        }
        db.Write(rocks, lazy);
    }

    public IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue)
    {
        var result = new List<KeyValuePair<byte[], byte[]>>();
        if (limit <= 0) return result;
        var start = from.IsEmpty ? prefix.ToArray() : from.ToArray();
        var prefixCopy = prefix.ToArray();
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
    // its own core (its synchronization context), as after any other await.
    public Task Sync() => Task.Run(() => db.Put(SyncMarker, SyncMarker, cf: null, durable));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        db.Dispose();
    }
}
