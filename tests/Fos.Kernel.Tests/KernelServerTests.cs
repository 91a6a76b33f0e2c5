namespace Fos.Kernel.Tests;

public class KernelServerTests
{
    private readonly ManualNetwork network = new();
    private readonly CoreKernel first;
    private readonly CoreKernel second;

    public KernelServerTests()
    {
        first = network.AddCore(1, 0);
        second = network.AddCore(1, 1);
    }

    private sealed class Counter : Server
    {
        public static int Started;
        public static int Stopped;
        private int count;

        protected override Task OnStart()
        {
            Started++;
            return Task.CompletedTask;
        }

        protected override ValueTask<object?> Handle(Message message) => ValueTask.FromResult<object?>(++count);

        protected override void OnStop() => Stopped++;
    }

    private sealed class Slow : Server
    {
        public static readonly TaskCompletionSource<object?> Gate = new();

        protected override async ValueTask<object?> Handle(Message message) => await Gate.Task;
    }

    private sealed class FailsToStart : Server
    {
        protected override Task OnStart() => throw new InvalidOperationException("cannot start");

        protected override ValueTask<object?> Handle(Message message) => default;
    }

    [Fact]
    public async Task Spawn_on_another_core_starts_the_server_there_and_returns_its_mailbox()
    {
        var spawn = first.Spawn(new ServerImage("counter", () => new Counter()), second.Core);
        network.Pump();
        var endpoint = await spawn;
        Assert.Equal(second.Core, endpoint.Address.CoreId);
        var info = Assert.Single(second.Servers);
        Assert.Equal("counter", info.Name);
        Assert.Empty(first.Servers);

        var one = first.Call(endpoint, null).AsTask();
        var two = first.Call(endpoint, null).AsTask();
        network.Pump();
        Assert.Equal(1, await one);
        Assert.Equal(2, await two);
        Assert.Equal(2, second.Servers[0].MessagesHandled);
    }

    [Fact]
    public async Task Spawn_on_a_core_that_does_not_exist_says_so()
    {
        var error = await Assert.ThrowsAsync<FosException>(() => first.Spawn(new ServerImage("x", () => new Counter()), new CoreId(1, 9)));
        Assert.Equal(FosError.NoSuchCore, error.Error);
        Assert.Contains("m1.c9", error.Message);
    }

    [Fact]
    public async Task A_stopped_server_refuses_new_calls_and_fails_the_one_it_was_handling()
    {
        var endpoint = second.StartServer(new ServerImage("slow", () => new Slow()));
        var inFlight = first.Call(endpoint, null).AsTask();
        network.Pump();
        var stop = first.Stop(endpoint);
        network.Pump();
        await stop;
        Assert.Empty(second.Servers);

        Slow.Gate.TrySetResult("finished anyway");
        network.Pump();
        var stopped = await Assert.ThrowsAsync<FosException>(() => inFlight);
        Assert.Equal(FosError.NoSuchMailbox, stopped.Error);
        Assert.Contains("stopped before it answered", stopped.Message);

        var after = first.Call(endpoint, null).AsTask();
        network.Pump();
        var gone = await Assert.ThrowsAsync<FosException>(() => after);
        Assert.Equal(FosError.NoSuchMailbox, gone.Error);
    }

    [Fact]
    public void A_server_runs_OnStart_when_started_and_OnStop_when_stopped()
    {
        var startedBefore = Counter.Started;
        var stoppedBefore = Counter.Stopped;
        var endpoint = second.StartServer(new ServerImage("counter", () => new Counter()));
        Assert.Equal(startedBefore + 1, Counter.Started);
        second.StopServer(endpoint.Address);
        Assert.Equal(stoppedBefore + 1, Counter.Stopped);
        Assert.Throws<FosException>(() => second.StopServer(endpoint.Address));
    }

    [Fact]
    public void A_server_whose_start_fails_is_stopped_and_counted()
    {
        second.StartServer(new ServerImage("broken", () => new FailsToStart()));
        Assert.Empty(second.Servers);
        Assert.Equal(1, second.Stats.HandlerFailures);
    }

    [Fact]
    public void Timers_fire_at_their_time_in_order_and_a_cancelled_one_never_fires()
    {
        var fired = new List<string>();
        first.StartTimer(TimeSpan.FromMilliseconds(3), () => fired.Add("c"));
        first.StartTimer(TimeSpan.FromMilliseconds(1), () => fired.Add("a"));
        var cancelled = first.StartTimer(TimeSpan.FromMilliseconds(2), () => fired.Add("b"));
        cancelled.Cancel();
        network.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["a"], fired);
        network.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Equal(["a", "c"], fired);
    }

    [Fact]
    public async Task Delay_completes_when_the_kernel_clock_reaches_it()
    {
        var delay = first.Delay(TimeSpan.FromMilliseconds(5));
        network.Advance(TimeSpan.FromMilliseconds(4));
        Assert.False(delay.IsCompleted);
        network.Advance(TimeSpan.FromMilliseconds(1));
        await delay;
        Assert.Equal(TimeSpan.FromMilliseconds(5), first.Now);
    }

    [Fact]
    public async Task Names_before_the_name_server_is_known_fail_with_a_clear_reason()
    {
        var error = await Assert.ThrowsAsync<FosException>(() => first.Lookup("/sys/fs").AsTask());
        Assert.Equal(FosError.NoSuchName, error.Error);
        Assert.Contains("still booting", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fs")]
    [InlineData("/sys/")]
    [InlineData("/sys//fs")]
    [InlineData("/sys/f s")]
    [InlineData("/sys/\u0001")]
    public async Task A_malformed_name_is_refused_before_anything_is_sent(string name)
    {
        var error = await Assert.ThrowsAsync<FosException>(() => first.Lookup(name).AsTask());
        Assert.Equal(FosError.BadRequest, error.Error);
        Assert.Equal(0, first.Stats.CallsMade);
    }

    [Fact]
    public void A_bad_name_fails_through_the_lookups_value_task_and_is_never_thrown_at_the_caller()
    {
        // A caller may keep the ValueTask and await it later: the refusal must wait in it.
        var lookup = first.Lookup(null!);
        var all = first.LookupAll("no spaces allowed");
        Assert.True(lookup.IsFaulted);
        Assert.True(all.IsFaulted);
        Assert.Equal(FosError.BadRequest, Assert.Throws<FosException>(() => lookup.GetAwaiter().GetResult()).Error);
        Assert.Equal(FosError.BadRequest, Assert.Throws<FosException>(() => all.GetAwaiter().GetResult()).Error);
    }

    [Fact]
    public async Task A_call_made_once_the_core_is_shutting_down_fails_at_once_rather_than_wait_for_ever()
    {
        first.Shutdown();
        var error = await Assert.ThrowsAsync<FosException>(() => first.Call(first.ControlEndpoint, "anyone?").AsTask());
        Assert.Equal(FosError.ShuttingDown, error.Error);
        Assert.Equal(0, first.PendingCalls);
    }

    [Fact]
    public void Capabilities_drawn_by_a_kernel_differ_from_each_other()
    {
        var boxes = Enumerable.Range(0, 100).Select(_ => first.CreateMailbox(_ => default).Capability).ToHashSet();
        Assert.Equal(100, boxes.Count);
        Assert.DoesNotContain(Capability.None, boxes);
    }
}
