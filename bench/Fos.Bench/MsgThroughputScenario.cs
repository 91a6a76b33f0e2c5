using System.Diagnostics;
using Fos.Bench.Baselines;
using Fos.Kernel;

namespace Fos.Bench;

/// <summary>
/// msg-throughput: one-way messages per second from core 0 to a counting sink on core 1, one send
/// per loop turn and 64 per turn, against a raw ring publishing per message and per 64 messages,
/// and the batched sends against the machine's own ring streaming envelopes with no kernel.
/// A send lands in the ring at once, but the receiver's wake-up check happens once per turn of
/// the sender's core loop (the doorbell), which is the cost batching spreads out.
/// </summary>
internal static class MsgThroughputScenario
{
    public const string Name = "msg-throughput";
    public const int Batch = 64;

    private static readonly object Payload = new();

    public static Task<IReadOnlyList<BenchResult>> Run(BenchSettings settings, Action<string>? progress) =>
        Scenarios.OnMachine<IReadOnlyList<BenchResult>>(progress, async machine =>
        {
            var sender = machine.Cores[0];
            var sink = await machine.Execute(sender, k => k.Spawn(CountingSink.Image, machine.Cores[1]), Scenarios.Deadline);

            var samples = await Interleaved.Measure(
            [
                new("fos send, unbatched", count => machine.Execute(sender, k => SendLoop(k, sink, count, 1), Scenarios.Deadline)),
                new($"{RawSpscRing.Id}, unbatched", count => RawSpscRing.Measure(count, 1)),
                new($"fos send, {Batch} per turn", count => machine.Execute(sender, k => SendLoop(k, sink, count, Batch), Scenarios.Deadline)),
                new($"{RawSpscRing.Id}, {Batch} per publish", count => RawSpscRing.Measure(count, Batch)),
                new(RingStream.Id, RingStream.Measure),
            ], settings, progress);

            return
            [
                new(Name, "msgs_per_sec_unbatched", Scenarios.PerSecond(samples[0]), "msg/s", RawSpscRing.Id, Scenarios.PerSecond(samples[1])),
                new(Name, "msgs_per_sec_batched", Scenarios.PerSecond(samples[2]), "msg/s", RawSpscRing.Id, Scenarios.PerSecond(samples[3])),
                new(Name, "msgs_per_sec_batched", Scenarios.PerSecond(samples[2]), "msg/s", RingStream.Id, Scenarios.PerSecond(samples[4])),
            ];
        });

    // Runs on core 0. The clock stops when the sink has answered a call made after the last send,
    // so the figure counts messages handled, not merely queued.
    private static async Task<TimeSpan> SendLoop(CoreKernel kernel, Endpoint sink, long count, int perTurn)
    {
        var before = await kernel.Call<long>(sink, null);
        var start = Stopwatch.GetTimestamp();
        var sent = 0L;
        while (sent < count)
        {
            for (var i = 0; i < perTurn && sent < count; i++)
            {
                // The path is full: wait one whole turn of the core loop, which moves the backlog
                // into the ring. A kernel timer guarantees that turn; Task.Yield does not, since
                // the loop runs work posted during its posted-work phase in that same phase.
                while (!TrySend(kernel, sink)) await kernel.Delay(TimeSpan.Zero);
                sent++;
            }
            await Task.Yield();
        }
        var after = await kernel.Call<long>(sink, null);
        var elapsed = Stopwatch.GetElapsedTime(start);
        if (after - before != count)
            throw new InvalidOperationException($"the sink counted {after - before} messages where {count} were sent");
        return elapsed;
    }

    private static bool TrySend(CoreKernel kernel, Endpoint sink)
    {
        try
        {
            kernel.Send(sink, Payload);
            return true;
        }
        catch (FosException ex) when (ex.Error == FosError.Backpressure)
        {
            return false;
        }
    }
}
