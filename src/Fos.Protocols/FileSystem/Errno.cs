using Fos.Kernel;

namespace Fos.Protocols.FileSystem;

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
    EMFILE,
    ENOEXEC,
    EACCES,
    EPIPE,
    EIO,
}

/// <summary>Builds file-system errors that reach the caller with their POSIX name.</summary>
public static class FsError
{
    public static FosException Of(Errno errno, string message) =>
        new(FosError.ServiceError, $"{errno}: {message}", errno.ToString());

    /// <summary>The description of a file-system error without its errno prefix.</summary>
    public static string Detail(FosException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var prefix = $"{error.Code}: ";
        return error.Message.StartsWith(prefix, StringComparison.Ordinal) ? error.Message[prefix.Length..] : error.Message;
    }

    /// <summary>The POSIX error a failed call carried, if it was one of the file system's.</summary>
    public static Errno? ErrnoOf(FosException error) =>
        error is { Error: FosError.ServiceError, Code: { } code } && Enum.TryParse<Errno>(code, out var errno) ? errno : null;
}
