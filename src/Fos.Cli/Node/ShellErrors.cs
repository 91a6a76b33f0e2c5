using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Sys;

namespace Fos.Cli.Node;

/// <summary>A failure already told: the text that follows "command: " on its one line of stderr (status 1).</summary>
internal sealed class ShellFailure(string line) : Exception(line);

/// <summary>The command was called wrongly (status 2): a missing or extra operand, an unknown flag.</summary>
internal sealed class UsageError(string message) : Exception(message);

/// <summary>
/// Failures told the way coreutils tells them: <c>cat: /a/x: No such file or directory</c>, or
/// <c>rm: cannot remove '/d': Is a directory</c>. The reason is the errno's standard text, never
/// the message of the server or of .NET, so each line names the path once, as the user wrote it.
/// </summary>
internal static class ShellErrors
{
    /// <summary>strerror: the text Linux gives each errno.</summary>
    public static string Strerror(Errno errno) => errno switch
    {
        Errno.ENOENT => "No such file or directory",
        Errno.EEXIST => "File exists",
        Errno.ENOTDIR => "Not a directory",
        Errno.EISDIR => "Is a directory",
        Errno.ENOTEMPTY => "Directory not empty",
        Errno.EBADF => "Bad file descriptor",
        Errno.EINVAL => "Invalid argument",
        Errno.ENOSPC => "No space left on device",
        Errno.ENAMETOOLONG => "File name too long",
        Errno.EBUSY => "Device or resource busy",
        Errno.EFBIG => "File too large",
        Errno.ESRCH => "No such process",
        Errno.ENOMEM => "Cannot allocate memory",
        Errno.EAGAIN => "Resource temporarily unavailable",
        Errno.EMFILE => "Too many open files",
        Errno.ENOEXEC => "Exec format error",
        Errno.EACCES => "Permission denied",
        Errno.EPIPE => "Broken pipe",
        Errno.EIO => "Input/output error",
        _ => errno.ToString(),
    };

    /// <summary>strerror for the host's errors: on Linux .NET keeps the errno of an unmapped failure in HResult.</summary>
    private static string? HostStrerror(int errno) => errno switch
    {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        5 => "Input/output error",
        13 => "Permission denied",
        16 => "Device or resource busy",
        17 => "File exists",
        20 => "Not a directory",
        21 => "Is a directory",
        24 => "Too many open files",
        27 => "File too large",
        28 => "No space left on device",
        30 => "Read-only file system",
        32 => "Broken pipe",
        36 => "File name too long",
        39 => "Directory not empty",
        40 => "Too many levels of symbolic links",
        122 => "Disk quota exceeded",
        _ => null,
    };

    /// <summary>Why <paramref name="error"/> happened, in a user's words; null for failures nobody foresaw.</summary>
    public static string? Reason(Exception error) => error switch
    {
        ShellFailure => null, // already a whole line
        // Unavailable is worth its detail: which machine the data waits for.
        FosIOException { Errno: Errno.EIO } fos => $"{Strerror(fos.Errno)} ({(fos.Message.StartsWith("EIO: ", StringComparison.Ordinal) ? fos.Message[5..] : fos.Message)})",
        FosIOException fos => Strerror(fos.Errno),
        FosException fos => fos.Message,
        UnauthorizedAccessException => "Permission denied",
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        PathTooLongException => "File name too long",
        IOException io => HostStrerror(io.HResult) ?? io.Message,
        TimeoutException timeout => timeout.Message,
        _ => null,
    };

    /// <summary>The line after "command: " for a failure on <paramref name="path"/>: "PATH: REASON", or "ACTION 'PATH': REASON".</summary>
    public static string Line(string? action, string path, string reason) =>
        action is null ? $"{path}: {reason}" : $"{action} '{path}': {reason}";

    /// <summary>Runs one step of a command; a failure becomes a <see cref="ShellFailure"/> told with this action and path.</summary>
    public static async Task<T> Doing<T>(string? action, string path, Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception ex) when (Reason(ex) is { } reason)
        {
            throw new ShellFailure(Line(action, path, reason));
        }
    }

    /// <inheritdoc cref="Doing{T}(string?, string, Func{Task{T}})"/>
    public static Task Doing(string? action, string path, Func<Task> step) => Doing(action, path, async () =>
    {
        await step();
        return true;
    });

    /// <summary>A failure with a POSIX reason, made here (a trailing slash on a file, a directory where a file must be).</summary>
    public static FosIOException Posix(Errno errno, string path) => new(errno, $"{errno}: {path}: {Strerror(errno)}");
}
