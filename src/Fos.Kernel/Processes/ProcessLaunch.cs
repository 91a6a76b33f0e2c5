namespace Fos.Kernel.Processes;

/// <summary>
/// What to start as an application process, on a process core of its own. An application is a
/// .NET assembly run in a Linux process of its own (<see cref="AssemblyPath"/>); code of the system's
/// own (a test, a tool) may instead be given as <see cref="Main"/>, which the machine runs on a
/// process core inside itself: trusted, and killed cooperatively, at its next system call.
/// </summary>
public sealed record ProcessLaunch(long Pid, string Name, string[] Args)
{
    public string? AssemblyPath { get; init; }

    public Func<string[], Task<int>>? Main { get; init; }
}

/// <summary>A program given as code: what <see cref="ProcessLaunch.Main"/> runs.</summary>
public sealed record AppProgram(string Name, Func<string[], Task<int>> Main)
{
    public override string ToString() => Name;
}

/// <summary>Which of a process's streams a piece of output came from.</summary>
public enum ProcessStream
{
    Output,
    Error,
}

/// <summary>
/// How a process ended: its exit status, whether a kill ended it, and when it crashed, why (an
/// unhandled exception, a signal, running out of memory), said plainly.
/// </summary>
public sealed record ProcessEnd(int ExitCode, bool Killed, string? Failure)
{
    public static ProcessEnd KilledNow { get; } = new(137, Killed: true, Failure: null);
}

/// <summary>
/// A running application process as the machine sees it. Its end and its output arrive on the core
/// that started it (<see cref="IKernel.StartProcess"/>), in order.
/// </summary>
public abstract class ProcessHandle
{
    /// <summary>The process's own core: the sender of everything it says, as the machine attests.</summary>
    public abstract CoreId Core { get; }

    /// <summary>The Linux process id on the host, or 0 for a program the machine runs inside itself.</summary>
    public abstract int HostPid { get; }

    /// <summary>Completes, on the starting core, once the process has ended and its rings are gone.</summary>
    public abstract Task<ProcessEnd> Ended { get; }

    /// <summary>Messages the process has sent (counted by the machine, not by the process).</summary>
    public abstract long MessagesSent { get; }

    /// <summary>Ends the process at once (SIGKILL for a Linux process).</summary>
    public abstract void Kill();

    /// <summary>
    /// Bytes for the process's standard input; completes, on the starting core, once they are
    /// queued for it (a bounded queue: a process that does not read holds its writer back).
    /// </summary>
    public abstract Task WriteInput(ReadOnlyMemory<byte> data);

    /// <summary>End of the process's standard input.</summary>
    public abstract void CloseInput();

    /// <summary>
    /// Someone streams the output and has taken it up to <paramref name="position"/> (bytes of both
    /// streams, in the order they came). From the first call on, a process that writes more than
    /// <see cref="OutputWindow"/> ahead of that waits, as a writer to a full pipe does; a process
    /// nobody streams never waits (what it wrote is kept, the last of it, for whoever waits for it).
    /// </summary>
    public virtual void Acknowledge(long position) { }

    /// <summary>How far a streamed process's output may run ahead of its reader.</summary>
    public const int OutputWindow = 256 << 10;
}
