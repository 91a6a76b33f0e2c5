using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>linux-getppid</c>: the Linux null system call. getppid does no work in the kernel
/// and glibc does not cache it, so a loop of it times the bare user-kernel-user crossing.
/// SuppressGCTransition keeps the .NET interop overhead out of the figure.
/// </summary>
internal static partial class LinuxNullSyscall
{
    public const string Id = "linux-getppid";

    [LibraryImport("libc")]
    [SuppressGCTransition]
    private static partial int getppid();

    /// <summary>Time for <paramref name="count"/> calls, on a thread pinned where fos core 0 runs.</summary>
    public static async Task<TimeSpan> Measure(long count)
    {
        var elapsed = TimeSpan.Zero;
        await PinnedThreads.Run(() =>
        {
            var sum = 0L;
            var start = Stopwatch.GetTimestamp();
            for (var i = 0L; i < count; i++) sum += getppid();
            elapsed = Stopwatch.GetElapsedTime(start);
            GC.KeepAlive(sum);
        });
        return elapsed;
    }
}
