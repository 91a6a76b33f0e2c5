using Fos.Kernel;

namespace Fos.Simulation.Tests;

/// <summary>Small helpers to build simulated systems and put mailboxes on their cores.</summary>
internal static class Sim
{
    public static SimulatedSystem Create(
        int cores = 4, int machines = 1, ulong seed = 7, LatencyModel? latency = null, FaultPlan? faults = null, bool keepLog = false) =>
        new(new SimOptions
        {
            Seed = seed,
            Machines = machines,
            CoresPerMachine = cores,
            Latency = latency ?? new LatencyModel(),
            Faults = faults ?? FaultPlan.None,
            KeepLog = keepLog,
        });

    public static CoreId Core(int core, int machine = 1) => new((ushort)machine, (ushort)core);

    /// <summary>Starts a server of <paramref name="image"/> on <paramref name="core"/> without sending any message.</summary>
    public static Task<Endpoint> StartOn(this SimulatedSystem system, CoreId core, ServerImage image) =>
        system.Execute(core, k => Task.FromResult(k.StartServer(image)));

    /// <summary>Opens a mailbox on <paramref name="core"/> that records every body it gets and answers calls with it.</summary>
    public static Task<Endpoint> Recorder<T>(this SimulatedSystem system, CoreId core, List<T> received) =>
        system.Execute(core, k => Task.FromResult(k.CreateMailbox(message =>
        {
            received.Add((T)message.Body!);
            return ValueTask.FromResult(message.Body);
        })));
}
