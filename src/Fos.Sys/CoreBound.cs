using Fos.Kernel;

namespace Fos.Sys;

/// <summary>
/// Runs a stream's operations on the fos core that opened it, whoever calls. .NET's own async
/// helpers (StreamReader.ReadToEndAsync, Stream.CopyToAsync) await with ConfigureAwait(false),
/// which on a fos core sends their continuation to the thread pool, and calls the stream again
/// from there. So each operation starts on the core's loop (posted there if called from elsewhere)
/// and its task completes outside any synchronization context: a ConfigureAwait(false)
/// continuation then runs right there on the core instead of hopping to the pool, which keeps the
/// simulator deterministic, while the caller's own awaits still resume on its core as always.
/// </summary>
internal sealed class CoreBound
{
    private readonly KernelSynchronizationContext home;

    public CoreBound()
    {
        home = SynchronizationContext.Current as KernelSynchronizationContext ?? throw new InvalidOperationException(
            "fos files are opened on a fos core: run this code as a fos application or server");
    }

    public IKernel Kernel => home.Kernel;

    public Task<T> Run<T>(Func<Task<T>> operation)
    {
        var done = new TaskCompletionSource<T>();
        if (home.IsLoopThread) Start(operation, done);
        else home.Post(_ => Start(operation, done), null);
        return done.Task;
    }

    private void Start<T>(Func<Task<T>> operation, TaskCompletionSource<T> done)
    {
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(home);
        try
        {
            _ = Finish(operation(), done);
        }
        catch (Exception ex)
        {
            Outside(() => done.TrySetException(ex));
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    private static async Task Finish<T>(Task<T> work, TaskCompletionSource<T> done)
    {
        try
        {
            var result = await work;
            Outside(() => done.TrySetResult(result));
        }
        catch (Exception ex)
        {
            Outside(() => done.TrySetException(ex));
        }
    }

    private static void Outside(Action complete)
    {
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            complete();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }
}
