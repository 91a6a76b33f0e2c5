using Fos.Runtime.Storage;

namespace Fos.Runtime.Tests;

/// <summary>Syncs asked for while one runs share the next one; none is answered by a sync that began before it was asked.</summary>
public class GroupCommitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>A sync that blocks until released, counting how many began.</summary>
    private sealed class Disk
    {
        private readonly SemaphoreSlim release = new(0);
        private readonly SemaphoreSlim began = new(0);
        public int Syncs;
        public Exception? Fail;

        public void Sync()
        {
            Interlocked.Increment(ref Syncs);
            began.Release();
            if (!release.Wait(Deadline)) throw new TimeoutException("the test never released the sync");
            if (Fail is { } fail)
            {
                Fail = null;
                throw fail;
            }
        }

        public Task Began() => began.WaitAsync(Deadline).ContinueWith(t => Assert.True(t.Result, "a sync should have begun"));

        public void Release() => release.Release();
    }

    [Fact]
    public async Task Callers_who_ask_while_a_sync_runs_share_the_next_one()
    {
        var disk = new Disk();
        var commits = new GroupCommit(disk.Sync);
        var first = commits.Sync();
        await disk.Began();
        var waiting = Enumerable.Range(0, 5).Select(_ => commits.Sync()).ToList();
        Assert.False(first.IsCompleted);
        Assert.All(waiting, w => Assert.False(w.IsCompleted));

        disk.Release();
        await first.WaitAsync(Deadline);
        await disk.Began(); // the second sync, for all five
        Assert.All(waiting, w => Assert.False(w.IsCompleted)); // the first sync began before they asked: it does not answer them
        disk.Release();
        await Task.WhenAll(waiting).WaitAsync(Deadline);
        Assert.Equal(2, disk.Syncs);
    }

    [Fact]
    public async Task A_failed_sync_fails_its_own_callers_and_the_next_one_starts_afresh()
    {
        var disk = new Disk { Fail = new IOException("the disk is gone") };
        var commits = new GroupCommit(disk.Sync);
        var failed = commits.Sync();
        await disk.Began();
        var next = commits.Sync();
        disk.Release();
        var error = await Assert.ThrowsAsync<IOException>(() => failed.WaitAsync(Deadline));
        Assert.Equal("the disk is gone", error.Message);
        await disk.Began();
        disk.Release();
        await next.WaitAsync(Deadline);
        Assert.Equal(2, disk.Syncs);
    }

    [Fact]
    public async Task A_caller_that_waits_for_a_later_sync_as_soon_as_its_own_is_done_does_not_stop_the_syncs()
    {
        var syncs = 0;
        var commits = new GroupCommit(() => Interlocked.Increment(ref syncs));
        // Blocking in a continuation of the first sync for a second one: the second must still run.
        var nested = commits.Sync().ContinueWith(_ => commits.Sync().Wait(Deadline), TaskContinuationOptions.ExecuteSynchronously);
        Assert.True(await nested.WaitAsync(Deadline), "the second sync never ran: its loop was stuck in the first one's continuation");
        Assert.Equal(2, Volatile.Read(ref syncs));
    }

    [Fact]
    public async Task A_sync_asked_for_when_none_runs_starts_at_once()
    {
        var disk = new Disk();
        var commits = new GroupCommit(disk.Sync);
        for (var i = 1; i <= 3; i++)
        {
            var sync = commits.Sync();
            await disk.Began();
            disk.Release();
            await sync.WaitAsync(Deadline);
            Assert.Equal(i, disk.Syncs);
        }
    }
}
