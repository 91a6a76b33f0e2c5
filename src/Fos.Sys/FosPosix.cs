using Fos.Kernel;
using Fos.Protocols.FileSystem;

namespace Fos.Sys;

/// <summary>
/// The file system's calls one for one, as POSIX names them: no convenience, no retries, each
/// failure a <see cref="FosIOException"/> with its errno. <see cref="FosFile"/>,
/// <see cref="FosDirectory"/> and <see cref="FosFileStream"/> are built on these.
/// </summary>
public static class FosPosix
{
    public static ValueTask<FsAttributes> Stat(string path) => SysCall.Fs<FsAttributes>(new FsStat(path));

    public static async Task<FsEntry[]> ReadDir(string path)
    {
        var all = new List<FsEntry>();
        await foreach (var entry in FosDirectory.EnumerateAsync(path)) all.Add(entry);
        return [.. all];
    }

    /// <summary>One page of readdir: up to <paramref name="limit"/> entries after the name <paramref name="after"/>.</summary>
    public static ValueTask<FsDirPage> ReadDirPage(string path, string? after = null, int limit = 0) =>
        SysCall.Fs<FsDirPage>(new FsReadDir(path, after, limit));

    public static ValueTask<FsAttributes> Mkdir(string path) => SysCall.Fs<FsAttributes>(new FsMkdir(path));

    public static ValueTask Rmdir(string path) => SysCall.Done(SysCall.Fs<object>(new FsRmdir(path)));

    public static ValueTask Unlink(string path) => SysCall.Done(SysCall.Fs<object>(new FsUnlink(path)));

    public static ValueTask Rename(string from, string to) => SysCall.Done(SysCall.Fs<object>(new FsRename(from, to)));

    /// <summary>open: the handle and the member that keeps it.</summary>
    public static ValueTask<FsOpened> Open(string path, FsOpenFlags flags) =>
        SysCall.Fs<FsOpened>(new FsOpen(path, flags));

    public static ValueTask<byte[]> PRead(FsOpened file, long offset, int count) =>
        SysCall.Fs<byte[]>(file.Server, new FsRead(file.Handle, offset, count));

    /// <summary>pwrite → the file's new size. <paramref name="data"/> is copied before it is sent.</summary>
    public static ValueTask<long> PWrite(FsOpened file, long offset, ReadOnlySpan<byte> data) =>
        SysCall.Fs<long>(file.Server, new FsWrite(file.Handle, offset, data.ToArray()));

    public static ValueTask<long> FTruncate(FsOpened file, long length) =>
        SysCall.Fs<long>(file.Server, new FsTruncate(file.Handle, length));

    public static ValueTask<FsAttributes> FStat(FsOpened file) => SysCall.Fs<FsAttributes>(file.Server, new FsStatHandle(file.Handle));

    public static ValueTask FSync(FsOpened file) => SysCall.Done(SysCall.Fs<Ack>(file.Server, new FsSync(file.Handle)));

    public static ValueTask Close(FsOpened file) => SysCall.Done(SysCall.Fs<Ack>(file.Server, new FsClose(file.Handle)));
}
