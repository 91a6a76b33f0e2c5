namespace Fos.Kernel.Storage;

/// <summary>
/// A service's storage port: an ordered key-value store with a write-ahead log, the one piece of
/// the host a server may touch besides messages. On real cores it is an embedded engine (RocksDB or
/// SQLite) in the machine's data directory; in the simulator, a simulated disk that loses whatever
/// was not synced when its machine crashes.
/// </summary>
/// <remarks>
/// <para>The contract every engine keeps:</para>
/// <list type="number">
/// <item><b>Atomic, visible at once.</b> A batch is applied whole or not at all, and once
/// <see cref="Write"/> returns, every read on this store sees all of it.</item>
/// <item><b>Survives the death of the process.</b> Once <see cref="Write"/> returns, the batch is in
/// the operating system's hands (a write() to the engine's log, in the host's page cache), so it
/// survives the process being killed at any point (kill -9, an unhandled crash) as long as the host
/// keeps running. It does not survive the host losing power or crashing before a sync.</item>
/// <item><b>Sync makes it durable.</b> Once the task of <see cref="Sync"/> completes successfully,
/// every batch whose <see cref="Write"/> returned before <see cref="Sync"/> was called survives
/// power loss.</item>
/// <item><b>A clean close keeps everything.</b> <see cref="IDisposable.Dispose"/> rolls nothing back:
/// a store reopened after a clean close holds every batch written before it, synced or not.</item>
/// <item><b>Crashes keep a prefix.</b> After a crash or power loss the store holds a prefix of the
/// batches in the order they were written (at least up to the last completed sync): never a later
/// batch without every earlier one.</item>
/// </list>
/// <para>Keys are non-empty byte strings ordered byte by byte; values may be empty (an empty value
/// is present, unlike a deleted key). Every method of a disposed store throws
/// <see cref="ObjectDisposedException"/> (or, in the simulator, a <see cref="FosException"/> for a
/// store whose core crashed); <see cref="Sync"/> reports it through its task. Dispose waits for
/// engine work under way (a sync, a compaction) and may be called more than once.</para>
/// <para>Reads and writes run on the calling core (they hit the engine's memory tables and the page
/// cache); <see cref="Sync"/> waits for the disk and so completes later, back on the caller's core.
/// A store is used by one core at a time; only <see cref="Sync"/>'s completion and
/// <see cref="IDisposable.Dispose"/> may come from another thread.</para>
/// </remarks>
public interface IStore : IDisposable
{
    /// <summary>The name the store was opened under.</summary>
    string Name { get; }

    /// <summary>The value under <paramref name="key"/>, or null (always null for an empty key).</summary>
    byte[]? Get(ReadOnlySpan<byte> key);

    /// <summary>Applies every edit of <paramref name="batch"/> at once, in the batch's order.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="batch"/> is null.</exception>
    void Write(StoreBatch batch);

    /// <summary>Every key that starts with <paramref name="prefix"/> from <paramref name="from"/> on, in byte order.</summary>
    /// <param name="from">The first key to return (inclusive), or empty for the first key with the prefix.</param>
    /// <param name="limit">The most entries to return (zero or less returns none).</param>
    IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue);

    /// <summary>The store's extents, for data too big to go through its log (<see cref="IExtents"/>).</summary>
    IExtents Extents { get; }

    /// <summary>
    /// Completes once everything written before the call is durable (survives power loss): the
    /// extents first, then the batches.
    /// </summary>
    Task Sync();
}

/// <summary>What one edit of a <see cref="StoreBatch"/> does.</summary>
public enum StoreEditKind
{
    /// <summary>Sets <see cref="StoreEdit.Key"/> to <see cref="StoreEdit.Value"/>.</summary>
    Put,

    /// <summary>Removes <see cref="StoreEdit.Key"/>.</summary>
    Delete,

    /// <summary>Removes every key from <see cref="StoreEdit.Key"/> (inclusive) to <see cref="StoreEdit.End"/> (exclusive).</summary>
    DeleteRange,
}

/// <summary>One put, delete or range delete of a batch.</summary>
/// <param name="Kind">What the edit does.</param>
/// <param name="Key">The key put or deleted, or the first key of a range.</param>
/// <param name="Value">The value of a put; null otherwise.</param>
/// <param name="End">The end of a range (exclusive); null otherwise.</param>
public readonly record struct StoreEdit(StoreEditKind Kind, byte[] Key, byte[]? Value, byte[]? End);

/// <summary>
/// Puts, deletes and range deletes applied together by <see cref="IStore.Write"/>, in order (a put
/// after a range delete that covers its key survives; a put before it does not).
/// </summary>
public sealed class StoreBatch
{
    private readonly List<StoreEdit> edits = [];
    private readonly List<(byte[] Key, byte[]? Value)> operations = [];

    /// <summary>Every edit in the order it was added.</summary>
    public IReadOnlyList<StoreEdit> Edits => edits;

    /// <summary>
    /// The puts (with their value) and deletes (with null) in order, without the range deletes: for
    /// callers that track the single keys a batch changes. Range deletes are only in <see cref="Edits"/>.
    /// </summary>
    public IReadOnlyList<(byte[] Key, byte[]? Value)> Operations => operations;

    /// <summary>How many edits the batch holds.</summary>
    public int Count => edits.Count;

    /// <summary>How many range deletes the batch holds.</summary>
    public int RangeDeletes { get; private set; }

    /// <exception cref="ArgumentNullException">A null key or value.</exception>
    /// <exception cref="ArgumentException">An empty key.</exception>
    public StoreBatch Put(byte[] key, byte[] value)
    {
        CheckKey(key);
        ArgumentNullException.ThrowIfNull(value);
        edits.Add(new(StoreEditKind.Put, key, value, null));
        operations.Add((key, value));
        return this;
    }

    /// <exception cref="ArgumentNullException">A null key.</exception>
    /// <exception cref="ArgumentException">An empty key.</exception>
    public StoreBatch Delete(byte[] key)
    {
        CheckKey(key);
        edits.Add(new(StoreEditKind.Delete, key, null, null));
        operations.Add((key, null));
        return this;
    }

    /// <summary>
    /// Removes every key <c>k</c> with <paramref name="fromInclusive"/> &lt;= <c>k</c> &lt;
    /// <paramref name="toExclusive"/> in byte order. An empty <paramref name="fromInclusive"/> starts
    /// at the first key; an empty range (the two bounds equal) removes nothing. The engines drop
    /// the range in one step, so removing a big file costs one edit, and they give the space back
    /// to the host in the background.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null bound.</exception>
    /// <exception cref="ArgumentException"><paramref name="toExclusive"/> sorts before <paramref name="fromInclusive"/>.</exception>
    public StoreBatch DeleteRange(byte[] fromInclusive, byte[] toExclusive)
    {
        ArgumentNullException.ThrowIfNull(fromInclusive);
        ArgumentNullException.ThrowIfNull(toExclusive);
        if (fromInclusive.AsSpan().SequenceCompareTo(toExclusive) > 0)
            throw new ArgumentException("a range delete's end sorts before its start", nameof(toExclusive));
        edits.Add(new(StoreEditKind.DeleteRange, fromInclusive, null, toExclusive));
        RangeDeletes++;
        return this;
    }

    private static void CheckKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0) throw new ArgumentException("a store key must not be empty", nameof(key));
    }
}

/// <summary>What opens stores for the kernels of one machine (the runtime provides it).</summary>
public interface IStoreProvider
{
    /// <summary>Opens, creating if needed, the store called <paramref name="name"/> on this machine.</summary>
    /// <exception cref="FosException"><see cref="FosError.BadRequest"/> for a malformed name; the store is already open.</exception>
    IStore Open(string name);
}
