namespace Fos.Services.FileSystem;

/// <summary>
/// The quick walk's answers: the inode a path led to, kept while no directory entry of the member
/// has changed and no shard has moved (one version counts both), as Linux's dentry cache keeps a
/// walk's result until a name on it changes. A stat of a path walked before costs one lookup.
/// Each path also keeps the attributes last answered for it, with the inode record they were made
/// from: while that record is the member's current one (records are replaced, never changed), the
/// same immutable reply goes out again, and its cache line is one the caller already holds.
/// Bounded in paths and in their length, so a client naming many long paths costs a few MiB.
/// </summary>
internal sealed class PathCache
{
    public const int MaxPaths = 16_384;
    public const int MaxPathLength = 256;

    private readonly Dictionary<string, Walked> walked = new(StringComparer.Ordinal);
    private long version = -1;

    /// <summary>How many paths are kept now.</summary>
    public int Count => walked.Count;

    /// <summary>What <paramref name="path"/> led to, if nothing has changed since (<paramref name="now"/> is the current version).</summary>
    public Walked? Get(string path, long now)
    {
        Catch(now);
        return walked.GetValueOrDefault(path);
    }

    public Walked Put(string path, long now, long inode)
    {
        Catch(now);
        var entry = new Walked(inode);
        if (path.Length > MaxPathLength) return entry;
        if (walked.Count >= MaxPaths) walked.Clear();
        walked[path] = entry;
        return entry;
    }

    private void Catch(long now)
    {
        if (now == version) return;
        walked.Clear();
        version = now;
    }

    /// <summary>A path's inode, and the attributes last answered for it with the record they came from.</summary>
    public sealed class Walked(long inode)
    {
        public long Inode { get; } = inode;
        public FsStore.Inode? Node { get; set; }
        public Protocols.FileSystem.FsAttributes? Attributes { get; set; }
    }
}
