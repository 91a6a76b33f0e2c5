using System.Buffers.Binary;
using System.Text;
using Fos.Kernel.Storage;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

/// <summary>
/// The file system's checker (fsck), over the stores of every member of a stopped fleet: every
/// inode reachable from the root exactly once, no entry naming a missing inode, no directory in a
/// cycle, no block without its file or beyond its file's size, no file whose extent holds less
/// than its size, no extent without its file, no reservation whose operation is gone. Operations still recorded as intents are reported, not counted as damage: the next boot
/// finishes them. <see cref="Repair"/> drops what points nowhere and moves what nothing reaches
/// to <c>/lost+found</c>.
/// </summary>
public sealed class FsChecker
{
    private readonly IReadOnlyList<IStore> stores;
    private readonly Dictionary<long, (IStore Store, FsStore.Inode Node)> inodes = [];
    private readonly Dictionary<long, List<FsEntry>> entries = []; // by directory
    private readonly Dictionary<long, IStore> entryHome = [];
    private readonly List<(IStore Store, byte[] Key, long Inode, long Block, int Length)> blocks = [];
    private readonly List<(IStore Store, byte[] Key, long Tx)> reservations = [];
    private readonly List<(IStore Store, long Id)> strayExtents = [];
    private readonly HashSet<long> intentTxs = [];
    private readonly HashSet<long> inFlight = []; // inodes an unfinished operation names
    private readonly HashSet<long> orphanMarks = [];

    public FsChecker(IReadOnlyList<IStore> stores)
    {
        ArgumentNullException.ThrowIfNull(stores);
        this.stores = stores;
    }

    /// <summary>What is wrong, one line each; empty when the file system is whole.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>Operations recorded as intents, which the next boot finishes.</summary>
    public List<FsIntent> Unfinished { get; } = [];

    /// <summary>Inodes that nothing reaches (and that no unfinished operation names).</summary>
    public List<long> Unreachable { get; } = [];

    /// <summary>Entries that name a missing inode: (directory, name).</summary>
    public List<(long Dir, string Name)> Dangling { get; } = [];

    public int Files { get; private set; }
    public int Directories { get; private set; }
    public long Bytes { get; private set; }

    /// <summary>Reads every store and checks the whole tree.</summary>
    public FsChecker Check()
    {
        Problems.Clear();
        foreach (var store in stores) Load(store);
        if (!inodes.TryGetValue(FsStore.RootInode, out var root) || root.Node.Kind != FsNodeKind.Directory)
        {
            Problems.Add("the root directory is missing");
            return this;
        }
        var seen = new HashSet<long> { FsStore.RootInode };
        var pending = new Stack<long>([FsStore.RootInode]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var entry in entries.GetValueOrDefault(dir) ?? [])
            {
                if (!inodes.TryGetValue(entry.Inode, out var child))
                {
                    if (inFlight.Contains(entry.Inode)) continue;
                    Dangling.Add((dir, entry.Name));
                    Problems.Add($"entry '{entry.Name}' of directory {dir} names inode {entry.Inode}, which does not exist");
                    continue;
                }
                if (child.Node.Kind != entry.Kind)
                    Problems.Add($"entry '{entry.Name}' of directory {dir} says {entry.Kind} but inode {entry.Inode} is a {child.Node.Kind}");
                if (!seen.Add(entry.Inode))
                {
                    Problems.Add($"inode {entry.Inode} is reached twice (again as '{entry.Name}' in directory {dir}): two names, or a cycle");
                    continue;
                }
                if (child.Node.Kind == FsNodeKind.Directory) pending.Push(entry.Inode);
            }
        }
        foreach (var (inode, (_, node)) in inodes.OrderBy(i => i.Key))
        {
            if (node.Kind == FsNodeKind.Directory) Directories++;
            else
            {
                Files++;
                Bytes += node.Size;
            }
            if (seen.Contains(inode) || orphanMarks.Contains(inode) || inFlight.Contains(inode)) continue;
            Unreachable.Add(inode);
            Problems.Add($"{node.Kind.ToString().ToLowerInvariant()} inode {inode} ({node.Size} bytes) is reachable from no directory");
        }
        foreach (var dir in entries.Keys.Where(d => !inodes.ContainsKey(d) && !inFlight.Contains(d)).Order())
            Problems.Add($"directory {dir} was removed but still has {entries[dir].Count} entries");
        foreach (var (_, _, inode, block, length) in blocks)
        {
            if (!inodes.TryGetValue(inode, out var file) || file.Node.Kind != FsNodeKind.File)
                Problems.Add($"block {block} belongs to inode {inode}, which is not a file");
            else if (block * FsStore.BlockSize + length > file.Node.Size)
                Problems.Add($"block {block} of inode {inode} ends at {block * FsStore.BlockSize + length}, past the file's size {file.Node.Size}");
        }
        foreach (var (_, _, tx) in reservations.Where(r => !intentTxs.Contains(r.Tx)))
            Problems.Add($"a name is reserved for operation {tx:x}, which no member is running");
        return this;
    }

    private void Load(IStore store)
    {
        foreach (var (key, value) in store.Scan([]))
        {
            if (key.Length < 2 || key[0] >= FsStore.Shards) continue; // the layout version lives outside the shards
            var inode = key.Length >= 10 ? BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(2)) : 0;
            switch ((char)key[1])
            {
                case 'i':
                    var node = FsStore.DecodeInode(value);
                    if (!inodes.TryAdd(inode, (store, node))) Problems.Add($"inode {inode} is kept by two members");
                    break;
                case 'e':
                    var entry = new FsEntry(Encoding.UTF8.GetString(key.AsSpan(10)), (FsNodeKind)value[8], BinaryPrimitives.ReadInt64BigEndian(value));
                    if (!entries.TryGetValue(inode, out var list)) entries.Add(inode, list = []);
                    list.Add(entry);
                    entryHome[inode] = store;
                    break;
                case 'b':
                    blocks.Add((store, key, inode, BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(10)), value.Length));
                    break;
                case 'o':
                    orphanMarks.Add(inode);
                    break;
                case 'r':
                    reservations.Add((store, key, BinaryPrimitives.ReadInt64BigEndian(value)));
                    break;
                case 'x':
                    var intent = FsIntent.Decode(value);
                    Unfinished.Add(intent);
                    intentTxs.Add(intent.Tx);
                    inFlight.Add(intent.Inode);
                    if (intent.Replaced != 0) inFlight.Add(intent.Replaced);
                    break;
            }
        }
        var listed = store.Extents.List();
        foreach (var id in listed)
        {
            if (!inodes.TryGetValue(id, out var file) || file.Store != store || !file.Node.InExtent)
            {
                strayExtents.Add((store, id));
                Problems.Add($"extent {id} of store '{store.Name}' belongs to no file there");
            }
            else if (store.Extents.Length(id) < file.Node.Size)
            {
                Problems.Add($"inode {id} is {file.Node.Size} bytes, but its extent holds only {store.Extents.Length(id)}");
            }
        }
        foreach (var (inode, (_, node)) in inodes.Where(i => i.Value.Store == store && i.Value.Node is { InExtent: true, Size: > 0 }))
            if (!listed.Contains(inode))
                Problems.Add($"inode {inode} is {node.Size} bytes in an extent, but it has none");
        if (store.Get(FsStore.VersionKey) is not [FsStore.FormatVersion])
            Problems.Add($"store '{store.Name}' has no layout version {FsStore.FormatVersion}");
    }

    /// <summary>
    /// Mends what <see cref="Check"/> found: entries naming nothing, entries of removed directories,
    /// and stray blocks, extents and reservations go; inodes nothing reaches get a name in <c>/lost+found</c> (made in the root's store) → how many changes.
    /// </summary>
    public int Repair()
    {
        var changes = 0;
        var rootStore = inodes.TryGetValue(FsStore.RootInode, out var root) ? root.Store : null;
        if (rootStore is null) return 0;
        foreach (var (dir, name) in Dangling)
        {
            var batch = new StoreBatch();
            FsStore.DeleteEntry(batch, dir, name);
            entryHome[dir].Write(batch);
            changes++;
        }
        foreach (var dir in entries.Keys.Where(d => !inodes.ContainsKey(d) && !inFlight.Contains(d)))
        {
            var batch = new StoreBatch();
            foreach (var entry in entries[dir]) FsStore.DeleteEntry(batch, dir, entry.Name);
            entryHome[dir].Write(batch);
            changes++;
        }
        foreach (var (store, key, inode, _, _) in blocks.Where(b => !inodes.TryGetValue(b.Inode, out var f) || f.Node.Kind != FsNodeKind.File))
        {
            store.Write(new StoreBatch().Delete(key));
            changes++;
        }
        foreach (var (store, id) in strayExtents)
        {
            store.Extents.Delete(id);
            changes++;
        }
        foreach (var (store, key, _) in reservations.Where(r => !intentTxs.Contains(r.Tx)))
        {
            store.Write(new StoreBatch().Delete(key));
            changes++;
        }
        // Only the tops of what nothing reaches need names: what lies inside an unreachable directory comes with it.
        var inside = Unreachable.Where(i => inodes[i].Node.Kind == FsNodeKind.Directory)
            .SelectMany(d => entries.GetValueOrDefault(d) ?? []).Select(e => e.Inode).ToHashSet();
        var tops = Unreachable.Where(i => !inside.Contains(i)).ToList();
        if (tops.Count == 0) return changes;
        var lostFound = entries.GetValueOrDefault(FsStore.RootInode)?.FirstOrDefault(e => e.Name == "lost+found")?.Inode;
        var make = new StoreBatch();
        if (lostFound is null)
        {
            var seq = new FsStore(rootStore);
            lostFound = seq.NewInode(make, 0, 0);
            FsStore.PutInode(make, lostFound.Value, new FsStore.Inode(FsNodeKind.Directory, 0, 1));
            FsStore.PutEntry(make, FsStore.RootInode, "lost+found", lostFound.Value, FsNodeKind.Directory);
            rootStore.Write(make);
            changes++;
        }
        var home = inodes.TryGetValue(lostFound.Value, out var found) ? found.Store : rootStore;
        foreach (var inode in tops)
        {
            var batch = new StoreBatch();
            FsStore.PutEntry(batch, lostFound.Value, $"#{inode}", inode, inodes[inode].Node.Kind);
            home.Write(batch);
            changes++;
        }
        return changes;
    }
}
