using Fos.Kernel;

namespace Fos.Scenarios.Tests;

/// <summary>Full mailboxes push back; calls that get no answer time out; neither loses other work.</summary>
public class FlowControlTests
{
    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_full_mailbox_refuses_the_extra_call_and_serves_the_rest(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var (client, host) = (system.Cores[0], system.Cores[1]);
        var gate = new TaskCompletionSource<object?>();
        var held = 0;
        var box = await system.Execute(host, k => Task.FromResult(k.CreateMailbox(async m =>
        {
            held++;
            await gate.Task; // resumes on this core: the release below runs here
            return m.Body;
        }, capacity: 2)), Runtimes.Deadline);

        var calls = await system.Execute(client, k => Task.FromResult(new[] { k.Call(box, 1).AsTask(), k.Call(box, 2).AsTask(), k.Call(box, 3).AsTask() }), Runtimes.Deadline);
        var refused = await system.Execute(client, k => RefusalTests.Catch(calls[2]), Runtimes.Deadline);
        Assert.Equal(FosError.MailboxFull, refused?.Error);
        Assert.Contains("try again", refused!.Message);

        // Both held calls reached the handler; release them on the server's own core.
        Assert.Equal(2, await system.Execute(host, k => WaitFor(k, () => held == 2 ? held : (int?)null), Runtimes.Deadline));
        await system.Execute(host, _ => Task.FromResult(gate.TrySetResult(null)), Runtimes.Deadline);
        var answers = await system.Execute(client, async _ => await Task.WhenAll(calls[0], calls[1]), Runtimes.Deadline);
        Assert.Equal([1, 2], answers);
        Assert.Equal(4, await system.Execute(client, k => k.Call<int>(box, 4).AsTask(), Runtimes.Deadline));
        var stats = await system.Execute(host, k => Task.FromResult(k.Stats.Snapshot()), Runtimes.Deadline);
        Assert.Equal(1, stats.RefusedFull);
    }

    [Theory]
    [MemberData(nameof(Runtimes.Both), MemberType = typeof(Runtimes))]
    public async Task A_call_without_an_answer_times_out_and_the_core_goes_on(string kind)
    {
        await using var system = await Runtimes.Boot(kind);
        var (client, host) = (system.Cores[0], system.Cores[1]);
        var never = new TaskCompletionSource<object?>();
        var silent = await system.Execute(host, k => Task.FromResult(k.CreateMailbox(async _ => await never.Task)), Runtimes.Deadline);
        var echo = await system.Execute(host, k => Task.FromResult(k.CreateMailbox(m => ValueTask.FromResult(m.Body))), Runtimes.Deadline);

        var (error, elapsed) = await system.Execute(client, async k =>
        {
            var start = k.Now;
            var failure = await RefusalTests.Catch(k.Call(silent, "anyone?", TimeSpan.FromMilliseconds(50)));
            return (failure, k.Now - start);
        }, Runtimes.Deadline);
        Assert.Equal(FosError.Timeout, error?.Error);
        Assert.Contains("50 ms", error!.Message);
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10));

        Assert.Equal("after", await system.Execute(client, k => k.Call<string>(echo, "after").AsTask(), Runtimes.Deadline));
        var stats = await system.Execute(client, k => Task.FromResult(k.Stats.Snapshot()), Runtimes.Deadline);
        Assert.Equal(1, stats.Timeouts);
        Assert.Equal(0, await system.Execute(client, k => Task.FromResult(k.PendingCalls), Runtimes.Deadline));
    }

    /// <summary>Polls a condition on a core's loop with kernel timers, up to the test deadline.</summary>
    private static async Task<T> WaitFor<T>(IKernel kernel, Func<T?> probe) where T : struct
    {
        while (true)
        {
            if (probe() is { } value) return value;
            await kernel.Delay(TimeSpan.FromMilliseconds(1));
        }
    }
}
