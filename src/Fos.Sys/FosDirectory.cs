using Fos.Protocols.FileSystem;

namespace Fos.Sys;

/// <summary>Directories in fos, in the shape of <see cref="Directory"/>.</summary>
public static class FosDirectory
{
    /// <summary>Creates the directory and any missing parents; an existing directory is fine, a file in the way is not.</summary>
    public static async Task CreateDirectoryAsync(string path)
    {
        var parts = SysCall.Split(path);
        for (var i = 1; i <= parts.Length; i++)
        {
            var prefix = FsPath.Join(parts[..i]);
            try
            {
                await FosPosix.Mkdir(prefix);
            }
            catch (FosIOException ex) when (ex.Errno == Errno.EEXIST)
            {
                if ((await FosFile.StatAsync(prefix)).Kind != FsNodeKind.Directory)
                    throw new FosIOException(Errno.ENOTDIR, $"{prefix} is a file, so {path} cannot be a directory");
            }
        }
    }

    public static async Task<bool> ExistsAsync(string path)
    {
        try
        {
            return (await FosFile.StatAsync(path)).Kind == FsNodeKind.Directory;
        }
        catch (FosIOException ex) when (ex.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.EINVAL or Errno.ENAMETOOLONG)
        {
            return false;
        }
    }

    /// <summary>readdir: the entries of a directory, in name order.</summary>
    public static Task<FsEntry[]> EntriesAsync(string path) => FosPosix.ReadDir(path);

    /// <summary>The entries of a directory in name order, a page at a time: a huge directory never has to fit in one message.</summary>
    public static async IAsyncEnumerable<FsEntry> EnumerateAsync(string path)
    {
        string? after = null;
        while (true)
        {
            var page = await FosPosix.ReadDirPage(path, after);
            foreach (var entry in page.Entries) yield return entry;
            if (!page.More || page.Entries.Length == 0) yield break;
            after = page.Entries[^1].Name;
        }
    }

    /// <summary>Full paths of the files in a directory.</summary>
    public static async Task<string[]> GetFilesAsync(string path) =>
        [.. (await EntriesAsync(path)).Where(e => e.Kind == FsNodeKind.File).Select(e => Combine(path, e.Name))];

    /// <summary>Full paths of the directories in a directory.</summary>
    public static async Task<string[]> GetDirectoriesAsync(string path) =>
        [.. (await EntriesAsync(path)).Where(e => e.Kind == FsNodeKind.Directory).Select(e => Combine(path, e.Name))];

    /// <summary>rmdir; with <paramref name="recursive"/>, everything inside goes first.</summary>
    public static async Task DeleteAsync(string path, bool recursive = false)
    {
        if (recursive)
        {
            await foreach (var entry in EnumerateAsync(path)) // a page at a time: removing names behind the cursor is safe
            {
                var child = Combine(path, entry.Name);
                if (entry.Kind == FsNodeKind.Directory) await DeleteAsync(child, recursive: true);
                else await FosPosix.Unlink(child);
            }
        }
        await FosPosix.Rmdir(path);
    }

    public static ValueTask MoveAsync(string source, string destination) => FosPosix.Rename(source, destination);

    public static string Combine(string directory, string name) => directory.EndsWith('/') ? directory + name : directory + "/" + name;
}
