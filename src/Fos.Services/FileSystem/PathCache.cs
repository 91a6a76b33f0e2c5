namespace Fos.Services.FileSystem;

/// <summary>
/// The quick walk's answers: the inode a path led to, kept while no directory entry of the member
/// has changed and no shard has moved (one version counts both), as Linux's dentry cache keeps a
/// walk's result until a name on it changes. A stat of a path walked before costs one lookup.
/// Bounded in paths and in their length, so a client naming many long paths costs a few MiB.
/// </summary>
internal sealed class PathCache
{
    private const int MaxPaths = 16_384;
    private const int MaxPathLength = 256;

    private readonly Dictionary<string, long> inodes = new(StringComparer.Ordinal);
    private long version = -1;

    /// <summary>The inode <paramref name="path"/> led to, if nothing has changed since (<paramref name="now"/> is the current version).</summary>
    public bool TryGet(string path, long now, out long inode)
    {
        Catch(now);
        return inodes.TryGetValue(path, out inode);
    }

    public void Put(string path, long now, long inode)
    {
        Catch(now);
        if (path.Length > MaxPathLength) return;
        if (inodes.Count >= MaxPaths) inodes.Clear();
        inodes[path] = inode;
    }

    private void Catch(long now)
    {
        if (now == version) return;
        inodes.Clear();
        version = now;
    }
}
