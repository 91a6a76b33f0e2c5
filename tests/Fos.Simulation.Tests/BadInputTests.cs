using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Simulation.Tests;

public class BadInputTests
{
    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 0)]
    [InlineData(-1, 4)]
    [InlineData(1, -3)]
    [InlineData(65536, 1)]
    [InlineData(1, 65536)]
    public void A_system_needs_between_1_and_65535_machines_and_cores(int machines, int cores)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Sim.Create(cores: cores, machines: machines));

        Assert.Equal("options", error.ParamName);
        Assert.Contains(machines is < 1 or > 65535 ? "machines must be between 1 and 65535" : "cores per machine must be between 1 and 65535", error.Message);
    }

    [Fact]
    public async Task A_system_has_every_core_of_every_machine_in_order()
    {
        await using var system = Sim.Create(cores: 3, machines: 2);

        Assert.Equal("simulated", system.Kind);
        Assert.Equal(["m1.c0", "m1.c1", "m1.c2", "m2.c0", "m2.c1", "m2.c2"], system.Cores.Select(c => c.ToString()));
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(0, 0)]
    [InlineData(2, 0)]
    public async Task Running_a_program_on_a_core_that_does_not_exist_is_refused(int machine, int core)
    {
        await using var system = Sim.Create(cores: 4);
        var ran = false;

        var error = await Assert.ThrowsAsync<FosException>(() =>
            system.Execute(new CoreId((ushort)machine, (ushort)core), k => { ran = true; return Task.FromResult(0); }));

        Assert.Equal(FosError.NoSuchCore, error.Error);
        Assert.Equal($"m{machine}.c{core} is not a core of this simulated system (1 machines × 4 cores)", error.Message);
        Assert.False(ran);
    }

    [Fact]
    public async Task Crashing_a_core_that_does_not_exist_is_refused()
    {
        await using var system = Sim.Create(cores: 4);

        var error = Assert.Throws<FosException>(() => system.CrashCore(Sim.Core(9)));

        Assert.Equal(FosError.NoSuchCore, error.Error);
    }

    [Fact]
    public async Task Messages_to_a_core_that_does_not_exist_are_refused_at_the_sender()
    {
        await using var system = Sim.Create(cores: 4);
        var nowhere = new Endpoint(new Address(1, 9, 1), new Capability(1, 2));

        var (send, call, spawn) = await system.Execute(Sim.Core(0), async k =>
        {
            var s = Assert.Throws<FosException>(() => k.Send(nowhere, "x"));
            var c = await Assert.ThrowsAsync<FosException>(() => k.Call(nowhere, "x").AsTask());
            var p = await Assert.ThrowsAsync<FosException>(() => k.Spawn(EchoServer.Image, Sim.Core(9)));
            return (s, c, p);
        });

        Assert.Equal(FosError.NoSuchCore, send.Error);
        Assert.Equal(FosError.NoSuchCore, call.Error);
        Assert.Equal(FosError.NoSuchCore, spawn.Error);
        Assert.Equal("cannot call m1.c9.b1: core m1.c9 is not part of this system", call.Message);
        Assert.Equal(0, system.Kernel(Sim.Core(0)).PendingCalls);
    }
}
