using Fos.Runtime;

namespace Fos.Bench;

/// <summary>
/// Runs baseline work on fresh threads pinned the way a machine pins its fos cores (thread i on the
/// i-th allowed CPU), released together once all are pinned. Threads are made per chunk: between
/// chunks nothing of the baseline exists, so it cannot steal CPU from the fos chunk that follows.
/// </summary>
internal static class PinnedThreads
{
    private static readonly IReadOnlyList<int> Cpus = Affinity.AllowedCpus();

    /// <summary>True when two threads must share one CPU: a spinner must then yield or its partner never runs.</summary>
    public static bool SharedCpu => Cpus.Count < 2;

    public static Task Run(params Action[] work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = 0;
        var remaining = work.Length;
        Exception? failure = null;
        for (var i = 0; i < work.Length; i++)
        {
            var index = i;
            var cpu = Cpus[index % Cpus.Count];
            var thread = new Thread(() =>
            {
                try
                {
                    Affinity.PinCurrentThread(cpu);
                    Interlocked.Increment(ref ready);
                    while (Volatile.Read(ref ready) < work.Length) Thread.Yield();
                    work[index]();
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
                if (Interlocked.Decrement(ref remaining) > 0) return;
                if (failure is null) done.SetResult();
                else done.SetException(failure);
            })
            { IsBackground = true, Name = $"bench cpu{cpu}" };
            thread.Start();
        }
        return done.Task;
    }

    /// <summary>One turn of a wait loop: nothing on a CPU of its own (lowest latency), a yield on a shared one.</summary>
    public static void Spin()
    {
        if (SharedCpu) Thread.Yield();
    }
}
