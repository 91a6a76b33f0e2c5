using System.Diagnostics;
using Fos.Bench.Baselines;
using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Bench;

/// <summary>
/// nullcall: the fos "null system call", a call from core 0 to a server on core 1 that does nothing
/// and answers at once, in nanoseconds per call, against the Linux null system call and against a
/// raw cross-core round trip of two pinned threads, and against the same round trip of an envelope
/// over the machine's rings with no kernel (the transport's share); and the same call made from an application
/// process (its own Linux process, on core 0's CPU) against the call between the machine's cores.
/// </summary>
internal static class NullCallScenario
{
    public const string Name = "nullcall";
    public const string Metric = "ns_per_call";

    public static Task<IReadOnlyList<BenchResult>> Run(BenchSettings settings, Action<string>? progress) =>
        Scenarios.OnMachine<IReadOnlyList<BenchResult>>(progress, async machine =>
        {
            var client = machine.Cores[0];
            var nullServer = await machine.Execute(client, k => k.Spawn(NullServer.Image, machine.Cores[1]), Scenarios.Deadline);
            var (caller, control) = await ProcessScenarios.StartCaller(machine, client, nullServer);

            var samples = await Interleaved.Measure(
            [
                new("fos null call", count => machine.Execute(client, k => CallLoop(k, nullServer, count), Scenarios.Deadline)),
                new("fos null call from a process", count => ProcessScenarios.FromProcess(machine, control, count)),
                new(LinuxNullSyscall.Id, LinuxNullSyscall.Measure),
                new(SpinPingPong.Id, SpinPingPong.Measure),
                new(RingPingPong.Id, RingPingPong.Measure),
            ], settings, progress);
            caller.Kill();
            await caller.Ended;
            var allocated = await BytesPerCall(machine, client, machine.Cores[1], nullServer, settings.Quick ? 20_000 : 200_000);

            var fos = Scenarios.Nanoseconds(samples[0]);
            return
            [
                new(Name, Metric, fos, "ns", LinuxNullSyscall.Id, Scenarios.Nanoseconds(samples[2])),
                new(Name, Metric, fos, "ns", SpinPingPong.Id, Scenarios.Nanoseconds(samples[3])),
                new(Name, Metric, fos, "ns", RingPingPong.Id, Scenarios.Nanoseconds(samples[4])),
                new(Name, "ns_per_call_from_process", Scenarios.Nanoseconds(samples[1]), "ns", ProcessScenarios.FosNullCall, fos),
                new(Name, "bytes_per_call", allocated, "B", BenchResult.Absolute, 0),
            ];
        });

    /// <summary>
    /// Bytes the caller's and the server's cores allocate per call in steady state, read with each
    /// core thread's own allocation counter: the bytes of 2n calls less those of n, over n, so what a
    /// measurement costs once (the work handed to the cores, the loop's first await) cancels out.
    /// </summary>
    private static async Task<double> BytesPerCall(Runtime.Machine machine, CoreId caller, CoreId server, Endpoint target, long calls)
    {
        await machine.Execute(caller, k => CallLoop(k, target, calls), Scenarios.Deadline); // warm: the first calls build what later ones reuse
        var once = await Allocated(machine, caller, server, target, calls);
        var twice = await Allocated(machine, caller, server, target, 2 * calls);
        return Math.Max(0, twice - once) / calls;
    }

    private static async Task<double> Allocated(Runtime.Machine machine, CoreId caller, CoreId server, Endpoint target, long calls)
    {
        static Task<long> Counter(Runtime.Machine machine, CoreId core) =>
            machine.Execute(core, _ => Task.FromResult(GC.GetAllocatedBytesForCurrentThread()), Scenarios.Deadline);

        var serverBefore = await Counter(machine, server);
        var callerBytes = await machine.Execute(caller, async k =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            await CallLoop(k, target, calls);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }, Scenarios.Deadline);
        return callerBytes + await Counter(machine, server) - serverBefore;
    }

    // Runs on core 0: the timed loop is the program, so nothing outside the core is in the figure.
    internal static async Task<TimeSpan> CallLoop(CoreKernel kernel, Endpoint target, long count)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0L; i < count; i++) await kernel.Call(target, null);
        return Stopwatch.GetElapsedTime(start);
    }
}
