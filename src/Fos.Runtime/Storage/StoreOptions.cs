namespace Fos.Runtime.Storage;

/// <summary>
/// The memory and space settings of a machine's stores. The defaults bound a RocksDB machine at
/// about <see cref="BlockCacheBytes"/> + <see cref="MachineWriteBufferBytes"/> plus a few MB per
/// open store however much is written, and a SQLite store at about
/// <see cref="SqliteCacheBytes"/> + <see cref="SqliteMmapBytes"/>.
/// </summary>
public sealed record StoreOptions
{
    /// <summary>The one LRU block cache all RocksDB stores of the machine share (index and filter blocks included).</summary>
    public long BlockCacheBytes { get; init; } = 64L << 20;

    /// <summary>The size of one RocksDB write buffer (memtable) of a store; a full one is flushed to a table file.</summary>
    public long WriteBufferBytes { get; init; } = 16L << 20;

    /// <summary>How many write buffers a RocksDB store may hold (the one being filled and those being flushed).</summary>
    public int WriteBuffers { get; init; } = 2;

    /// <summary>What all RocksDB stores of the machine may hold in write buffers together before the biggest is flushed.</summary>
    public long MachineWriteBufferBytes { get; init; } = 64L << 20;

    /// <summary>How many table files a RocksDB store keeps open (each holds a file handle and a little metadata).</summary>
    public int MaxOpenFiles { get; init; } = 64;

    /// <summary>
    /// How many bytes of table files a store's range deletes must cover before it compacts those
    /// ranges in the background, which gives their space back to the host.
    /// </summary>
    public long CompactAfterDeletedBytes { get; init; } = 8L << 20;

    /// <summary>The page cache of a SQLite store's connection.</summary>
    public long SqliteCacheBytes { get; init; } = 8L << 20;

    /// <summary>How much of a SQLite store's file is memory-mapped for reads (0: none).</summary>
    public long SqliteMmapBytes { get; init; } = 0;

    /// <summary>How many bytes of free pages a SQLite store gathers before it vacuums them back to the host.</summary>
    public long VacuumAfterFreedBytes { get; init; } = 8L << 20;

    /// <summary>Refuses settings that cannot work.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size below its minimum.</exception>
    public void Check()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockCacheBytes, 1L << 20, nameof(BlockCacheBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(WriteBufferBytes, 1L << 20, nameof(WriteBufferBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(WriteBuffers, 2, nameof(WriteBuffers));
        ArgumentOutOfRangeException.ThrowIfLessThan(MachineWriteBufferBytes, WriteBufferBytes, nameof(MachineWriteBufferBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOpenFiles, 16, nameof(MaxOpenFiles));
        ArgumentOutOfRangeException.ThrowIfNegative(CompactAfterDeletedBytes, nameof(CompactAfterDeletedBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(SqliteCacheBytes, 64L << 10, nameof(SqliteCacheBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(SqliteMmapBytes, nameof(SqliteMmapBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(VacuumAfterFreedBytes, nameof(VacuumAfterFreedBytes));
    }
}
