using Fos.Kernel;

namespace Fos.Services.FileSystem;

/// <summary>The POSIX errors the file system answers with; the name travels as the fault's code.</summary>
public enum Errno
{
    ENOENT,
    EEXIST,
    ENOTDIR,
    EISDIR,
    ENOTEMPTY,
    EBADF,
    EINVAL,
    ENOSPC,
    ENAMETOOLONG,
    EBUSY,
    EFBIG,
    ESRCH,
    ENOMEM,
    EAGAIN,
}

/// <summary>Builds file-system errors that reach the caller with their POSIX name.</summary>
public static class FsError
{
    public static FosException Of(Errno errno, string message) =>
        new(FosError.ServiceError, $"{errno}: {message}", errno.ToString());

    /// <summary>The POSIX error a failed call carried, if it was one of the file system's.</summary>
    public static Errno? ErrnoOf(FosException error) =>
        error is { Error: FosError.ServiceError, Code: { } code } && Enum.TryParse<Errno>(code, out var errno) ? errno : null;
}
