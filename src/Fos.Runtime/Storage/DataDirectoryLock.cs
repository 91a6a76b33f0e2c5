using Fos.Kernel;

namespace Fos.Runtime.Storage;

/// <summary>
/// An exclusive lock on a data directory (an flock held on DATA/fos.lock for the machine's life,
/// with the holder's pid in DATA/fos.pid),
/// so a second machine on the same directory is refused instead of corrupting the first one's
/// stores. The lock dies with the process, so a machine killed with SIGKILL leaves none behind.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream file;

    private DataDirectoryLock(FileStream file) => this.file = file;

    /// <summary>
    /// Takes the lock, creating the directory if needed. Every way this can fail (the path is a file,
    /// cannot be created or written, or another machine holds it) is a <see cref="FosException"/>
    /// whose message is one line that names the directory and what to do.
    /// </summary>
    public static DataDirectoryLock Take(string dataDirectory)
    {
        if (File.Exists(dataDirectory))
            throw new FosException(FosError.NoStorage, $"the data directory {dataDirectory} is a file, not a directory; choose another --data");
        try
        {
            Directory.CreateDirectory(dataDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FosException(FosError.NoStorage, $"cannot create the data directory {dataDirectory} ({Reason(ex)}); choose another --data");
        }
        var path = Path.Combine(dataDirectory, "fos.lock");
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex.HResult == WouldBlock)
        {
            var holder = ReadHolder(Path.Combine(dataDirectory, "fos.pid"));
            throw new FosException(FosError.BadRequest,
                $"the data directory {dataDirectory} is in use by another fos machine{holder}; stop it first (fos stop --data {dataDirectory}) or choose another --data");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FosException(FosError.NoStorage, $"cannot write in the data directory {dataDirectory} ({Reason(ex)}); choose another --data");
        }
        try
        {
            // The holder's pid goes beside the lock (the locked file itself cannot be read by others).
            File.WriteAllText(Path.Combine(dataDirectory, "fos.pid"), $"{Environment.ProcessId}\n");
            return new DataDirectoryLock(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            throw new FosException(FosError.NoStorage, $"cannot write in the data directory {dataDirectory} ({Reason(ex)}); choose another --data");
        }
    }

    /// <summary>The errno .NET gives a lock already held elsewhere (EWOULDBLOCK, which is EAGAIN on Linux).</summary>
    private const int WouldBlock = 11;

    /// <summary>Why a file operation failed, in the words of strerror rather than of an exception.</summary>
    public static string Reason(Exception ex) => ex switch
    {
        UnauthorizedAccessException => "permission denied",
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory, or the file system does not allow it there",
        _ => ex.Message.TrimEnd('.'),
    };

    private static string ReadHolder(string path)
    {
        try
        {
            var pid = File.ReadAllText(path).Trim();
            return string.IsNullOrEmpty(pid) ? "" : $" (process {pid})";
        }
        catch (IOException)
        {
            return "";
        }
    }

    public void Dispose() => file.Dispose();
}
