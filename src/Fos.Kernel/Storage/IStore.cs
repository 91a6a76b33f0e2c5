namespace Fos.Kernel.Storage;

/// <summary>
/// A service's storage port: an ordered key-value store with a write-ahead log, the one piece of
/// the host a server may touch besides messages. On real cores it is an embedded engine (RocksDB or
/// SQLite) in the machine's data directory; in the simulator, a simulated disk that loses whatever
/// was not synced when its machine crashes. Writes are atomic per batch and visible at once to
/// reads; they are durable only once a later <see cref="Sync"/> completes.
/// </summary>
/// <remarks>
/// Reads and writes run on the calling core (they hit the engine's memory tables and the page
/// cache); <see cref="Sync"/> waits for the disk and so completes later, back on the caller's core.
/// </remarks>
public interface IStore : IDisposable
{
    /// <summary>The name the store was opened under.</summary>
    string Name { get; }

    /// <summary>The value under <paramref name="key"/>, or null.</summary>
    byte[]? Get(ReadOnlySpan<byte> key);

    /// <summary>Applies every put and delete of <paramref name="batch"/> at once.</summary>
    void Write(StoreBatch batch);

    /// <summary>Every key that starts with <paramref name="prefix"/> from <paramref name="from"/> on, in byte order.</summary>
    /// <param name="from">The first key to return (inclusive), or null for the first key with the prefix.</param>
    /// <param name="limit">The most entries to return.</param>
    IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue);

    /// <summary>Completes once everything written before the call is durable.</summary>
    Task Sync();
}

/// <summary>Puts and deletes applied together by <see cref="IStore.Write"/>, in order.</summary>
public sealed class StoreBatch
{
    private readonly List<(byte[] Key, byte[]? Value)> operations = [];

    public IReadOnlyList<(byte[] Key, byte[]? Value)> Operations => operations;

    public int Count => operations.Count;

    public StoreBatch Put(byte[] key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        operations.Add((key, value));
        return this;
    }

    public StoreBatch Delete(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        operations.Add((key, null));
        return this;
    }
}

/// <summary>What opens stores for the kernels of one machine (the runtime provides it).</summary>
public interface IStoreProvider
{
    /// <summary>Opens, creating if needed, the store called <paramref name="name"/> on this machine.</summary>
    /// <exception cref="FosException"><see cref="FosError.BadRequest"/> for a malformed name; the store is already open.</exception>
    IStore Open(string name);
}
