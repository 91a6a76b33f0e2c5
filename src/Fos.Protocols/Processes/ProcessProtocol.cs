using Fos.Kernel;

namespace Fos.Protocols.Processes;

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
