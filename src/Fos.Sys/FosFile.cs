using System.Text;
using Fos.Protocols.FileSystem;

namespace Fos.Sys;

/// <summary>Files in fos, in the shape of <see cref="File"/>: every method is a message (or a few) to the file-system fleet.</summary>
public static class FosFile
{
    /// <summary>Opens a file the way <see cref="File.Open(string, FileMode, FileAccess)"/> does.</summary>
    public static async Task<FosFileStream> OpenAsync(string path, FileMode mode, FileAccess access = FileAccess.ReadWrite)
    {
        ArgumentNullException.ThrowIfNull(path);
        var write = access.HasFlag(FileAccess.Write);
        if (!write && mode is FileMode.CreateNew or FileMode.Create or FileMode.Truncate or FileMode.Append)
            throw new ArgumentException($"FileMode.{mode} needs write access", nameof(access));
        if (mode == FileMode.Append && access.HasFlag(FileAccess.Read))
            throw new ArgumentException("FileMode.Append can only be used with FileAccess.Write", nameof(access));
        var flags = mode switch
        {
            FileMode.CreateNew => new FsOpenFlags(Create: true, Exclusive: true, Write: write),
            FileMode.Create => new FsOpenFlags(Create: true, Truncate: true, Write: write),
            FileMode.Open => new FsOpenFlags(Write: write),
            FileMode.OpenOrCreate => new FsOpenFlags(Create: true, Write: write),
            FileMode.Truncate => new FsOpenFlags(Truncate: true, Write: write),
            FileMode.Append => new FsOpenFlags(Create: true, Write: true),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "not a FileMode"),
        };
        var opened = await FosPosix.Open(path, flags);
        return new FosFileStream(path, opened, access.HasFlag(FileAccess.Read), write, append: mode == FileMode.Append);
    }

    public static Task<FosFileStream> OpenReadAsync(string path) => OpenAsync(path, FileMode.Open, FileAccess.Read);

    public static Task<FosFileStream> OpenWriteAsync(string path) => OpenAsync(path, FileMode.OpenOrCreate, FileAccess.Write);

    public static Task<FosFileStream> CreateAsync(string path) => OpenAsync(path, FileMode.Create, FileAccess.ReadWrite);

    public static async Task<bool> ExistsAsync(string path)
    {
        try
        {
            return (await StatAsync(path)).Kind == FsNodeKind.File;
        }
        catch (FosIOException ex) when (ex.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.EINVAL or Errno.ENAMETOOLONG)
        {
            return false;
        }
    }

    /// <summary>stat: inode, kind, size and version of a file or directory.</summary>
    public static ValueTask<FsAttributes> StatAsync(string path) => FosPosix.Stat(path);

    public static async Task<byte[]> ReadAllBytesAsync(string path)
    {
        await using var file = await OpenReadAsync(path);
        var result = new MemoryStream();
        await file.CopyToAsync(result, FsLimits.BlockSize);
        return result.ToArray();
    }

    public static async Task<string> ReadAllTextAsync(string path, Encoding? encoding = null)
    {
        await using var file = await OpenReadAsync(path);
        using var reader = new StreamReader(file, encoding ?? Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    public static async Task<string[]> ReadAllLinesAsync(string path, Encoding? encoding = null)
    {
        var text = await ReadAllTextAsync(path, encoding);
        var lines = text.Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0) lines = lines[..^1];
        return [.. lines.Select(l => l.TrimEnd('\r'))];
    }

    /// <summary>Writes the file whole and closes it: durable when this returns.</summary>
    public static async Task WriteAllBytesAsync(string path, ReadOnlyMemory<byte> bytes)
    {
        await using var file = await OpenAsync(path, FileMode.Create, FileAccess.Write);
        await file.WriteAsync(bytes);
    }

    public static Task WriteAllTextAsync(string path, string contents, Encoding? encoding = null) =>
        WriteAllBytesAsync(path, (encoding ?? new UTF8Encoding(false)).GetBytes(contents ?? ""));

    public static async Task AppendAllTextAsync(string path, string contents, Encoding? encoding = null)
    {
        await using var file = await OpenAsync(path, FileMode.Append, FileAccess.Write);
        await file.WriteAsync((encoding ?? new UTF8Encoding(false)).GetBytes(contents ?? ""));
    }

    /// <summary>unlink. Like <see cref="File.Delete"/>, a missing file is not an error; a directory is.</summary>
    public static async Task DeleteAsync(string path)
    {
        try
        {
            await FosPosix.Unlink(path);
        }
        catch (FosIOException ex) when (ex.Errno == Errno.ENOENT)
        {
        }
    }

    /// <summary>rename, refusing to replace an existing file unless <paramref name="overwrite"/>.</summary>
    public static async Task MoveAsync(string source, string destination, bool overwrite = false)
    {
        if (!overwrite && await StatOrNull(destination) is not null)
            throw new FosIOException(Errno.EEXIST, $"{destination} exists (pass overwrite: true to replace it)");
        await FosPosix.Rename(source, destination);
    }

    public static async Task CopyAsync(string source, string destination, bool overwrite = false)
    {
        await using var from = await OpenReadAsync(source);
        await using var to = await OpenAsync(destination, overwrite ? FileMode.Create : FileMode.CreateNew, FileAccess.Write);
        await from.CopyToAsync(to, FsLimits.BlockSize);
    }

    internal static async Task<FsAttributes?> StatOrNull(string path)
    {
        try
        {
            return await StatAsync(path);
        }
        catch (FosIOException ex) when (ex.Errno == Errno.ENOENT)
        {
            return null;
        }
    }
}
