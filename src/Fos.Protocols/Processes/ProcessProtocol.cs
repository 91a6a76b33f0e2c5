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

/// <summary>One row of <c>ps</c>: the fos pid, the core it was placed on, its own process core, and its Linux pid (0 inside the machine).</summary>
public sealed record ProcInfo(long Pid, string Name, CoreId Core, ProcState State, int? ExitCode, long SystemCalls, CoreId ProcessCore, int HostPid);

/// <summary>
/// Starts the .NET application at <paramref name="Path"/> (a path on the host of the machine it
/// runs on) in a process of its own → the pid (long). <paramref name="Core"/>: where; else
/// <paramref name="Machine"/>: on which machine, its layout choosing the core; else the machine
/// with the least busy application core in the cluster.
/// </summary>
public sealed record ProcSpawn(string Path, string[] Args, CoreId? Core = null, ushort? Machine = null);

/// <summary>Waits for a process to end → <see cref="ProcExit"/>.</summary>
public sealed record ProcWait(long Pid);

/// <summary>How a process ended, and the last of what it wrote (at most <see cref="ProcLimits.KeptOutput"/> bytes of each stream).</summary>
public sealed record ProcExit(long Pid, ProcState State, int ExitCode, string Output, string Error);

/// <summary>Ends a process at once (SIGKILL); what it held is reclaimed before its waiters hear → Ack.</summary>
public sealed record ProcKill(long Pid);

/// <summary>Every process on every machine → ProcInfo[]; <paramref name="HereOnly"/>: only the answering member's machine's.</summary>
public sealed record ProcList(bool HereOnly = false);

/// <summary>
/// What a process wrote from position <paramref name="From"/> on → <see cref="ProcOutputPage"/>,
/// answered as soon as there is some (or the process ended): how <c>fos run</c> streams output.
/// </summary>
public sealed record ProcReadOutput(long Pid, long From);

/// <summary>One write of a process to its standard output (<paramref name="Error"/> false) or error.</summary>
public sealed record ProcChunk(bool Error, byte[] Bytes);

/// <summary>
/// Output from a position on, and the position to ask from next. <paramref name="Lost"/> bytes were
/// dropped before it because the reader fell too far behind; <paramref name="Exit"/> is set once
/// the process has ended and everything it wrote has been read.
/// </summary>
public sealed record ProcOutputPage(long Next, ProcChunk[] Chunks, long Lost, ProcExit? Exit);

/// <summary>Bytes for a process's standard input; <paramref name="Close"/> ends it → Ack.</summary>
public sealed record ProcWriteInput(long Pid, byte[] Bytes, bool Close);

/// <summary>How much of a process the table keeps.</summary>
public static class ProcLimits
{
    /// <summary>Bytes of each output stream kept for <see cref="ProcExit"/> and for a late reader.</summary>
    public const int KeptOutput = 1 << 20;

    /// <summary>Ended processes kept (oldest forgotten first).</summary>
    public const int KeptEnded = 256;
}
