using Fos.Kernel;
using Fos.Kernel.Storage;

namespace Fos.Simulation;

/// <summary>
/// The simulated disk of one simulated system: every store keeps what was synced apart from what
/// was only written. Reads see both. A sync completes after <see cref="SimOptions.SyncLatency"/> of
/// virtual time and makes durable everything written before it. When the core that opened a store
/// crashes, the store loses everything not yet synced, as a machine that loses power does; the
/// synced part outlives any crash and is there for whoever opens the store next. Edits reach the
/// durable part in the order they were written, so what a crash leaves is always a prefix of the
/// batches. A clean close keeps everything written, synced or not.
/// </summary>
internal sealed class SimDisk(SimulatedSystem system)
{
    private readonly Dictionary<string, Platter> platters = [];

    private SimulatedSystem System { get; } = system;

    public IStore Open(SimCore core, string name)
    {
        StoreNames.Check(name);
        if (!platters.TryGetValue(name, out var platter)) platters.Add(name, platter = new Platter());
        if (platter.OpenedBy is { } holder)
            throw new FosException(FosError.BadRequest, $"store '{name}' is already open on {holder}; close it before opening it again");
        platter.OpenedBy = core.Core;
        platter.Epoch++;
        return new SimStore(this, name, platter, platter.Epoch, core);
    }

    /// <summary>A core died: the stores it had open lose their unsynced writes and close.</summary>
    public void Crash(CoreId core)
    {
        foreach (var (name, platter) in platters.Where(p => p.Value.OpenedBy == core).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            System.Record($"disk: store {name} lost {platter.Pending.Count} unsynced writes with {core}");
            platter.Current = new SortedDictionary<byte[], byte[]>(platter.Durable, ByteOrder.Instance);
            platter.Pending.Clear();
            platter.Written = platter.Synced; // what was lost no longer counts: the next sync starts from what is durable
            platter.OpenedBy = null;
            platter.Epoch++; // the dead core's handle goes stale
        }
    }

    /// <summary>How many bytes of values are durable in a store (for scenario checks).</summary>
    public IReadOnlyDictionary<byte[], byte[]> Durable(string name) =>
        platters.TryGetValue(name, out var p) ? p.Durable : new SortedDictionary<byte[], byte[]>(ByteOrder.Instance);

    private sealed class Platter
    {
        public SortedDictionary<byte[], byte[]> Durable = new(ByteOrder.Instance);
        public SortedDictionary<byte[], byte[]> Current = new(ByteOrder.Instance);
        public readonly List<StoreEdit> Pending = [];
        public long Synced; // how many writes since open have reached Durable
        public long Written;
        public CoreId? OpenedBy;
        public long Epoch;
    }

    /// <summary>Applies one edit to a store's contents.</summary>
    private static void Apply(SortedDictionary<byte[], byte[]> contents, StoreEdit edit)
    {
        switch (edit.Kind)
        {
            case StoreEditKind.Put:
                contents[edit.Key] = edit.Value!;
                break;
            case StoreEditKind.Delete:
                contents.Remove(edit.Key);
                break;
            case StoreEditKind.DeleteRange:
                var doomed = contents.Keys
                    .SkipWhile(k => ByteOrder.Instance.Compare(k, edit.Key) < 0)
                    .TakeWhile(k => ByteOrder.Instance.Compare(k, edit.End) < 0)
                    .ToList();
                foreach (var key in doomed) contents.Remove(key);
                break;
        }
    }

    private sealed class SimStore(SimDisk disk, string name, Platter platter, long epoch, SimCore core) : IStore
    {
        private bool disposed;

        public string Name => name;

        public byte[]? Get(ReadOnlySpan<byte> key)
        {
            Live();
            return !key.IsEmpty && platter.Current.TryGetValue(key.ToArray(), out var value) ? value : null;
        }

        public void Write(StoreBatch batch)
        {
            ArgumentNullException.ThrowIfNull(batch);
            Live();
            foreach (var edit in batch.Edits)
            {
                Apply(platter.Current, edit);
                platter.Pending.Add(edit);
                platter.Written++;
            }
        }

        public IReadOnlyList<KeyValuePair<byte[], byte[]>> Scan(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> from = default, int limit = int.MaxValue)
        {
            Live();
            var p = prefix.ToArray();
            var start = from.SequenceCompareTo(prefix) > 0 ? from.ToArray() : p;
            var result = new List<KeyValuePair<byte[], byte[]>>();
            foreach (var entry in platter.Current)
            {
                if (result.Count >= limit) break;
                if (ByteOrder.Instance.Compare(entry.Key, start) < 0) continue;
                if (!entry.Key.AsSpan().StartsWith(p)) break;
                result.Add(entry);
            }
            return result;
        }

        public Task Sync()
        {
            try
            {
                Live();
            }
            catch (Exception ex)
            {
                return Task.FromException(ex);
            }
            var upTo = platter.Written;
            var done = new TaskCompletionSource();
            disk.System.After(core, disk.System.Options.SyncLatency, () =>
            {
                if (platter.Epoch != epoch) return; // the core crashed first: the sync never finished
                var count = (int)(upTo - platter.Synced);
                foreach (var edit in platter.Pending.Take(count)) Apply(platter.Durable, edit);
                platter.Pending.RemoveRange(0, Math.Max(0, count));
                platter.Synced = Math.Max(platter.Synced, upTo);
                done.SetResult();
            });
            return done.Task;
        }

        public void Dispose()
        {
            disposed = true;
            if (platter.Epoch != epoch) return;
            platter.OpenedBy = null; // a clean close keeps what was written, as a process exit does
            platter.Epoch++;
        }

        private void Live()
        {
            if (disposed) throw new ObjectDisposedException($"store '{name}'", $"store '{name}' is closed");
            if (platter.Epoch != epoch)
                throw new FosException(FosError.ShuttingDown, $"store '{name}' was closed (its core crashed or it was disposed)");
        }
    }
}

/// <summary>Byte-wise order of keys, as the real engines sort them.</summary>
internal sealed class ByteOrder : IComparer<byte[]>
{
    public static readonly ByteOrder Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}
