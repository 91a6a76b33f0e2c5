using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>host-mmap</c>: what <c>mem-map</c> does, straight from the host: map 2 MiB of
/// anonymous memory, touch each of its pages, unmap it.
/// </summary>
internal static unsafe partial class HostMmap
{
    public const string Id = "host-mmap";
    public const int BufferBytes = 2 << 20;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint address, nuint length);

    /// <summary>Time for <paramref name="count"/> buffers mapped, touched and unmapped.</summary>
    public static Task<TimeSpan> Measure(long count) => Task.Run(() =>
    {
        const int ReadWrite = 0x3, PrivateAnonymous = 0x22;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0L; i < count; i++)
        {
            var buffer = mmap(0, BufferBytes, ReadWrite, PrivateAnonymous, -1, 0);
            if (buffer == -1) throw new IOException($"mmap failed: errno {Marshal.GetLastPInvokeError()}");
            var bytes = (byte*)buffer;
            for (var page = 0; page < BufferBytes; page += 4096) bytes[page] = 1;
            munmap(buffer, BufferBytes);
        }
        return Stopwatch.GetElapsedTime(start);
    });
}
