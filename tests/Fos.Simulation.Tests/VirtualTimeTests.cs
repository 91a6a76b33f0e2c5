using Fos.Kernel;

namespace Fos.Simulation.Tests;

public class VirtualTimeTests
{
    [Fact]
    public async Task A_delay_advances_virtual_time_by_exactly_its_length()
    {
        await using var system = Sim.Create();
        system.RunFor(TimeSpan.FromMicroseconds(3));
        var start = system.Now;

        var seen = await system.Execute(Sim.Core(1), async k =>
        {
            var before = k.Now;
            await k.Delay(TimeSpan.FromMilliseconds(1));
            return k.Now - before;
        });

        Assert.Equal(TimeSpan.FromMilliseconds(1), seen);
        Assert.Equal(start + TimeSpan.FromMilliseconds(1), system.Now);
        Assert.Equal(system.NowNanoseconds, (long)system.Now.TotalNanoseconds);
    }

    [Fact]
    public async Task A_system_starts_at_time_zero_and_an_instant_program_takes_no_time()
    {
        await using var system = Sim.Create();

        var now = await system.Execute(Sim.Core(0), k => Task.FromResult(k.Now));

        Assert.Equal(TimeSpan.Zero, now);
        Assert.Equal(0, system.NowNanoseconds);
    }

    [Fact]
    public async Task Timers_fire_in_order_of_their_due_time_and_a_cancelled_one_never_fires()
    {
        await using var system = Sim.Create();
        var fired = new List<(string Name, TimeSpan At)>();

        await system.Execute(Sim.Core(2), k =>
        {
            k.StartTimer(TimeSpan.FromMilliseconds(3), () => fired.Add(("three", k.Now)));
            k.StartTimer(TimeSpan.FromMilliseconds(1), () => fired.Add(("one", k.Now)));
            k.StartTimer(TimeSpan.FromMilliseconds(2), () => fired.Add(("two", k.Now))).Cancel();
            k.StartTimer(TimeSpan.FromMilliseconds(1), () => fired.Add(("one again", k.Now)));
            k.StartTimer(TimeSpan.Zero, () => fired.Add(("now", k.Now)));
            return Task.FromResult(true);
        });
        Assert.Empty(fired); // nothing fires before the program has returned, not even a zero delay
        system.RunFor(TimeSpan.FromMilliseconds(10));

        Assert.Equal(
            [("now", TimeSpan.Zero), ("one", TimeSpan.FromMilliseconds(1)), ("one again", TimeSpan.FromMilliseconds(1)), ("three", TimeSpan.FromMilliseconds(3))],
            fired);
    }

    [Fact]
    public async Task RunFor_advances_time_and_runs_only_what_falls_due_within_it()
    {
        await using var system = Sim.Create();
        var fired = new List<TimeSpan>();
        await system.Execute(Sim.Core(0), k =>
        {
            k.StartTimer(TimeSpan.FromMilliseconds(2), () => fired.Add(k.Now));
            k.StartTimer(TimeSpan.FromMilliseconds(5), () => fired.Add(k.Now));
            return Task.FromResult(true);
        });

        system.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(1), system.Now);
        Assert.Empty(fired);

        system.RunFor(TimeSpan.FromMilliseconds(3));
        Assert.Equal(TimeSpan.FromMilliseconds(4), system.Now);
        Assert.Equal([TimeSpan.FromMilliseconds(2)], fired);

        system.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(5), system.Now);
        Assert.Equal([TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(5)], fired);
    }

    [Fact]
    public async Task A_program_that_never_finishes_times_out_at_its_virtual_deadline()
    {
        await using var system = Sim.Create();
        system.RunFor(TimeSpan.FromSeconds(1));
        var never = new TaskCompletionSource<int>();

        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            system.Execute(Sim.Core(1), _ => never.Task, TimeSpan.FromSeconds(2)));

        Assert.Equal("the program on m1.c1 did not finish by virtual time 00:00:03 (no more events could make progress)", error.Message);
        Assert.Equal(TimeSpan.FromSeconds(3), system.Now);
    }

    [Fact]
    public async Task A_program_waiting_past_its_deadline_times_out_without_running_the_later_events()
    {
        await using var system = Sim.Create();
        var woke = false;

        var error = await Assert.ThrowsAsync<TimeoutException>(() => system.Execute(Sim.Core(1), async k =>
        {
            await k.Delay(TimeSpan.FromHours(1));
            woke = true;
            return 0;
        }, TimeSpan.FromSeconds(1)));

        Assert.Contains("did not finish by virtual time 00:00:01", error.Message);
        Assert.False(woke);
    }

    [Fact]
    public async Task A_program_that_throws_hands_its_exception_to_the_caller()
    {
        await using var system = Sim.Create();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            system.Execute<int>(Sim.Core(0), async k =>
            {
                await k.Delay(TimeSpan.FromMicroseconds(1));
                throw new InvalidOperationException("broken program");
            }));

        Assert.Equal("broken program", error.Message);
        Assert.Empty(system.Faults); // the caller got it; it did not escape on the core
    }

    [Fact]
    public async Task An_exception_escaping_a_timer_is_recorded_and_the_core_goes_on()
    {
        await using var system = Sim.Create();
        await system.Execute(Sim.Core(2), k =>
        {
            k.StartTimer(TimeSpan.FromMilliseconds(1), () => throw new InvalidOperationException("timer broke"));
            return Task.FromResult(true);
        });

        system.RunFor(TimeSpan.FromMilliseconds(2));

        Assert.Equal(["m1.c2 at 1000000 ns: InvalidOperationException: timer broke"], system.Faults);
        Assert.Equal(1, system.Kernel(Sim.Core(2)).Stats.HandlerFailures);
        Assert.Equal(7, await system.Execute(Sim.Core(2), k => Task.FromResult(7)));
    }

    [Fact]
    public async Task A_continuation_from_another_thread_is_reported_as_a_fault_and_not_run()
    {
        await using var system = Sim.Create();
        var outside = new TaskCompletionSource<int>(); // made by no kernel
        var resumed = false;

        var error = await Assert.ThrowsAsync<TimeoutException>(() => system.Execute(Sim.Core(1), async k =>
        {
            var value = await outside.Task;
            resumed = true;
            return value;
        }, TimeSpan.FromSeconds(1)));
        Assert.Contains("no more events could make progress", error.Message);

        // Completing it on a thread of its own posts the program's continuation from there, synchronously.
        var other = new Thread(() => outside.SetResult(5));
        other.Start();
        other.Join();
        system.RunFor(TimeSpan.FromSeconds(1));

        Assert.False(resumed);
        lock (system.Faults)
            Assert.Equal(["m1.c1: a continuation arrived from another thread (server code awaited something that is not the kernel's)"], system.Faults);
    }

    [Fact]
    public async Task A_continuation_posted_outside_the_simulators_loop_is_reported_even_from_the_owner_thread()
    {
        // What a program awaiting Task.Run meets when the pool runs the work item on the thread that owns
        // the system (a test runner's pool thread), after Execute has returned: the simulator must not
        // take the continuation as its own, or whether it runs depends on the host's thread scheduling.
        await using var system = Sim.Create();
        var outside = new TaskCompletionSource<int>();
        var resumed = false;
        await Assert.ThrowsAsync<TimeoutException>(() => system.Execute(Sim.Core(1), async k =>
        {
            var value = await outside.Task;
            resumed = true;
            return value;
        }, TimeSpan.FromSeconds(1)));

        outside.SetResult(5); // on the owner thread, while no simulated core is running
        system.RunFor(TimeSpan.FromSeconds(1));

        Assert.False(resumed);
        var fault = Assert.Single(system.Faults);
        Assert.StartsWith("m1.c1: a continuation arrived", fault);
    }
}
