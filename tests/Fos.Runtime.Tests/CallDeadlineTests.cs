using System.Diagnostics;
using Fos.Kernel;

namespace Fos.Runtime.Tests;

/// <summary>
/// A call on real cores reads no clock: its deadline is counted from the loop's first clock read
/// after it was made. That may make a timeout late by a few turns of the loop; never early.
/// </summary>
public class CallDeadlineTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    [InlineData(50)]
    public async Task A_call_nobody_answers_times_out_no_earlier_than_asked_and_at_most_a_few_turns_late(int milliseconds)
    {
        await using var machine = Machine.Start(new MachineOptions { Cores = 2 });
        var silent = await machine.Execute(machine.Cores[1], k => Task.FromResult(k.CreateMailbox(_ => new ValueTask<object?>(new TaskCompletionSource<object?>().Task))), TimeSpan.FromSeconds(10));
        var timeout = TimeSpan.FromMilliseconds(milliseconds);
        var waited = await machine.Execute(machine.Cores[0], async k =>
        {
            var start = Stopwatch.GetTimestamp();
            var error = await Assert.ThrowsAsync<FosException>(async () => await k.Call(silent, "anyone?", timeout));
            Assert.Equal(FosError.Timeout, error.Error);
            return Stopwatch.GetElapsedTime(start);
        }, TimeSpan.FromSeconds(10));
        Assert.True(waited >= timeout, $"a {milliseconds} ms call timed out after {waited.TotalMilliseconds:0.###} ms");
        // The late side is loose on purpose (a busy test machine delays the core's loop), but a
        // deadline counted from the wrong clock would be off by seconds, not milliseconds.
        Assert.True(waited < timeout + TimeSpan.FromSeconds(1), $"a {milliseconds} ms call timed out only after {waited.TotalMilliseconds:0.###} ms");
    }
}
