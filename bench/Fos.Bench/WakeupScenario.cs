using System.Diagnostics;
using Fos.Bench.Baselines;
using Fos.Kernel;
using Fos.Runtime;
using Fos.Services.Basic;

namespace Fos.Bench;

/// <summary>
/// wakeup: what the spin-then-park setting buys. A null call made after the client has been busy
/// elsewhere for a while, so the server's core has been idle that long: within its spin budget the
/// server is still polling; past it, the server has parked and the call pays a thread wake-up.
/// Measured on the default setting (spin 50 µs) after 20 µs and 200 µs of idleness, and with
/// spinning off (park at once) after 20 µs, each against the raw spin ping-pong of the same run.
/// </summary>
internal static class WakeupScenario
{
    public const string Name = "wakeup";

    private static readonly TimeSpan ShortIdle = TimeSpan.FromMicroseconds(20);
    private static readonly TimeSpan LongIdle = TimeSpan.FromMicroseconds(200);

    public static Task<IReadOnlyList<BenchResult>> Run(BenchSettings settings, Action<string>? progress) =>
        Scenarios.OnMachine<IReadOnlyList<BenchResult>>(progress, spinning =>
            Scenarios.OnMachine<IReadOnlyList<BenchResult>>(progress, async parking =>
            {
                var calls = settings.Quick ? 100 : 1000;
                var (spinClient, spinServer) = await Prepare(spinning);
                var (parkClient, parkServer) = await Prepare(parking);
                var samples = await Interleaved.Measure(
                [
                    new($"fos call after {Micros(ShortIdle)} idle, spin {Micros(spinning.SpinBeforePark)}",
                        count => spinning.Execute(spinClient, k => CallsAfterIdle(k, spinServer, count, ShortIdle), Scenarios.Deadline), calls),
                    new($"fos call after {Micros(LongIdle)} idle, spin {Micros(spinning.SpinBeforePark)}",
                        count => spinning.Execute(spinClient, k => CallsAfterIdle(k, spinServer, count, LongIdle), Scenarios.Deadline), calls),
                    new($"fos call after {Micros(ShortIdle)} idle, spin 0",
                        count => parking.Execute(parkClient, k => CallsAfterIdle(k, parkServer, count, ShortIdle), Scenarios.Deadline), calls),
                    new(SpinPingPong.Id, SpinPingPong.Measure),
                ], settings, progress);
                var baseline = Scenarios.Nanoseconds(samples[3]);
                return
                [
                    new(Name, $"ns_per_call_after_{Micros(ShortIdle)}_idle", Scenarios.Nanoseconds(samples[0]), "ns", SpinPingPong.Id, baseline),
                    new(Name, $"ns_per_call_after_{Micros(LongIdle)}_idle", Scenarios.Nanoseconds(samples[1]), "ns", SpinPingPong.Id, baseline),
                    new(Name, $"ns_per_call_after_{Micros(ShortIdle)}_idle_spin0", Scenarios.Nanoseconds(samples[2]), "ns", SpinPingPong.Id, baseline),
                ];
            }, new MachineOptions { Cores = 2, SpinBeforePark = TimeSpan.Zero }));

    private static string Micros(TimeSpan span) => $"{span.TotalMicroseconds:0}us";

    private static async Task<(CoreId Client, Endpoint Server)> Prepare(Machine machine)
    {
        var client = machine.Cores[0];
        return (client, await machine.Execute(client, k => k.Spawn(NullServer.Image, machine.Cores[1]), Scenarios.Deadline));
    }

    // Runs on the client's core. The idle stretch is a busy wait on this core, so the client's own
    // core never parks and only the server's idleness is in the figure; only the calls are timed.
    private static async Task<TimeSpan> CallsAfterIdle(CoreKernel kernel, Endpoint server, long count, TimeSpan idle)
    {
        var idleTicks = (long)(idle.TotalSeconds * Stopwatch.Frequency);
        var timed = 0L;
        for (var i = 0L; i < count; i++)
        {
            var until = Stopwatch.GetTimestamp() + idleTicks;
            while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(1);
            var start = Stopwatch.GetTimestamp();
            await kernel.Call(server, null);
            timed += Stopwatch.GetTimestamp() - start;
        }
        return Stopwatch.GetElapsedTime(0, timed);
    }
}
