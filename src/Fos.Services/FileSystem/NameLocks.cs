namespace Fos.Services.FileSystem;

/// <summary>
/// Names of a member's shards that an operation holds while it works: a request that touches a
/// held name waits until it is let go, then starts over (its shard may even have moved meanwhile).
/// A lock belongs to a transaction; the same transaction taking it again is a no-op, which is what
/// makes redoing a step after a crash safe. Directory-wide counts tell rmdir that a directory is
/// about to get (or lose) an entry, so it is not empty.
/// </summary>
internal sealed class NameLocks
{
    private readonly Dictionary<(long Dir, string Name), Held> held = [];
    private readonly Dictionary<long, int> perDirectory = [];

    private sealed class Held(long tx)
    {
        public long Tx { get; } = tx;
        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// The task to wait on if (dir, name), or the whole directory (the name ""), is held by another
    /// transaction than <paramref name="tx"/>.
    /// </summary>
    public Task? Blocker(long dir, string name, long tx = 0) =>
        held.TryGetValue((dir, name), out var h) && h.Tx != tx ? h.Released.Task
        : held.TryGetValue((dir, ""), out var whole) && whole.Tx != tx ? whole.Released.Task
        : null;

    /// <summary>The task to wait on if any name of <paramref name="dir"/> is held.</summary>
    public Task? DirectoryBlocker(long dir) =>
        perDirectory.ContainsKey(dir) ? held.First(h => h.Key.Dir == dir).Value.Released.Task : null;

    public bool AnyIn(long dir) => perDirectory.ContainsKey(dir);

    /// <summary>Whether any name is held at all.</summary>
    public bool Any => held.Count > 0;

    public long? Holder(long dir, string name) => held.TryGetValue((dir, name), out var h) ? h.Tx : null;

    /// <summary>The transaction whose lock <paramref name="blocker"/> (a task from <see cref="Blocker"/>) waits for, if it is still held.</summary>
    public long? HolderOf(Task blocker) => held.Values.FirstOrDefault(h => h.Released.Task == blocker)?.Tx;

    /// <summary>Every name <paramref name="tx"/> holds.</summary>
    public List<(long Dir, string Name)> HeldBy(long tx) => [.. held.Where(h => h.Value.Tx == tx).Select(h => h.Key)];

    /// <summary>Takes (dir, name) for <paramref name="tx"/>; false if another transaction holds it.</summary>
    public bool TryTake(long dir, string name, long tx)
    {
        if (held.TryGetValue((dir, name), out var h)) return h.Tx == tx;
        held.Add((dir, name), new Held(tx));
        perDirectory[dir] = perDirectory.GetValueOrDefault(dir) + 1;
        return true;
    }

    /// <summary>Lets (dir, name) go if <paramref name="tx"/> holds it, and wakes whoever waits.</summary>
    public void Release(long dir, string name, long tx)
    {
        if (!held.TryGetValue((dir, name), out var h) || h.Tx != tx) return;
        held.Remove((dir, name));
        if (--perDirectory[dir] == 0) perDirectory.Remove(dir);
        h.Released.SetResult();
    }

    /// <summary>Lets go every lock of a shard (it moved away, or its member stops): waiters start over.</summary>
    public void ReleaseShard(int shard)
    {
        foreach (var ((dir, name), h) in held.Where(h => FsStore.ShardOf(h.Key.Dir) == shard).ToList()) Release(dir, name, h.Tx);
    }
}
