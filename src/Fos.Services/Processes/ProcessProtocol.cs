using Fos.Kernel;

namespace Fos.Services.Processes;

/// <summary>
/// A program fos can run: a name and an entry point. The host side makes one from an assembly
/// (<c>fos run app.dll</c>); tests and the simulator make them from code. The entry point runs on
/// a fos core and must be asynchronous all the way: a blocking wait would stall the core.
/// </summary>
public sealed record AppProgram(string Name, Func<string[], Task<int>> Main)
{
    public override string ToString() => Name;
}

/// <summary>What a process is doing.</summary>
public enum ProcState
{
    Running,
    Exited,
    Failed,
    Killed,
}

/// <summary>One row of <c>ps</c>.</summary>
public sealed record ProcInfo(long Pid, string Name, CoreId Core, ProcState State, int? ExitCode, long SystemCalls);

/// <summary>Starts a program → the pid (long). <paramref name="Core"/>: where, or null to let the layout choose.</summary>
public sealed record ProcSpawn(AppProgram Program, string[] Args, CoreId? Core = null);

/// <summary>Waits for a process to end → <see cref="ProcExit"/>.</summary>
public sealed record ProcWait(long Pid);

/// <summary>How a process ended, and what it wrote.</summary>
public sealed record ProcExit(long Pid, ProcState State, int ExitCode, string Output, string Error);

/// <summary>Ends a process; its pending system calls fail and its resources are reclaimed → Ack.</summary>
public sealed record ProcKill(long Pid);

/// <summary>Every process this member knows → ProcInfo[] (a member lists its own; ask each for all).</summary>
public sealed record ProcList;

/// <summary>To a running program's host: how many system calls it has made → long.</summary>
public sealed record ProcCalls;

/// <summary>Sent by a running program's host when it ends.</summary>
public sealed record ProcEnded(long Pid, ProcState State, int ExitCode, string Output, string Error, long SystemCalls);
