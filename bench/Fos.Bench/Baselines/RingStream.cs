using System.Diagnostics;
using Fos.Kernel;
using Fos.Runtime;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>ring-stream</c>: the transport one-way messages ride, without a kernel. Two
/// threads pinned to two CPUs stream envelopes through one of the machine's own slot rings, as
/// fast as it takes them. What fos's batched sends cost above this is the kernels' software; what
/// this costs above <c>raw-spsc-ring</c> is the ring's design carrying a 56-byte envelope.
/// </summary>
internal static class RingStream
{
    public const string Id = "ring-stream";

    /// <summary>Time for <paramref name="count"/> envelopes to go from producer to consumer.</summary>
    public static async Task<TimeSpan> Measure(long count)
    {
        var ring = new SpscRing(1024); // as a machine's default ring
        var body = new object();
        var send = new Envelope(EnvelopeKind.Send, new Address(1, 1, 1), default, new Address(1, 0, 0), 0, body);
        long start = 0, end = 0, taken = 0;
        await PinnedThreads.Run(
            () =>
            {
                start = Stopwatch.GetTimestamp();
                for (var i = 0L; i < count; i++)
                    while (!ring.TryWrite(send)) PinnedThreads.Spin();
            },
            () =>
            {
                for (var i = 0L; i < count; i++)
                {
                    Envelope envelope;
                    while (!ring.TryRead(out envelope)) PinnedThreads.Spin();
                    if (envelope.Body == body) taken++;
                }
                end = Stopwatch.GetTimestamp();
            });
        if (taken != count) throw new InvalidOperationException($"the ring delivered {taken} of {count} envelopes whole");
        return Stopwatch.GetElapsedTime(start, end);
    }
}
