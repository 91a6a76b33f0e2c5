using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Services.FileSystem;

namespace Fos.Sys;

/// <summary>Turns a system call into a message to the nearest member of a fleet, and its failure into an exception.</summary>
internal static class SysCall
{
    /// <summary>A call to the nearest file-system member.</summary>
    public static Task<T> Fs<T>(object request) => Fs<T>(null, request);

    /// <summary>A call to <paramref name="member"/> (the one keeping a handle), or the nearest member.</summary>
    public static async Task<T> Fs<T>(Endpoint? member, object request)
    {
        var kernel = KernelContext.Current;
        try
        {
            var target = member ?? await kernel.Lookup(WellKnownNames.FileSystem);
            return await kernel.Call<T>(target, request);
        }
        catch (FosException ex) when (FsError.ErrnoOf(ex) is { } errno)
        {
            throw new FosIOException(errno, ex.Message, ex);
        }
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

    /// <summary>The process this code belongs to (0 for code the system runs itself).</summary>
    public static long CurrentProcess => 0;
}
