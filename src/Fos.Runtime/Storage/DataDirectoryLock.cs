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

    public static DataDirectoryLock Take(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, "fos.lock");
        try
        {
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            // The holder's pid goes beside the lock (the locked file itself cannot be read by others).
            File.WriteAllText(Path.Combine(dataDirectory, "fos.pid"), $"{Environment.ProcessId}\n");
            return new DataDirectoryLock(file);
        }
        catch (IOException)
        {
            var holder = ReadHolder(Path.Combine(dataDirectory, "fos.pid"));
            throw new FosException(FosError.BadRequest,
                $"the data directory {dataDirectory} is in use by another fos machine{holder}; stop it first (fos stop --data {dataDirectory}) or choose another --data");
        }
    }

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
