namespace Fos.Kernel.Processes;

/// <summary>
/// Starts a program given as code → the pid (long). Code travels as a delegate, which cannot cross
/// a process boundary, so this is not part of the wire protocol: only the system's own code inside
/// the machine (tests, tools) can send it, and the program runs on a process core of that machine.
/// </summary>
public sealed record ProcSpawnProgram(AppProgram Program, string[] Args, CoreId? Core = null);
