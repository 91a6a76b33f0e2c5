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
/// batches. A clean close keeps everything written, synced or not. A store's extents go in the same
/// order with its batches, so a crash keeps a prefix of both together: nothing the contract allows
/// to be lost is kept, and nothing it promises is lost.
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
            platter.CurrentExtents = new Dictionary<long, byte[]>(platter.DurableExtents); // extents are never changed in place
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
        public Dictionary<long, byte[]> DurableExtents = [];
        public Dictionary<long, byte[]> CurrentExtents = [];
        public readonly List<Edit> Pending = [];
        public long Synced; // how many writes since open have reached Durable
        public long Written;
        public CoreId? OpenedBy;
        public long Epoch;
    }

    /// <summary>One change not yet durable: an edit of a batch, or an extent call.</summary>
    private readonly record struct Edit(StoreEdit? Batch, ExtentEdit? Extent);

    /// <summary>An extent's write (<see cref="Data"/> at <see cref="Offset"/>), new length (<see cref="Offset"/>), or removal (neither).</summary>
    private sealed record ExtentEdit(long Id, long Offset, byte[]? Data, bool Cut);

    /// <summary>Applies one change to a store's contents.</summary>
    private static void Apply(Platter platter, Edit edit, bool durable)
    {
        if (edit.Batch is { } batch) Apply(durable ? platter.Durable : platter.Current, batch);
        else Apply(durable ? platter.DurableExtents : platter.CurrentExtents, edit.Extent!);
    }

    /// <summary>Applies an extent call; each makes a new array, so the durable and current contents can share them.</summary>
    private static void Apply(Dictionary<long, byte[]> extents, ExtentEdit edit)
    {
        var old = extents.GetValueOrDefault(edit.Id, []);
        if (edit.Data is { } data)
        {
            var grown = new byte[Math.Max(old.Length, edit.Offset + data.Length)];
            old.CopyTo(grown, 0);
            data.CopyTo(grown, edit.Offset);
            extents[edit.Id] = grown;
        }
        else if (edit.Cut)
        {
            var cut = new byte[edit.Offset];
            old.AsSpan(0, (int)Math.Min(old.Length, edit.Offset)).CopyTo(cut);
            extents[edit.Id] = cut;
        }
        else
        {
            extents.Remove(edit.Id);
        }
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

    private sealed class SimStore(SimDisk disk, string name, Platter platter, long epoch, SimCore core) : IStore, IExtents
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
            foreach (var edit in batch.Edits) Change(new Edit(edit, null));
        }

        public IExtents Extents => this;

        private void Change(Edit edit)
        {
            Apply(platter, edit, durable: false);
            platter.Pending.Add(edit);
            platter.Written++;
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
                foreach (var edit in platter.Pending.Take(count)) Apply(platter, edit, durable: true);
                platter.Pending.RemoveRange(0, Math.Max(0, count));
                platter.Synced = Math.Max(platter.Synced, upTo);
                done.SetResult();
            });
            return done.Task;
        }

        // ---- extents: held whole in memory, changed by copying (the simulator's files are small) ----

        /// <summary>The largest extent the simulator keeps (it holds extents as arrays).</summary>
        private const long MaxExtent = int.MaxValue / 2;

        void IExtents.Write(long id, long offset, ReadOnlySpan<byte> data)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + data.Length, MaxExtent, nameof(offset));
            Live();
            Change(new Edit(null, new ExtentEdit(id, offset, data.ToArray(), false)));
        }

        int IExtents.Read(long id, long offset, Span<byte> into)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            Live();
            var bytes = platter.CurrentExtents.GetValueOrDefault(id, []);
            if (offset >= bytes.Length) return 0;
            var count = (int)Math.Min(into.Length, bytes.Length - offset);
            bytes.AsSpan((int)offset, count).CopyTo(into);
            return count;
        }

        long IExtents.Length(long id)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            Live();
            return platter.CurrentExtents.TryGetValue(id, out var bytes) ? bytes.Length : 0;
        }

        void IExtents.SetLength(long id, long length)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxExtent);
            Live();
            if (length == 0 && !platter.CurrentExtents.ContainsKey(id)) return;
            Change(new Edit(null, new ExtentEdit(id, length, null, true)));
        }

        void IExtents.Delete(long id)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            Live();
            if (platter.CurrentExtents.ContainsKey(id)) Change(new Edit(null, new ExtentEdit(id, 0, null, false)));
        }

        // Its edits become durable now; they stay in the pending list too, where the next sync
        // applies them again, in order, to the same result.
        void IExtents.Flush(long id)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            Live();
            foreach (var edit in platter.Pending)
                if (edit.Extent?.Id == id) Apply(platter.DurableExtents, edit.Extent);
        }

        IReadOnlyList<long> IExtents.List()
        {
            Live();
            return [.. platter.CurrentExtents.Keys.Order()];
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
