using Fos.Services;
using Fos.Simulation;
using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Scenarios;

/// <summary>
/// A client keeps calling an echo fleet while the network drops, duplicates and delays messages,
/// one member crashes and then a whole core dies. The client retries on another member and
/// unregisters a member that keeps failing (what the watchdog will do for it), so every call is
/// answered in the end. The seed fixes which messages are hit and so the whole run.
/// </summary>
public static class FaultyFleet
{
    public const string FleetName = "/app/echo";
    public const int Calls = 400;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromMicroseconds(200);

    public static readonly SimScenario Scenario = new(
        "faults",
        $"{Calls} calls to a 6-member echo fleet with 2% drops, 2% duplicates, 5% delays; a member crashes at 2 ms, a core at 4 ms",
        seed => new SimOptions
        {
            Seed = seed,
            CoresPerMachine = 8,
            Faults = new FaultPlan { DropRate = 0.02, DuplicateRate = 0.02, DelayRate = 0.05, MaxExtraDelay = TimeSpan.FromMicroseconds(50) },
        },
        Run);

    private static async Task<string> Run(SimulatedSystem system)
    {
        await SystemBoot.StartNaming(system);
        var client = system.Cores[0];
        var members = new List<Endpoint>();
        foreach (var core in system.Cores.Skip(1).Take(6))
            members.Add(await system.Execute(core, async k =>
            {
                var echo = k.StartServer(EchoServer.Image);
                await Retry(k, () => k.Register(FleetName, echo));
                return echo;
            }));
        system.At(TimeSpan.FromMilliseconds(2), () => system.CrashServer(members[1].Address));
        system.At(TimeSpan.FromMilliseconds(4), () => system.CrashCore(members[2].Address.CoreId));

        var report = await system.Execute(client, async k =>
        {
            int answered = 0, retries = 0, unregistered = 0;
            var strikes = new Dictionary<Address, int>();
            for (var i = 0; i < Calls; i++)
            {
                while (true)
                {
                    var fleet = (await Retry(k, () => k.LookupAll(FleetName).AsTask())).Members;
                    var member = fleet[(i + retries) % fleet.Length];
                    try
                    {
                        if (await k.Call(member, i, CallTimeout) is int back && back == i)
                        {
                            answered++;
                            strikes.Remove(member.Address);
                            break;
                        }
                    }
                    catch (FosException ex) when (ex.Error is FosError.Timeout or FosError.NoSuchMailbox)
                    {
                        retries++;
                        var count = strikes[member.Address] = strikes.GetValueOrDefault(member.Address) + 1;
                        if (ex.Error == FosError.NoSuchMailbox || count >= 3)
                        {
                            // Dead for sure, or silent three times running: take it out of the fleet.
                            try
                            {
                                await Retry(k, () => k.Unregister(FleetName, member));
                                unregistered++;
                            }
                            catch (FosException gone) when (gone.Error == FosError.NoSuchName)
                            {
                                // someone (a duplicated request) already took it out
                            }
                        }
                    }
                }
                // Pace the calls so the faults land in the middle of the run.
                await k.Delay(TimeSpan.FromMicroseconds(20));
            }
            return (answered, retries, unregistered, left: (await Retry(k, () => k.LookupAll(FleetName).AsTask())).Members.Length);
        });
        if (report.answered != Calls) throw new InvalidOperationException($"faults: only {report.answered} of {Calls} calls answered");
        return $"faults: {report.answered}/{Calls} calls answered after {report.retries} retries; {report.unregistered} members taken out, {report.left} left; " +
               $"dropped {system.Dropped}, duplicated {system.Duplicated}, delayed {system.Delayed}, lost to crashes {system.LostToCrash}";
    }

    /// <summary>Retries a call to the name server that the faulty network may lose.</summary>
    private static async Task<T> Retry<T>(IKernel kernel, Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (FosException ex) when (ex.Error == FosError.Timeout && attempt < 20)
            {
                await kernel.Delay(TimeSpan.FromMicroseconds(10 * attempt));
            }
        }
    }
}
