using System.Runtime.InteropServices;

namespace Fos.Runtime.Processes;

/// <summary>
/// The Linux calls behind shared memory and event fds. Constants are the generic Linux values,
/// the same on x86-64 and arm64.
/// </summary>
internal static unsafe partial class Libc
{
    public const uint MFD_CLOEXEC = 0x1;
    public const uint MFD_ALLOW_SEALING = 0x2;
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x1;
    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;
    public const int F_ADD_SEALS = 1033;
    public const int F_SEAL_SEAL = 0x1;
    public const int F_SEAL_SHRINK = 0x2;
    public const int F_SEAL_GROW = 0x4;
    public const int SEEK_END = 2;
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const short POLLIN = 0x1;
    public const int EINTR = 4;
    public const int EAGAIN = 11;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(nint address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    // fcntl is variadic; every command used here takes one int, passed like a fixed argument.
    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initialValue, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    /// <summary>The failure of <paramref name="call"/>, named with the errno it left.</summary>
    public static IOException Error(string call) => Error(call, Marshal.GetLastPInvokeError());

    public static IOException Error(string call, int errno) =>
        new($"{call} failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})");

    /// <summary>Sets or clears FD_CLOEXEC: whether a child started by exec inherits the fd.</summary>
    public static void SetInheritable(int fd, bool inheritable)
    {
        var flags = fcntl(fd, F_GETFD, 0);
        if (flags < 0) throw Error("fcntl(F_GETFD)");
        var wanted = inheritable ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC;
        if (wanted != flags && fcntl(fd, F_SETFD, wanted) < 0) throw Error("fcntl(F_SETFD)");
    }
}
