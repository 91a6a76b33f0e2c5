using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

/// <summary>What the shared-memory tests need beyond the runtime's API: a second fd, guard pages, a shell child.</summary>
internal static class Posix
{
    public const int ProtNone = 0;

    [DllImport("libc", SetLastError = true)]
    private static extern int dup(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int mprotect(nint address, nuint length, int protection);

    /// <summary>A second fd for the same open file, so one memfd can be mapped twice.</summary>
    public static int Dup(int fd)
    {
        var copy = dup(fd);
        if (copy < 0) throw new IOException($"dup failed: errno {Marshal.GetLastPInvokeError()}");
        return copy;
    }

    /// <summary>Makes [offset, offset + length) of a mapping fault on any access.</summary>
    public static void Guard(SharedMemory memory, long offset, long length)
    {
        var address = AddressOf(memory) + (nint)offset;
        if (mprotect(address, (nuint)length, ProtNone) != 0)
            throw new IOException($"mprotect failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>The mapping's address, taken without unsafe code in the test assembly.</summary>
    private static nint AddressOf(SharedMemory memory) =>
        Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref MemoryMarshal.GetReference(memory.GetSpan(0, 1)));

    /// <summary>Runs <c>/bin/sh -c script</c> and returns its exit code, standard output and standard error.</summary>
    public static (int ExitCode, string Output, string Errors) Shell(string script, int timeoutMilliseconds = 10_000)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        var errors = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(timeoutMilliseconds))
        {
            child.Kill();
            throw new TimeoutException($"`{script}` still ran after {timeoutMilliseconds} ms");
        }
        child.WaitForExit();
        return (child.ExitCode, output.Result, errors.Result);
    }
}
