using Fos.Kernel;
using Fos.Protocols.FileSystem;

namespace Fos.Services.FileSystem;

// Walking paths for clients, on the member the client asked: each step asks the owner of a
// directory's shard, and the last one has that owner do the operation.
public sealed partial class FileSystemServer
{
    private readonly Underway working = new(); // client requests this member is coordinating now

    /// <summary>
    /// A client request this member coordinates, counted so a leaving member can wait for them. Its
    /// error names the path the client gave once, whichever member found the problem.
    /// </summary>
    private async ValueTask<object?> Working<T>(Task<T> work, string path)
    {
        working.Begin();
        try
        {
            return await work;
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is { } errno)
        {
            throw FsError.Of(errno, $"{path}: {FsError.Detail(ex)}");
        }
        finally
        {
            working.End();
        }
    }

    private async Task<Ack> Quiesce()
    {
        await working.Idle();
        return Ack.Instance;
    }

    /// <summary>Has the owner of <paramref name="inode"/>'s shard do <paramref name="request"/>: this member, or a sibling.</summary>
    private async Task<T> At<T>(long inode, IShardRequest request) => (T)(await OnShard(request))!;

    /// <summary>The directory that holds the last part of <paramref name="parts"/>.</summary>
    private async Task<long> ParentOf(string[] parts)
    {
        var dir = FsStore.RootInode;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            var entry = await At<FsEntry?>(dir, new ShardLookup(dir, parts[i])) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory");
            if (entry.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, "not a directory");
            dir = entry.Inode;
        }
        return dir;
    }

    /// <summary>The inode <paramref name="parts"/> names.</summary>
    private async Task<FsEntry> Resolve(string[] parts)
    {
        if (parts.Length == 0) return new FsEntry("/", FsNodeKind.Directory, FsStore.RootInode);
        var parent = await ParentOf(parts);
        return await At<FsEntry?>(parent, new ShardLookup(parent, parts[^1])) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory");
    }

    /// <summary>The directories from the root down to the one <paramref name="parts"/> names (the root first).</summary>
    private async Task<List<long>> Chain(string[] parts)
    {
        var chain = new List<long> { FsStore.RootInode };
        foreach (var part in parts)
        {
            var dir = chain[^1];
            var entry = await At<FsEntry?>(dir, new ShardLookup(dir, part));
            if (entry is not { Kind: FsNodeKind.Directory }) break;
            chain.Add(entry.Inode);
        }
        return chain;
    }

    /// <summary>
    /// A stat answered at once, with no await and no message, when the path's directories and the
    /// file all live in this member's shards, no shard is moving and no operation holds a name:
    /// the common case. Anything else (and every error) takes the full walk, which is what the
    /// answer would have been (Linux's path walk does the same: RCU-walk, then ref-walk). Being
    /// synchronous, it needs neither the counts a leaving member waits on nor a shard's busy count.
    /// </summary>
    private FsAttributes? StatHere(string path)
    {
        if (store is null || locks.Any || frozen.Count > 0 || path is null) return null;
        var names = store.NamesVersion + ownersChanged; // both only grow: a change to either moves the sum
        var walked = paths.Get(path, names);
        if (walked is null)
        {
            if (WalkHere(path) is not { } found) return null;
            walked = paths.Put(path, names, found);
        }
        if (!IsLocal(walked.Inode) || store.GetInode(walked.Inode) is not { } node) return null;
        if (!ReferenceEquals(walked.Node, node))
            (walked.Node, walked.Attributes) = (node, node.Attributes(walked.Inode));
        return walked.Attributes;
    }

    /// <summary>The inode a path names, when every directory on it is this member's and cached as it should be; else null.</summary>
    private long? WalkHere(string path)
    {
        if (FsPath.Plain(path) is not { } parts) return null;
        var inode = FsStore.RootInode;
        foreach (var part in parts)
        {
            // Anything unusual (a name missing, a shard elsewhere, a part Split refuses) takes the
            // full walk, which gives the answer or the error as every other call does.
            if (part.IsEmpty || !IsLocal(inode) || Store.GetInode(inode) is not { Kind: FsNodeKind.Directory }) return null;
            if (Store.GetEntry(inode, part) is not { } entry) return null;
            inode = entry.Inode;
        }
        return inode;
    }

    private async Task<FsAttributes> Stat(string path)
    {
        var entry = await Resolve(FsPath.Split(path));
        return await At<FsAttributes>(entry.Inode, new ShardStat(entry.Inode));
    }

    private async Task<FsOpened> Open(FsOpen request, Address client)
    {
        if (request.Flags is null) throw FsError.Of(Errno.EINVAL, "open needs flags");
        var parts = FsPath.Split(request.Path);
        if (parts.Length == 0)
        {
            if (!request.Flags.Directory) throw FsError.Of(Errno.EISDIR, "is a directory");
            return await At<FsOpened>(FsStore.RootInode, new ShardOpenInode(FsStore.RootInode, request.Flags, client));
        }
        var parent = await ParentOf(parts);
        return await At<FsOpened>(parent, new ShardOpenAt(parent, parts[^1], request.Flags, client));
    }

    private async Task<FsDirPage> ReadDirPath(FsReadDir request)
    {
        if (request.Limit < 0) throw FsError.Of(Errno.EINVAL, "a page size cannot be negative");
        var dir = await Resolve(FsPath.Split(request.Path));
        if (dir.Kind != FsNodeKind.Directory) throw FsError.Of(Errno.ENOTDIR, "not a directory");
        var limit = request.Limit == 0 ? FsReadDir.MaxPage : Math.Min(request.Limit, FsReadDir.MaxPage);
        return await At<FsDirPage>(dir.Inode, new ShardReadDir(dir.Inode, request.After, limit));
    }

    private async Task<FsAttributes> Mkdir(string path)
    {
        var parts = FsPath.Split(path);
        if (parts.Length == 0) throw FsError.Of(Errno.EEXIST, "file exists");
        var parent = await ParentOf(parts);
        return await At<FsAttributes>(parent, new ShardMkdirAt(parent, parts[^1]));
    }

    private async Task<Ack> Rmdir(string path)
    {
        var parts = FsPath.Split(path);
        if (parts.Length == 0) throw FsError.Of(Errno.EBUSY, "the root cannot be removed");
        var parent = await ParentOf(parts);
        return await At<Ack>(parent, new ShardRmdirAt(parent, parts[^1]));
    }

    private async Task<Ack> Unlink(string path)
    {
        var parts = FsPath.Split(path);
        if (parts.Length == 0) throw FsError.Of(Errno.EISDIR, "is a directory");
        var parent = await ParentOf(parts);
        return await At<Ack>(parent, new ShardUnlinkAt(parent, parts[^1]));
    }

    private async Task<Ack> Rename(string from, string to)
    {
        var source = FsPath.Split(from);
        var target = FsPath.Split(to);
        if (source.Length == 0 || target.Length == 0) throw FsError.Of(Errno.EBUSY, "the root cannot be renamed or replaced");
        for (var attempt = 1; ; attempt++)
        {
            // The checks in the order Linux makes them, so the same mistake gets the same error.
            var sourceParent = await ParentOf(source);
            var targetParent = await ParentOf(target);
            var moving = await At<FsEntry?>(sourceParent, new ShardLookup(sourceParent, source[^1])) ?? throw FsError.Of(Errno.ENOENT, "no such file or directory");
            if (source.SequenceEqual(target)) return Ack.Instance;
            if (target.Length > source.Length && target.Take(source.Length).SequenceEqual(source))
                throw FsError.Of(Errno.EINVAL, "cannot move a directory into itself");
            if (target.Length < source.Length && source.Take(target.Length).SequenceEqual(target))
                throw FsError.Of(Errno.ENOTEMPTY, "directory not empty (it contains what would replace it)");
            try
            {
                return await At<Ack>(targetParent, new ShardRenameAt(targetParent, target[^1], sourceParent, source[^1], moving, target[..^1]));
            }
            catch (FosException ex) when (FsError.ErrnoOf(ex) == Errno.EAGAIN && attempt < 8)
            {
                // The walk saw a tree that a concurrent rename has changed since: walk again.
            }
        }
    }
}
