using MessagePack;

namespace Fos.Protocols.FileSystem;

/// <summary>What a path names.</summary>
public enum FsNodeKind : byte
{
    File = 1,
    Directory = 2,
}

/// <summary>What stat says about a file or directory.</summary>
public sealed record FsAttributes(long Inode, FsNodeKind Kind, long Size, long Version);

/// <summary>One entry of a directory listing.</summary>
public sealed record FsEntry(string Name, FsNodeKind Kind, long Inode);

/// <summary>
/// An open file: the member owning its inode keeps the rest, so this is all a client holds. The id
/// is drawn at random (as unguessable as a capability's half) and is good only for the core and
/// process that opened it: any other sender gets EBADF.
/// </summary>
public sealed record FsHandle(long Inode, long Id)
{
    public override string ToString() => $"handle {Id} of inode {Inode}";
}

/// <summary>
/// How to open a path (the O_ flags that matter here). <paramref name="Directory"/> opens a
/// directory for reading (O_DIRECTORY), which is what fsync of a directory needs.
/// </summary>
public sealed record FsOpenFlags(bool Create = false, bool Exclusive = false, bool Truncate = false, bool Write = false, bool Directory = false);

// ---- requests a client (Fos.Sys) sends to its nearest member --------------------------------
// These, and only these, are accepted on a member's public mailbox (the one named /sys/fs).

/// <summary>stat(path) → <see cref="FsAttributes"/>.</summary>
public sealed record FsStat(string Path);

/// <summary>
/// open(path, flags) → <see cref="FsOpened"/>. The handle belongs to the sending core, which the
/// kernel attests (an application process has a process core of its own, so its handles close
/// when it ends); nothing the request says can make it anyone else's.
/// </summary>
public sealed record FsOpen(string Path, FsOpenFlags Flags);

/// <summary>The answer to <see cref="FsOpen"/>: the handle, and the member that keeps it (send handle requests there).</summary>
public sealed record FsOpened(FsHandle Handle, FsAttributes Attributes, Kernel.Endpoint Server);

/// <summary>pread(handle, offset, count) → byte[] (shorter at the end of the file).</summary>
public sealed record FsRead(FsHandle Handle, long Offset, int Count)
{
    /// <summary>
    /// A buffer the caller lends for the answer, when it shares the member's address space: the
    /// member may read into it and answer with it, instead of filling a new array (a fresh MiB
    /// costs more in page faults than the read itself). It is the member's until the answer
    /// comes. It never crosses a process or a machine: there the answer is a new array.
    /// </summary>
    [IgnoreMember]
    public byte[]? Into { get; init; }
}

/// <summary>pwrite(handle, offset, data) → the file's new size (long). The data is never changed after sending.</summary>
public sealed record FsWrite(FsHandle Handle, long Offset, byte[] Data);

/// <summary>ftruncate(handle, length) → the new size (long).</summary>
public sealed record FsTruncate(FsHandle Handle, long Length);

/// <summary>fstat(handle) → <see cref="FsAttributes"/>.</summary>
public sealed record FsStatHandle(FsHandle Handle);

/// <summary>fsync(handle): completes once everything written to the file, or for a directory every entry of it, is durable.</summary>
public sealed record FsSync(FsHandle Handle);

/// <summary>close(handle): syncs, then lets the handle go.</summary>
public sealed record FsClose(FsHandle Handle);

/// <summary>
/// readdir(path) → <see cref="FsDirPage"/>: up to <paramref name="Limit"/> entries (at most
/// <see cref="MaxPage"/>; 0 means that many) in name order, after the name <paramref name="After"/>.
/// </summary>
public sealed record FsReadDir(string Path, string? After = null, int Limit = 0)
{
    public const int MaxPage = 1024;
}

/// <summary>One page of a listing; <paramref name="More"/> says whether to ask again after the last name.</summary>
public sealed record FsDirPage(FsEntry[] Entries, bool More);

public sealed record FsMkdir(string Path);

public sealed record FsRmdir(string Path);

public sealed record FsUnlink(string Path);

public sealed record FsRename(string From, string To);
