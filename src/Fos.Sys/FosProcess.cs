using Fos.Protocols.Processes;
using Fos.Services.Processes;

namespace Fos.Sys;

/// <summary>Processes in fos: start a program on a core the layout chooses, wait for it, kill it, list them.</summary>
public static class FosProcess
{
    /// <summary>The running process's pid (0 for code the system runs itself).</summary>
    public static long Id => ProcessContext.Current?.Pid ?? 0;

    /// <summary>The arguments the process was started with.</summary>
    public static string[] Args => ProcessContext.Current?.Args ?? [];

    /// <summary>The process's standard output: what <c>fos run</c> and the shell print when it ends.</summary>
    public static TextWriter Out => ProcessContext.Current?.Out ?? TextWriter.Null;

    /// <summary>The process's standard error.</summary>
    public static TextWriter Error => ProcessContext.Current?.Error ?? TextWriter.Null;

    /// <summary>Starts <paramref name="program"/> → its pid.</summary>
    public static Task<long> StartAsync(AppProgram program, string[]? args = null, Kernel.CoreId? core = null) =>
        SysCall.Proc<long>(new ProcSpawn(program, args ?? [], core));

    public static Task<ProcExit> WaitAsync(long pid) => SysCall.Proc<ProcExit>(new ProcWait(pid));

    public static Task KillAsync(long pid) => SysCall.Proc<Kernel.Ack>(new ProcKill(pid));

    public static Task<ProcInfo[]> ListAsync() => SysCall.Proc<ProcInfo[]>(new ProcList());

    /// <summary>The cores the layout gives to applications (one worker per core is a good split).</summary>
    public static async Task<Kernel.CoreId[]> ApplicationCoresAsync() =>
        [.. (await SysCall.Layout<Protocols.Layout.LayoutCore[]>(new Protocols.Layout.LayoutTable()))
            .Where(c => c.Role != "system").Select(c => c.Core)];
}
