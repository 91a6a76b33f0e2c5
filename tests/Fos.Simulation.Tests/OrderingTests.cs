using Fos.Kernel;

namespace Fos.Simulation.Tests;

public class OrderingTests
{
    private const int Messages = 300;

    /// <summary>The client sends 0, 1, 2, ... one way, sometimes back to back, sometimes a tick apart.</summary>
    private static Task<bool> SendInOrder(SimulatedSystem system, CoreId client, Endpoint to) =>
        system.Execute(client, async k =>
        {
            for (var i = 0; i < Messages; i++)
            {
                k.Send(to, i);
                if (k.NextRandom(3) == 0) await k.Delay(TimeSpan.FromTicks(1)); // 100 ns, less than the jitter and delays
            }
            return true;
        });

    [Fact]
    public async Task Messages_from_one_sender_arrive_in_send_order_under_jitter_and_delays()
    {
        await using var system = Sim.Create(
            cores: 16,
            latency: new LatencyModel { Jitter = 0.5 },
            faults: new FaultPlan { DelayRate = 0.5, MaxExtraDelay = TimeSpan.FromMicroseconds(20) });
        var received = new List<int>();
        var inbox = await system.Recorder(Sim.Core(15), received);

        await SendInOrder(system, Sim.Core(0), inbox);
        system.RunUntil(() => received.Count == Messages, system.NowNanoseconds + 1_000_000_000);

        Assert.True(system.Delayed > Messages / 4, $"only {system.Delayed} messages were delayed");
        Assert.Equal(Enumerable.Range(0, Messages), received);
    }

    [Fact]
    public async Task Each_sender_keeps_its_own_order_when_two_send_to_one_receiver()
    {
        await using var system = Sim.Create(
            cores: 16,
            latency: new LatencyModel { Jitter = 0.5 },
            faults: new FaultPlan { DelayRate = 0.5, MaxExtraDelay = TimeSpan.FromMicroseconds(20) });
        var received = new List<(ushort Core, int Index)>();
        var inbox = await system.Execute(Sim.Core(5), k => Task.FromResult(k.CreateMailbox(message =>
        {
            received.Add((message.From.Core, (int)message.Body!));
            return ValueTask.FromResult<object?>(null);
        })));

        // Both senders send from timers, so they run side by side in virtual time once the programs return.
        await system.Execute(Sim.Core(4), k => Task.FromResult(SendFromTimers(k, inbox)));
        await system.Execute(Sim.Core(15), k => Task.FromResult(SendFromTimers(k, inbox)));
        system.RunUntil(() => received.Count == 2 * Messages, system.NowNanoseconds + 1_000_000_000);

        Assert.Equal(2 * Messages, received.Count);
        Assert.Equal(Enumerable.Range(0, Messages), received.Where(r => r.Core == 4).Select(r => r.Index));
        Assert.Equal(Enumerable.Range(0, Messages), received.Where(r => r.Core == 15).Select(r => r.Index));
        Assert.NotEqual(received.OrderBy(r => r.Core).ToList(), received); // they did interleave

        static bool SendFromTimers(IKernel k, Endpoint to)
        {
            for (var i = 0; i < Messages; i++)
            {
                var index = i;
                k.StartTimer(TimeSpan.FromTicks(i), () => k.Send(to, index));
            }
            return true;
        }
    }

    [Fact]
    public async Task A_duplicated_message_arrives_right_after_itself()
    {
        await using var system = Sim.Create(
            cores: 16,
            latency: new LatencyModel { Jitter = 0.5 },
            faults: new FaultPlan { DuplicateRate = 1.0 });
        var received = new List<int>();
        var inbox = await system.Recorder(Sim.Core(15), received);

        await SendInOrder(system, Sim.Core(0), inbox);
        system.RunUntil(() => received.Count == 2 * Messages, system.NowNanoseconds + 1_000_000_000);

        Assert.Equal(Messages, system.Duplicated);
        Assert.Equal(Enumerable.Range(0, Messages).SelectMany(i => new[] { i, i }), received);
    }
}
