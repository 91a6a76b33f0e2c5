namespace Fos.Runtime.Storage;

/// <summary>
/// Syncs that share one trip to the disk (group commit, as databases and ext4's journal do): a
/// sync asked for while another is under way waits for the next one, which starts as soon as that
/// one ends and covers every write made before it starts, and every caller that asked in the
/// meantime shares it. One writer syncing alone pays one sync, as before; eight writers closing
/// files at once pay two or three instead of eight in a row.
/// </summary>
internal sealed class GroupCommit(Action syncOnce)
{
    private readonly Lock gate = new();
    private TaskCompletionSource? waiting; // callers for the next sync, which has not begun
    private bool syncing;

    /// <summary>
    /// Completes once a sync that began after this call has finished: every write that returned
    /// before the call is then durable. The sync runs on a pool thread.
    /// </summary>
    public Task Sync()
    {
        lock (gate)
        {
            // Continuations go to the pool, never inline on this thread: one that waited here for
            // a later sync of the same store would hold up the very loop that must run it. (An
            // awaiting server is posted to its own core either way.)
            var next = waiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!syncing)
            {
                syncing = true;
                ThreadPool.UnsafeQueueUserWorkItem(static self => self.Run(), this, preferLocal: false);
            }
            return next.Task;
        }
    }

    private void Run()
    {
        while (true)
        {
            TaskCompletionSource batch;
            lock (gate)
            {
                if (waiting is null)
                {
                    syncing = false;
                    return;
                }
                batch = waiting; // taken before the sync starts, so it covers every write these callers made
                waiting = null;
            }
            try
            {
                syncOnce();
                batch.SetResult();
            }
            catch (Exception ex)
            {
                batch.SetException(ex);
            }
        }
    }
}
