namespace Fos.Services.FileSystem;

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

/// <summary>An open file: the member owning its inode keeps the rest, so this is all a client holds.</summary>
public sealed record FsHandle(long Inode, long Id)
{
    public override string ToString() => $"handle {Id} of inode {Inode}";
}

/// <summary>How to open a path (the O_ flags that matter here).</summary>
public sealed record FsOpenFlags(bool Create = false, bool Exclusive = false, bool Truncate = false, bool Write = false);

// ---- requests a client (Fos.Sys) sends to its nearest member --------------------------------

/// <summary>stat(path) → <see cref="FsAttributes"/>.</summary>
public sealed record FsStat(string Path);

/// <summary>open(path, flags) → <see cref="FsOpened"/>. <paramref name="Owner"/> is the process the handle belongs to.</summary>
public sealed record FsOpen(string Path, FsOpenFlags Flags, long Owner);

/// <summary>The answer to <see cref="FsOpen"/>: the handle, and the member that keeps it (send handle requests there).</summary>
public sealed record FsOpened(FsHandle Handle, FsAttributes Attributes, Kernel.Endpoint Server);

/// <summary>pread(handle, offset, count) → byte[] (shorter at the end of the file).</summary>
public sealed record FsRead(FsHandle Handle, long Offset, int Count);

/// <summary>pwrite(handle, offset, data) → the file's new size (long). The data is never changed after sending.</summary>
public sealed record FsWrite(FsHandle Handle, long Offset, byte[] Data);

/// <summary>ftruncate(handle, length) → the new size (long).</summary>
public sealed record FsTruncate(FsHandle Handle, long Length);

/// <summary>fstat(handle) → <see cref="FsAttributes"/>.</summary>
public sealed record FsStatHandle(FsHandle Handle);

/// <summary>fsync(handle): completes once everything written to the file is durable.</summary>
public sealed record FsSync(FsHandle Handle);

/// <summary>close(handle): syncs, then lets the handle go.</summary>
public sealed record FsClose(FsHandle Handle);

/// <summary>readdir(path) → FsEntry[] in name order.</summary>
public sealed record FsReadDir(string Path);

public sealed record FsMkdir(string Path);

public sealed record FsRmdir(string Path);

public sealed record FsUnlink(string Path);

public sealed record FsRename(string From, string To);

/// <summary>Closes every handle a process still holds (sent when the process ends) → how many were closed (int).</summary>
public sealed record FsCloseAllOf(long Owner);
