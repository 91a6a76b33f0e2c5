using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Kernel.Processes;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Processes;

namespace Fos.Sys;

/// <summary>Turns a system call into a message to the nearest member of a fleet, and its failure into an exception.</summary>
internal static class SysCall
{
    /// <summary>A call to the nearest file-system member.</summary>
    public static ValueTask<T> Fs<T>(object request) => Fs<T>(null, request);

    /// <summary>A call to <paramref name="member"/> (the one keeping a handle), or the nearest member.</summary>
    // The caller awaits the kernel's own record of the call: no async method of ours in between,
    // whose task and resumption would cost more than the member's whole answer to a cached stat.
    public static ValueTask<T> Fs<T>(Endpoint? member, object request)
    {
        var kernel = Enter();
        if (member is { } keeper) return kernel.Call<T>(keeper, request, policy: FsCalls);
        var nearest = kernel.Lookup(WellKnownNames.FileSystem);
        return nearest.IsCompletedSuccessfully ? kernel.Call<T>(nearest.Result, request, policy: FsCalls) : FsAfterLookup<T>(kernel, nearest, request);
    }

    private static async ValueTask<T> FsAfterLookup<T>(IKernel kernel, ValueTask<Endpoint> nearest, object request)
    {
        Endpoint member;
        try
        {
            member = await nearest;
        }
        catch (FosException ex)
        {
            throw AsIOError(ex);
        }
        return await kernel.Call<T>(member, request, policy: FsCalls);
    }

    // A member that left the fleet finished what it started before it went, so the request never
    // ran there; its shards and handles moved on, and every member knows where: the nearest takes it.
    private static readonly CallPolicy FsCalls = new(Failover: WellKnownNames.FileSystem, Translate: AsIOError);

    /// <summary>A failure with a POSIX reason as the <see cref="FosIOException"/> callers catch; any other as it is.</summary>
    private static Exception AsIOError(FosException ex) =>
        FsError.ErrnoOf(ex) is { } errno ? new FosIOException(errno, ex.Message, ex) : ex;

    /// <summary>A call whose reply is only that it was done.</summary>
    public static async ValueTask Done<T>(ValueTask<T> call) => await call;

    /// <summary>The parts of a path, or the reason it is not one.</summary>
    public static string[] Split(string path)
    {
        try
        {
            return FsPath.Split(path);
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is not null)
        {
            throw AsIOError(ex);
        }
    }

    /// <summary>A call to the nearest member of the process fleet.</summary>
    public static Task<T> Proc<T>(object request) =>
        // Waiting for a process takes as long as the process does.
        Errors(kernel => kernel.Call<T>(WellKnownNames.Processes, request, request is ProcWait or ProcReadOutput ? Timeout.InfiniteTimeSpan : default));

    /// <summary>A call to a memory member (or the nearest one).</summary>
    public static Task<T> Mem<T>(Endpoint? member, object request) => Errors(async kernel =>
    {
        try
        {
            return await kernel.Call<T>(member ?? await kernel.Lookup(WellKnownNames.Memory), request);
        }
        catch (FosException ex) when (member is not null && ex.Error == FosError.NoSuchMailbox)
        {
            // The member that kept the buffer left the fleet and handed its allocations to a
            // sibling: the one that knows the buffer answers, the others say EBADF.
            foreach (var other in (await kernel.LookupAll(WellKnownNames.Memory)).Members)
            {
                try
                {
                    return await kernel.Call<T>(other, request);
                }
                catch (FosException miss) when (FsError.ErrnoOf(miss) == Errno.EBADF)
                {
                }
            }
            throw FsError.Of(Errno.EBADF, "no member of the memory fleet has this buffer: it was freed, or its owner ended");
        }
    });

    /// <summary>Runs a system call; a failure with a POSIX reason reaches the caller as a <see cref="FosIOException"/>.</summary>
    private static async Task<T> Errors<T>(Func<IKernel, Task<T>> call)
    {
        var kernel = Enter();
        try
        {
            return await call(kernel);
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is not null)
        {
            throw AsIOError(ex);
        }
    }

    /// <summary>A call to the layout service.</summary>
    public static Task<T> Layout<T>(object request) => Enter().Call<T>(WellKnownNames.Layout, request);

    /// <summary>Every system call starts here: the caller's kernel, and its process is counted and checked.</summary>
    public static IKernel Enter()
    {
        var kernel = KernelContext.Current;
        if (ProcessContext.Current is { } process)
        {
            if (process.Killed) throw new OperationCanceledException($"process {process.Pid} ({process.Name}) was killed");
            process.SystemCalls++;
        }
        return kernel;
    }
}
