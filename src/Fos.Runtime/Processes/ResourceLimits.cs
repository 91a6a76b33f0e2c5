using System.Runtime.InteropServices;

namespace Fos.Runtime.Processes;

/// <summary>
/// The kernel-enforced limits an application host puts on its own process before it loads the
/// program (an rlimit, which the program cannot raise again: it holds no capability). Where the
/// host has cgroup v2 a cgroup would be the better wall; this host kind has v1, so an rlimit it is.
/// </summary>
public static partial class ResourceLimits
{
    private const int RLIMIT_DATA = 2;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);

    /// <summary>
    /// Caps the private writable memory this process may map at <paramref name="bytes"/>, soft and
    /// hard (RLIMIT_DATA, which since Linux 4.7 counts every private writable mapping): past it an
    /// allocation fails, managed or native, and only this process notices. Not the address space:
    /// .NET reserves several GiB of it that it never uses, which RLIMIT_AS would count.
    /// </summary>
    public static void LimitMemory(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var limit = new RLimit { Current = (ulong)bytes, Maximum = (ulong)bytes };
        if (setrlimit(RLIMIT_DATA, limit) != 0)
            throw new IOException($"setrlimit(RLIMIT_DATA) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
