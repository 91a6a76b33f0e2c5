using Fos.Kernel;
using Fos.Kernel.Storage;

namespace Fos.Runtime.Storage;

/// <summary>The storage engines a machine can give its services.</summary>
public enum StoreEngine
{
    RocksDb,
    Sqlite,
}

/// <summary>
/// Opens service stores under a machine's data directory, one directory per store
/// (<c>DATA/stores/fs/member-0</c>), in the engine the machine was booted with. A store is open at
/// most once at a time; a server that restarts reopens it after the old one was closed. The
/// machine's RocksDB stores share one block cache and one write-buffer budget
/// (<see cref="StoreOptions"/>).
/// </summary>
public sealed class DiskStores : IStoreProvider, IDisposable
{
    private readonly Dictionary<string, IStore> open = [];
    private RocksShared? shared;
    private bool disposed;

    /// <exception cref="ArgumentOutOfRangeException">A setting of <paramref name="options"/> below its minimum.</exception>
    public DiskStores(string dataDirectory, StoreEngine engine, StoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        Options = options ?? new StoreOptions();
        Options.Check();
        Root = Path.Combine(dataDirectory, "stores");
        Engine = engine;
    }

    public StoreOptions Options { get; }

    public string Root { get; }

    public StoreEngine Engine { get; }

    public IStore Open(string name)
    {
        StoreNames.Check(name);
        lock (open)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (open.ContainsKey(name))
                throw new FosException(FosError.BadRequest, $"store '{name}' is already open; close it before opening it again");
            var directory = Path.Combine(Root, name.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(directory);
            IStore store = Engine == StoreEngine.RocksDb
                ? RocksStore.Open(name, directory, Options, shared ??= new RocksShared(Options))
                : SqliteStore.Open(name, directory, Options);
            var tracked = new TrackedStore(store, this);
            open.Add(name, tracked);
            return tracked;
        }
    }

    private void Closed(string name)
    {
        lock (open) open.Remove(name);
    }

    public void Dispose()
    {
        List<IStore> all;
        lock (open)
        {
            disposed = true;
            all = [.. open.Values];
        }
        foreach (var store in all) store.Dispose();
        shared?.Dispose(); // the databases hold their own references to the cache and budget
    }

    /// <summary>Forgets the store in the provider's table when its owner disposes it.</summary>
    private sealed class TrackedStore(IStore inner, DiskStores owner) : IStore
    {
        private int disposed;

        public string Name => inner.Name;
        public byte[]? Get(ReadOnlySpan<byte> key) => inner.Get(key);
        public void Write(StoreBatch batch) => inner.Write(batch);
        public IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue) =>
            inner.Scan(prefix, from, limit);
        public IExtents Extents => inner.Extents;
        public Task Sync() => inner.Sync();

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            inner.Dispose();
            owner.Closed(inner.Name);
        }
    }
}
