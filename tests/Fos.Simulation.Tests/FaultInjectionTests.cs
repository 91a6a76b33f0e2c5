using Fos.Kernel;
using Fos.Services.Basic;

namespace Fos.Simulation.Tests;

public class FaultInjectionTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task A_call_times_out_when_every_message_is_dropped_and_the_kernel_keeps_running()
    {
        await using var system = Sim.Create(faults: new FaultPlan { DropRate = 1.0 });
        var far = await system.StartOn(Sim.Core(1), EchoServer.Image);
        var near = await system.StartOn(Sim.Core(0), EchoServer.Image);
        var kernel = system.Kernel(Sim.Core(0));

        var (error, waited) = await system.Execute(Sim.Core(0), async k =>
        {
            var start = k.Now;
            var ex = await Assert.ThrowsAsync<FosException>(() => k.Call(far, "lost", Short).AsTask());
            return (ex, k.Now - start);
        });

        Assert.Equal(FosError.Timeout, error.Error);
        Assert.Equal($"no reply from {far.Address} within 1 ms (its server may be dead, overloaded or unreachable)", error.Message);
        Assert.Equal(Short, waited);
        Assert.Equal(1, system.Dropped);
        Assert.Equal(1, kernel.Stats.Timeouts);
        Assert.Equal(0, kernel.PendingCalls);

        // The same kernel goes on: a path that loses nothing (its own core) still answers.
        Assert.Equal("kept", await system.Execute(Sim.Core(0), k => k.Call(near, "kept", Short).AsTask()));
        Assert.Equal(1, system.Dropped);
        Assert.Equal(1, kernel.Stats.Timeouts);
    }

    [Fact]
    public async Task A_dropped_reply_also_makes_the_call_time_out()
    {
        // Drop about half: some call's request gets through and its reply is lost; the caller cannot tell which.
        await using var system = Sim.Create(seed: 3, faults: new FaultPlan { DropRate = 0.5 });
        var handled = new List<int>();
        var inbox = await system.Recorder(Sim.Core(1), handled);

        var outcomes = await system.Execute(Sim.Core(0), async k =>
        {
            var answered = new List<int>();
            for (var i = 0; i < 40; i++)
            {
                try
                {
                    answered.Add((int)(await k.Call(inbox, i, Short))!);
                }
                catch (FosException ex) when (ex.Error == FosError.Timeout)
                {
                }
            }
            return answered;
        });

        Assert.True(handled.Count > outcomes.Count, "no reply was lost on the way back");
        Assert.Equal(40 - outcomes.Count, system.Kernel(Sim.Core(0)).Stats.Timeouts);
        Assert.Equal((40 - handled.Count) + (handled.Count - outcomes.Count), system.Dropped);
        Assert.Subset(handled.ToHashSet(), outcomes.ToHashSet());
    }

    [Fact]
    public async Task A_one_way_message_is_seen_twice_when_every_message_is_duplicated()
    {
        await using var system = Sim.Create(faults: new FaultPlan { DuplicateRate = 1.0 });
        var received = new List<int>();
        var inbox = await system.Recorder(Sim.Core(2), received);

        await system.Execute(Sim.Core(0), k =>
        {
            for (var i = 0; i < 10; i++) k.Send(inbox, i);
            return Task.FromResult(true);
        });
        system.RunFor(Short);

        Assert.Equal(20, received.Count);
        Assert.Equal(10, system.Duplicated);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(i => new[] { i, i }), received);
    }

    [Fact]
    public async Task Duplicated_calls_are_answered_once_and_the_extra_replies_are_counted_late()
    {
        await using var system = Sim.Create(faults: new FaultPlan { DuplicateRate = 1.0 });
        var handled = new List<int>();
        var inbox = await system.Recorder(Sim.Core(1), handled);

        var answers = await system.Execute(Sim.Core(0), async k =>
        {
            var got = new List<object?>();
            for (var i = 0; i < 5; i++) got.Add(await k.Call(inbox, i, Short));
            return got;
        });
        system.RunFor(Short);

        var stats = system.Kernel(Sim.Core(0)).Stats;
        Assert.Equal([0, 1, 2, 3, 4], answers.Cast<int>());
        Assert.Equal(10, handled.Count); // each request twice
        // Two requests give two replies, each duplicated: one of the four completes the call, three are late.
        Assert.Equal(5, stats.RepliesReceived);
        Assert.Equal(15, stats.LateReplies);
        Assert.Equal(0, stats.Timeouts);
        Assert.Equal(15, system.Duplicated);
    }

    [Fact]
    public async Task Calls_to_a_crashed_server_fail_saying_it_stopped_or_died()
    {
        await using var system = Sim.Create();
        var echo = await system.StartOn(Sim.Core(1), EchoServer.Image);
        Assert.Equal(1, await system.Execute(Sim.Core(0), k => k.Call(echo, 1).AsTask()));

        system.CrashServer(echo.Address);

        var error = await Assert.ThrowsAsync<FosException>(() => system.Execute(Sim.Core(0), k => k.Call(echo, 2).AsTask()));
        Assert.Equal(FosError.NoSuchMailbox, error.Error);
        Assert.Equal($"no mailbox {echo.Address}: its server has stopped or died", error.Message);
        Assert.Empty(system.Kernel(Sim.Core(1)).Servers);
        // Its core lives on: a new server there answers.
        var again = await system.Execute(Sim.Core(0), k => k.Spawn(EchoServer.Image, Sim.Core(1)));
        Assert.Equal(3, await system.Execute(Sim.Core(0), k => k.Call(again, 3).AsTask()));
        Assert.NotEqual(echo.Address, again.Address);
    }

    [Fact]
    public async Task A_crash_scheduled_at_a_virtual_time_happens_then()
    {
        await using var system = Sim.Create();
        var echo = await system.StartOn(Sim.Core(1), EchoServer.Image);
        system.At(TimeSpan.FromMilliseconds(1), () => system.CrashServer(echo.Address));

        var (before, after) = await system.Execute(Sim.Core(0), async k =>
        {
            var first = await k.Call(echo, "before");
            await k.Delay(TimeSpan.FromMilliseconds(2));
            var second = await Assert.ThrowsAsync<FosException>(() => k.Call(echo, "after").AsTask());
            return (first, second.Error);
        });

        Assert.Equal("before", before);
        Assert.Equal(FosError.NoSuchMailbox, after);
    }

    [Fact]
    public async Task Calls_to_a_crashed_core_time_out_and_other_cores_keep_working()
    {
        await using var system = Sim.Create();
        var doomed = await system.StartOn(Sim.Core(1), EchoServer.Image);
        var healthy = await system.StartOn(Sim.Core(2), EchoServer.Image);

        system.CrashCore(Sim.Core(1));

        Assert.False(system.IsAlive(Sim.Core(1)));
        Assert.True(system.IsAlive(Sim.Core(2)));
        var error = await Assert.ThrowsAsync<FosException>(() => system.Execute(Sim.Core(0), k => k.Call(doomed, "lost", Short).AsTask()));
        Assert.Equal(FosError.Timeout, error.Error);
        Assert.Equal(1, system.LostToCrash);
        Assert.Equal("fine", await system.Execute(Sim.Core(0), k => k.Call(healthy, "fine", Short).AsTask()));

        await system.Execute(Sim.Core(0), k =>
        {
            k.Send(doomed, "one way");
            return Task.FromResult(true);
        });
        system.RunFor(Short);
        Assert.Equal(2, system.LostToCrash);
    }

    [Fact]
    public async Task A_program_on_a_crashed_core_never_runs()
    {
        await using var system = Sim.Create();
        system.CrashCore(Sim.Core(3));
        var ran = false;

        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            system.Execute(Sim.Core(3), k => { ran = true; return Task.FromResult(0); }, TimeSpan.FromSeconds(1)));

        Assert.False(ran);
        Assert.Contains("its core crashed", error.Message);
    }

    [Fact]
    public async Task A_crashed_machine_takes_all_its_cores_and_only_them()
    {
        await using var system = Sim.Create(cores: 2, machines: 2);
        var remote0 = await system.StartOn(Sim.Core(0, machine: 2), EchoServer.Image);
        var remote1 = await system.StartOn(Sim.Core(1, machine: 2), EchoServer.Image);
        var local = await system.StartOn(Sim.Core(1, machine: 1), EchoServer.Image);

        system.CrashMachine(2);

        Assert.Equal([true, true, false, false], system.Cores.Select(system.IsAlive));
        var errors = await system.Execute(Sim.Core(0), async k =>
        {
            var got = new List<FosError>();
            foreach (var remote in new[] { remote0, remote1 })
                got.Add((await Assert.ThrowsAsync<FosException>(() => k.Call(remote, "lost", Short).AsTask())).Error);
            return got;
        });
        Assert.Equal([FosError.Timeout, FosError.Timeout], errors);
        Assert.Equal(2, system.LostToCrash);
        Assert.Equal("here", await system.Execute(Sim.Core(0), k => k.Call(local, "here", Short).AsTask()));
    }

    [Fact]
    public async Task Crashes_are_recorded_in_the_trace_at_their_virtual_time()
    {
        await using var system = Sim.Create(keepLog: true);
        var echo = await system.StartOn(Sim.Core(1), EchoServer.Image);
        var before = system.TraceDigest;

        system.RunFor(TimeSpan.FromMilliseconds(2));
        system.CrashServer(echo.Address);
        system.CrashCore(Sim.Core(2));
        system.CrashCore(Sim.Core(2)); // already dead: nothing more happens

        Assert.Equal(["2000000 crash server m1.c1.b1", "2000000 crash core m1.c2"], system.Log);
        Assert.NotEqual(before, system.TraceDigest);
    }
}
