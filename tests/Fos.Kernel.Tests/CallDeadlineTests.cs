namespace Fos.Kernel.Tests;

/// <summary>
/// On a runtime that reports its loop's clock reads, a call reads no clock: its deadline is
/// counted from the first read after it was made. So it may time out late, never early.
/// </summary>
public class CallDeadlineTests
{
    private readonly ManualNetwork network = new() { ReportsClockReads = true };
    private readonly CoreKernel client;
    private readonly CoreKernel server;

    public CallDeadlineTests()
    {
        client = network.AddCore(1, 0);
        server = network.AddCore(1, 1);
    }

    private Endpoint Silent() => server.CreateMailbox(_ => new ValueTask<object?>(new TaskCompletionSource<object?>().Task));

    [Fact]
    public async Task A_deadline_counts_from_the_clock_read_after_the_call_so_it_comes_late_and_never_early()
    {
        var call = client.Call(Silent(), "anyone?", TimeSpan.FromMilliseconds(10)).AsTask();
        network.Pump();
        network.Advance(TimeSpan.FromMilliseconds(3));
        network.ReadClock(); // the deadline is now 3 + 10 ms
        network.Advance(TimeSpan.FromMilliseconds(9.9));
        Assert.False(call.IsCompleted);
        network.Advance(TimeSpan.FromMilliseconds(0.2));
        var error = await Assert.ThrowsAsync<FosException>(() => call);
        Assert.Equal(FosError.Timeout, error.Error);
        Assert.Equal(0, client.PendingCalls);
    }

    [Fact]
    public void Until_the_loop_reads_the_clock_a_call_has_no_deadline_to_miss()
    {
        var call = client.Call(Silent(), "anyone?", TimeSpan.FromMilliseconds(1)).AsTask();
        network.Advance(TimeSpan.FromSeconds(1));
        Assert.False(call.IsCompleted);
        network.ReadClock();
        network.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(call.IsFaulted);
    }

    [Fact]
    public async Task A_call_answered_before_the_clock_read_leaves_no_deadline_and_its_record_serves_the_next_call_rightly()
    {
        var echo = server.CreateMailbox(m => ValueTask.FromResult(m.Body));
        var silent = Silent();
        var answered = client.Call(echo, "quick", TimeSpan.FromMilliseconds(5));
        network.Pump();
        Assert.Equal("quick", await answered); // its pooled record goes back, and is taken again below
        network.Advance(TimeSpan.FromMilliseconds(2));
        var waiting = client.Call(silent, "slow", TimeSpan.FromMilliseconds(5)).AsTask();
        network.Advance(TimeSpan.FromMilliseconds(2));
        network.ReadClock(); // 4 ms: the second call's deadline is 9 ms
        network.Advance(TimeSpan.FromMilliseconds(4.9));
        Assert.False(waiting.IsCompleted);
        network.Advance(TimeSpan.FromMilliseconds(0.2));
        Assert.Equal(FosError.Timeout, (await Assert.ThrowsAsync<FosException>(() => waiting)).Error);
        Assert.Equal(1, client.Stats.Timeouts);
    }

    [Fact]
    public async Task A_runtime_that_does_not_report_clock_reads_counts_each_deadline_from_its_call()
    {
        var exact = new ManualNetwork();
        var caller = exact.AddCore(1, 0);
        var callee = exact.AddCore(1, 1);
        var call = caller.Call(callee.CreateMailbox(_ => new ValueTask<object?>(new TaskCompletionSource<object?>().Task)), "x", TimeSpan.FromMilliseconds(10)).AsTask();
        exact.Pump();
        exact.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(FosError.Timeout, (await Assert.ThrowsAsync<FosException>(() => call)).Error);
    }
}
