using System.Diagnostics;
using Fos.Kernel;
using Fos.Runtime;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>ring-pingpong</c>: the transport a call between cores rides, without a kernel. Two
/// threads pinned to two CPUs bounce one envelope over a pair of the machine's own slot rings:
/// one writes the call and spins on the other ring for the answer, the other reads it and writes
/// it back. What a null call costs above this is the kernels' software; what this costs above
/// <c>raw-spin-pingpong</c> is moving a 56-byte envelope each way instead of one word.
/// </summary>
internal static class RingPingPong
{
    public const string Id = "ring-pingpong";

    /// <summary>Time for <paramref name="count"/> round trips.</summary>
    public static async Task<TimeSpan> Measure(long count)
    {
        var (calls, replies) = (new SpscRing(1024), new SpscRing(1024));
        var call = new Envelope(EnvelopeKind.Call, new Address(1, 1, 1), default, new Address(1, 0, 0), 1, null);
        var elapsed = TimeSpan.Zero;
        await PinnedThreads.Run(
            () =>
            {
                var start = Stopwatch.GetTimestamp();
                for (var i = 1L; i <= count; i++)
                {
                    while (!calls.TryWrite(call)) PinnedThreads.Spin();
                    Envelope reply;
                    while (!replies.TryRead(out reply)) PinnedThreads.Spin();
                }
                elapsed = Stopwatch.GetElapsedTime(start);
            },
            () =>
            {
                for (var i = 1L; i <= count; i++)
                {
                    Envelope request;
                    while (!calls.TryRead(out request)) PinnedThreads.Spin();
                    var reply = new Envelope(EnvelopeKind.Reply, request.From, default, request.To, request.CorrelationId, null);
                    while (!replies.TryWrite(reply)) PinnedThreads.Spin();
                }
            });
        return elapsed;
    }
}
