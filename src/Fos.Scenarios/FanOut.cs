using Fos.Services;
using Fos.Simulation;
using Fos.Kernel;

namespace Fos.Scenarios;

/// <summary>A fleet with a member on every other core; one client calls all members at once, round after round.</summary>
public static class FanOut
{
    public const string FleetName = "/app/fanout";
    public const int Rounds = 20;

    public static readonly SimScenario Scenario = new(
        "fanout",
        $"a client on m1.c0 calls all 15 members of {FleetName} in parallel, {Rounds} rounds, on a 4x4 mesh",
        seed => new SimOptions { Seed = seed, CoresPerMachine = 16 },
        Run);

    private static async Task<string> Run(SimulatedSystem system)
    {
        await SystemBoot.StartNaming(system);
        var client = system.Cores[0];
        foreach (var core in system.Cores.Skip(1))
            await system.Execute(core, k => k.Register(FleetName, k.StartServer(Worker.Image)));
        var total = await system.Execute(client, async k =>
        {
            var members = (await k.LookupAll(FleetName)).Members;
            long sum = 0;
            for (var round = 1; round <= Rounds; round++)
            {
                var replies = await Task.WhenAll(members.Select(m => k.Call<long>(m, (long)round).AsTask()));
                sum += replies.Sum();
            }
            return (members.Length, sum);
        });
        // Each worker answers round × (its core number): the sum checks that every member answered every round.
        var expected = Enumerable.Range(1, Rounds).Sum() * system.Cores.Skip(1).Sum(c => (long)c.Core);
        if (total.sum != expected) throw new InvalidOperationException($"fanout: sum {total.sum}, expected {expected}");
        return $"fanout: {total.Length} members x {Rounds} rounds answered, checksum {total.sum}, {system.Now.TotalMicroseconds:0} µs virtual";
    }

    /// <summary>Answers a round number with round × its core number.</summary>
    private sealed class Worker : Server
    {
        public static readonly ServerImage Image = new("fanout-worker", () => new Worker());

        protected override ValueTask<object?> Handle(Message message) =>
            ValueTask.FromResult<object?>(message.Body is long round
                ? round * Kernel.Core.Core
                : throw new FosException(FosError.BadRequest, "a fanout worker takes a round number"));
    }
}
