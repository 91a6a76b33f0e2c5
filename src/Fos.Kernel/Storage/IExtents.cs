namespace Fos.Kernel.Storage;

/// <summary>
/// A store's extents: numbered byte arrays kept beside its key-value data, for data too big to go
/// through the engine's log. This is BlueStore's split: metadata and small writes in the key-value
/// store, big data written once into extents of its own, so a byte of a big file is written to
/// the host once instead of into a log and then again into tables and compactions.
/// </summary>
/// <remarks>
/// <para>The contract every engine keeps, beside the store's own (<see cref="IStore"/>):</para>
/// <list type="number">
/// <item><b>Survives the death of the process.</b> Once a call returns, what it did is in the
/// operating system's hands, as a store's batch is.</item>
/// <item><b>Data before metadata.</b> <see cref="IStore.Sync"/> makes durable every extent call
/// made before it, and does so before it makes the store's batches durable. So a batch that
/// records what an extent holds, written after the extent and then synced, is never durable
/// without those bytes.</item>
/// <item><b>Unsynced means unknown.</b> After a power loss, an extent's bytes and length may be
/// any mix of before and after each call not yet synced, as a host file's may.</item>
/// <item><b>Sparse.</b> An extent that was never written reads as empty (length zero); bytes
/// never written below its length read as zeros; a read past the end returns what there is.</item>
/// </list>
/// <para>Ids are non-negative. Calls run on the calling core, like the store's reads and writes;
/// only <see cref="IStore.Sync"/> may run beside them.</para>
/// </remarks>
public interface IExtents
{
    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>, creating the extent or growing it as needed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative id or offset.</exception>
    void Write(long id, long offset, ReadOnlySpan<byte> data);

    /// <summary>Reads from <paramref name="offset"/> into <paramref name="into"/>; returns how many bytes there were (fewer at the end).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative id or offset.</exception>
    int Read(long id, long offset, Span<byte> into);

    /// <summary>How many bytes the extent holds (zero if it was never written).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative id.</exception>
    long Length(long id);

    /// <summary>Cuts the extent, or grows it with zeros, to <paramref name="length"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative id or length.</exception>
    void SetLength(long id, long length);

    /// <summary>Removes the extent (nothing happens if there is none).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative id.</exception>
    void Delete(long id);

    /// <summary>The ids of every extent there is, in ascending order.</summary>
    IReadOnlyList<long> List();

    /// <summary>
    /// Makes what was written to this one extent durable now, blocking the calling core for the
    /// disk: for the rare step whose next batch must not become durable without these bytes, which
    /// an engine may do on its own before any sync (a file's data moving into its extent, once).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative id.</exception>
    /// <exception cref="IOException">The disk failed: nothing written to any extent since can be trusted.</exception>
    void Flush(long id);
}
