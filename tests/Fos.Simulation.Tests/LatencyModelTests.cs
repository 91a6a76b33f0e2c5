using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Simulation.Tests;

public class LatencyModelTests
{
    private static readonly LatencyModel Steady = new() { Jitter = 0 };

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(0, 1, 1)]
    [InlineData(0, 4, 1)]
    [InlineData(0, 5, 2)]
    [InlineData(5, 10, 2)]
    [InlineData(3, 12, 6)]
    [InlineData(0, 15, 6)]
    [InlineData(15, 0, 6)]
    public void Hops_count_the_steps_across_a_4_wide_mesh(int from, int to, int hops) =>
        Assert.Equal(hops, new LatencyModel().Hops((ushort)from, (ushort)to));

    [Fact]
    public void The_mesh_width_decides_where_a_core_sits()
    {
        var wide = new LatencyModel { MeshWidth = 8 };

        Assert.Equal(8, wide.Hops(0, 15)); // column 0 row 0 to column 7 row 1
        Assert.Equal(1, wide.Hops(0, 8));
        Assert.Equal(4, new LatencyModel { MeshWidth = 1 }.Hops(0, 4)); // a line of cores
    }

    [Fact]
    public void Same_core_is_cheaper_than_a_neighbour_which_is_cheaper_than_the_far_corner()
    {
        var random = new SimRandom(1);

        Assert.Equal(20, Steady.Cost(Sim.Core(0), Sim.Core(0), random));
        Assert.Equal(60 + 8, Steady.Cost(Sim.Core(0), Sim.Core(1), random));
        Assert.Equal(60 + 8 * 6, Steady.Cost(Sim.Core(0), Sim.Core(15), random));
    }

    [Fact]
    public void Another_machine_costs_the_network_figure_whatever_the_cores()
    {
        var random = new SimRandom(1);
        var model = Steady with { NetworkNanoseconds = 12_345 };

        Assert.Equal(12_345, model.Cost(Sim.Core(0, machine: 1), Sim.Core(0, machine: 2), random));
        Assert.Equal(12_345, model.Cost(Sim.Core(15, machine: 1), Sim.Core(3, machine: 3), random));
    }

    [Fact]
    public void Jitter_adds_at_most_its_fraction_of_the_cost()
    {
        var model = new LatencyModel { Jitter = 0.25 };
        var random = new SimRandom(3);

        var costs = Enumerable.Range(0, 2000).Select(_ => model.Cost(Sim.Core(0), Sim.Core(1), random)).ToList();

        Assert.All(costs, cost => Assert.InRange(cost, 68, 68 + 17)); // 25% of 68 is 17
        Assert.Equal(68, costs.Min());
        Assert.Equal(85, costs.Max());
    }

    [Fact]
    public void A_message_to_the_same_core_has_no_jitter()
    {
        var model = new LatencyModel { Jitter = 0.5 };
        var random = new SimRandom(3);

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(20, model.Cost(Sim.Core(2), Sim.Core(2), random)));
    }

    [Theory]
    [InlineData(1, 0, 1, 2 * 20)]
    [InlineData(1, 1, 1, 2 * 68)]
    [InlineData(1, 15, 1, 2 * 108)]
    [InlineData(1, 0, 2, 2 * 50_000)]
    public async Task A_round_trip_in_the_simulator_costs_what_the_model_says(int fromMachine, int toCore, int toMachine, long nanoseconds)
    {
        await using var system = Sim.Create(cores: 16, machines: 2, latency: Steady);
        var echo = await system.StartOn(Sim.Core(toCore, toMachine), EchoServer.Image);

        var took = await system.Execute(Sim.Core(0, fromMachine), async k =>
        {
            var start = system.NowNanoseconds;
            Assert.Equal("ping", await k.Call(echo, "ping"));
            return system.NowNanoseconds - start;
        });

        Assert.Equal(nanoseconds, took);
    }

    [Fact]
    public async Task Jitter_changes_the_round_trip_but_the_seed_fixes_it()
    {
        async Task<long[]> RoundTrips(ulong seed)
        {
            await using var system = Sim.Create(cores: 16, seed: seed, latency: new LatencyModel { Jitter = 0.5 });
            var echo = await system.StartOn(Sim.Core(15), EchoServer.Image);
            return await system.Execute(Sim.Core(0), async k =>
            {
                var took = new long[50];
                for (var i = 0; i < took.Length; i++)
                {
                    var start = system.NowNanoseconds;
                    await k.Call(echo, i);
                    took[i] = system.NowNanoseconds - start;
                }
                return took;
            });
        }

        var first = await RoundTrips(seed: 11);

        Assert.All(first, t => Assert.InRange(t, 2 * 108, 2 * (108 + 54)));
        Assert.True(first.Distinct().Count() > 1, "jitter never changed a round trip");
        Assert.Equal(first, await RoundTrips(seed: 11));
        Assert.NotEqual(first, await RoundTrips(seed: 12));
    }

    [Fact]
    public void The_simulator_prices_the_hops_the_kernel_orders_lookups_by()
    {
        for (ushort a = 0; a < 16; a++)
            for (ushort b = 0; b < 16; b++)
                Assert.Equal(Fos.Kernel.Naming.Nearness.Hops(a, b), Steady.Hops(a, b));
    }
}
