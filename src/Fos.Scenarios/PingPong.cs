using Fos.Services;
using Fos.Simulation;
using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Scenarios;

/// <summary>One client calls an echo server on the far corner of the mesh, over and over.</summary>
public static class PingPong
{
    public const int Rounds = 1000;

    public static readonly SimScenario Scenario = new(
        "pingpong",
        $"{Rounds} calls from m1.c0 to an echo server on the far corner of a 4x4 mesh",
        seed => new SimOptions { Seed = seed, CoresPerMachine = 16 },
        Run);

    private static async Task<string> Run(SimulatedSystem system)
    {
        await SystemBoot.StartNaming(system);
        var client = system.Cores[0];
        var far = system.Cores[^1];
        var echo = await system.Execute(client, k => k.Spawn(EchoServer.Image, far));
        var started = system.Now;
        var ok = await system.Execute(client, async k =>
        {
            var good = 0;
            for (var i = 0; i < Rounds; i++)
                if (await k.Call(echo, i) is int back && back == i) good++;
            return good;
        });
        if (ok != Rounds) throw new InvalidOperationException($"pingpong: only {ok} of {Rounds} echoes came back right");
        var perCall = (system.Now - started).TotalNanoseconds / Rounds;
        return $"pingpong: {Rounds} round trips {client} <-> {far}, {perCall:0} ns each (virtual)";
    }
}
