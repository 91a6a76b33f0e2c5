using System.Globalization;
using Fos.Kernel.Storage;
using Fos.Runtime.Processes;
using Microsoft.Win32.SafeHandles;

namespace Fos.Runtime.Storage;

/// <summary>
/// A store's extents on the host: one sparse file per extent in the store's <c>extents</c>
/// directory, named by its id in hex, written and read in place with pwrite and pread. The store
/// calls <see cref="Flush"/> at the start of every sync: it fsyncs each extent written since the
/// last one, and the directory when extents came or went, before the store's own log is synced.
/// </summary>
/// <remarks>
/// The core calls everything but <see cref="Flush"/>, which runs on the sync's thread; one lock
/// guards the table of open files and what is dirty, and a file being flushed stays open (its
/// handle's own reference count) even if the core deletes it meanwhile.
/// </remarks>
internal sealed class HostExtents : IExtents, IDisposable
{
    /// <summary>How many clean extent files stay open between uses; dirty ones stay open until flushed.</summary>
    private const int OpenClean = 64;

    private readonly string directory;
    private readonly Lock gate = new();
    private readonly Dictionary<long, SafeFileHandle> open = [];
    private readonly HashSet<long> dirty = [];
    private bool directoryDirty;
    private bool disposed;
    private Exception? failed; // an fsync that failed: Linux may have dropped the pages, so no later one can be trusted

    public HostExtents(string directory)
    {
        this.directory = directory;
        if (Directory.Exists(directory)) return;
        Directory.CreateDirectory(directory);
        FlushDirectory(Path.GetDirectoryName(directory)!); // the directory's own name, durable before any extent in it
    }

    public void Write(long id, long offset, ReadOnlySpan<byte> data)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ThrowIfFailed();
        var handle = Handle(id, create: true)!;
        RandomAccess.Write(handle, data, offset);
        lock (gate) dirty.Add(id);
    }

    public int Read(long id, long offset, Span<byte> into)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (Handle(id, create: false) is not { } handle) return 0;
        var total = 0;
        while (total < into.Length)
        {
            var read = RandomAccess.Read(handle, into[total..], offset + total);
            if (read == 0) break;
            total += read;
        }
        return total;
    }

    public long Length(long id) => Handle(id, create: false) is { } handle ? RandomAccess.GetLength(handle) : 0;

    public void SetLength(long id, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0 && Handle(id, create: false) is null) return; // nothing to cut
        RandomAccess.SetLength(Handle(id, create: true)!, length);
        lock (gate) dirty.Add(id);
    }

    public void Delete(long id)
    {
        var path = PathOf(id);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (open.Remove(id, out var handle)) handle.Dispose(); // a flush under way keeps it until it is done
            dirty.Remove(id);
            if (!File.Exists(path)) return;
            File.Delete(path);
            directoryDirty = true;
        }
    }

    public IReadOnlyList<long> List()
    {
        var ids = new List<long>();
        foreach (var file in Directory.EnumerateFiles(directory))
            if (long.TryParse(Path.GetFileName(file), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id) && id >= 0)
                ids.Add(id);
        ids.Sort();
        return ids;
    }

    public void Flush(long id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        Flush(only: id);
    }

    /// <summary>Makes every extent call made before it durable: the files written, then the directory.</summary>
    public void FlushAll() => Flush(only: null);

    /// <summary>fsyncs the dirty extents (all, or just <paramref name="only"/>), then the directory if extents came or went.</summary>
    private void Flush(long? only)
    {
        List<SafeFileHandle> written = [];
        bool names;
        lock (gate)
        {
            if (disposed) return;
            ThrowIfFailed();
            foreach (var id in only is { } one ? (dirty.Contains(one) ? [one] : []) : dirty.ToList())
            {
                var handle = open[id];
                var added = false;
                handle.DangerousAddRef(ref added); // stays open through the fsync, even if deleted meanwhile
                written.Add(handle);
                dirty.Remove(id);
            }
            names = directoryDirty;
            directoryDirty = false;
        }
        try
        {
            foreach (var handle in written) RandomAccess.FlushToDisk(handle);
            if (names) FlushDirectory(directory);
        }
        catch (Exception ex)
        {
            // Not tried again: after a failed fsync Linux may have marked the pages clean without
            // writing them (PostgreSQL's "fsyncgate"), so a retry could say durable over lost data.
            lock (gate) failed ??= ex;
            throw;
        }
        finally
        {
            foreach (var handle in written) handle.DangerousRelease();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            foreach (var handle in open.Values) handle.Dispose();
            open.Clear();
        }
    }

    private string PathOf(long id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        return Path.Combine(directory, id.ToString("x16", CultureInfo.InvariantCulture));
    }

    /// <summary>The open file of an extent, opening it (or, with <paramref name="create"/>, making it) if needed; null if there is none.</summary>
    private SafeFileHandle? Handle(long id, bool create)
    {
        var path = PathOf(id);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (open.TryGetValue(id, out var handle)) return handle;
            if (!create && !File.Exists(path)) return null;
            if (open.Count - dirty.Count >= OpenClean) CloseClean();
            var existed = File.Exists(path);
            handle = File.OpenHandle(path, create ? FileMode.OpenOrCreate : FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            open.Add(id, handle);
            if (!existed) directoryDirty = true;
            return handle;
        }
    }

    private void CloseClean()
    {
        foreach (var id in open.Keys.Where(id => !dirty.Contains(id)).ToList())
        {
            open.Remove(id, out var handle);
            handle!.Dispose();
        }
    }

    private void ThrowIfFailed()
    {
        if (failed is not null)
            throw new IOException($"the extents in {directory} could not be synced earlier ({failed.Message}); what they hold is not known to be on disk: restart the machine", failed);
    }

    private static void FlushDirectory(string path)
    {
        var fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0) throw Libc.Error($"open of {path}");
        try
        {
            if (Libc.fsync(fd) != 0) throw Libc.Error($"fsync of {path}");
        }
        finally
        {
            Libc.close(fd);
        }
    }
}
