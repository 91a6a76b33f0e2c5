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
    public static Task<T> Fs<T>(object request) => Fs<T>(null, request);

    /// <summary>A call to <paramref name="member"/> (the one keeping a handle), or the nearest member.</summary>
    // One async method from the caller to the kernel, not a chain of them: each level of awaits
    // costs a resumption and a task on every system call.
    public static async Task<T> Fs<T>(Endpoint? member, object request)
    {
        var kernel = Enter();
        object? reply;
        try
        {
            var target = member ?? await kernel.Lookup(WellKnownNames.FileSystem);
            try
            {
                reply = await kernel.Call(target, request);
            }
            catch (FosException ex) when (ex.Error == FosError.NoSuchMailbox)
            {
                // The member left the fleet (it finishes what it started before it goes, so this
                // request never ran there); its shards and handles moved on, and every member
                // knows where: ask the nearest one now.
                reply = await kernel.Call(await kernel.Lookup(WellKnownNames.FileSystem), request);
            }
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is { } errno)
        {
            throw new FosIOException(errno, ex.Message, ex);
        }
        return KernelExtensions.Expect<T>(reply, WellKnownNames.FileSystem);
    }

    /// <summary>The parts of a path, or the reason it is not one.</summary>
    public static string[] Split(string path)
    {
        try
        {
            return FsPath.Split(path);
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is { } errno)
        {
            throw new FosIOException(errno, ex.Message, ex);
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
        catch (FosException ex) when (FsError.ErrnoOf(ex) is { } errno)
        {
            throw new FosIOException(errno, ex.Message, ex);
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
