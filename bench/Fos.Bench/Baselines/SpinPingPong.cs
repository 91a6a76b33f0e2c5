using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>raw-spin-pingpong</c>: the floor for any cross-core round trip. Two threads pinned
/// to two CPUs bounce a counter: one writes the ping line and spins on the pong line, the other
/// answers. Each round trip moves two cache lines between the CPUs and does nothing else.
/// </summary>
internal static class SpinPingPong
{
    public const string Id = "raw-spin-pingpong";

    /// <summary>Time for <paramref name="count"/> round trips.</summary>
    public static async Task<TimeSpan> Measure(long count)
    {
        var lines = new Lines();
        var elapsed = TimeSpan.Zero;
        await PinnedThreads.Run(
            () =>
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 1L; i <= count; i++)
                {
                    Volatile.Write(ref lines.Ping, i);
                    while (Volatile.Read(ref lines.Pong) != i) PinnedThreads.Spin();
                }
                elapsed = Stopwatch.GetElapsedTime(start);
            },
            () =>
            {
                for (var i = 1L; i <= count; i++)
                {
                    while (Volatile.Read(ref lines.Ping) != i) PinnedThreads.Spin();
                    Volatile.Write(ref lines.Pong, i);
                }
            });
        return elapsed;
    }

    // 128 bytes apart and from the object's edges: each counter alone on its line, and not in the
    // same 128-byte pair the adjacent-line prefetcher pulls in together.
    [StructLayout(LayoutKind.Explicit, Size = 384)]
    private sealed class Lines
    {
        [FieldOffset(128)] public long Ping;
        [FieldOffset(256)] public long Pong;
    }
}
