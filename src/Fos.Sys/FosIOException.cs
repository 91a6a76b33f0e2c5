using Fos.Protocols.FileSystem;

namespace Fos.Sys;

/// <summary>
/// A file-system call failed for a POSIX reason (<see cref="Errno"/>): a missing file, a name that
/// exists, a closed handle. An <see cref="IOException"/>, so code written for System.IO handles it.
/// </summary>
public sealed class FosIOException(Errno errno, string message, Exception? inner = null) : IOException(message, inner)
{
    public Errno Errno { get; } = errno;
}
