using Fos.Kernel.Processes;
using Fos.Protocols.Layout;
using Fos.Protocols.Processes;

namespace Fos.Sys;

/// <summary>Processes in fos: start a program on a core the layout chooses, wait for it, kill it, list them.</summary>
public static class FosProcess
{
    /// <summary>The running process's pid (0 for code the system runs itself).</summary>
    public static long Id => ProcessContext.Current?.Pid ?? 0;

    /// <summary>The arguments the process was started with.</summary>
    public static string[] Args => ProcessContext.Current?.Args ?? [];

    /// <summary>The process's standard input: what <c>fos run</c> reads from its own (read it with the Async methods).</summary>
    public static TextReader In => ProcessContext.Current?.In ?? TextReader.Null;

    /// <summary>The process's standard output: streamed to <c>fos run</c> and the shell as it is written.</summary>
    public static TextWriter Out => ProcessContext.Current?.Out ?? TextWriter.Null;

    /// <summary>The process's standard error.</summary>
    public static TextWriter Error => ProcessContext.Current?.Error ?? TextWriter.Null;

    /// <summary>
    /// Starts the .NET application at <paramref name="path"/> (its .dll, a path on the host of the
    /// machine it runs on) in a process of its own → its pid. On <paramref name="core"/> if given,
    /// else on <paramref name="machine"/> if given, else where the cluster's least busy application core is.
    /// </summary>
    public static Task<long> StartAsync(string path, string[]? args = null, Kernel.CoreId? core = null, ushort? machine = null) =>
        SysCall.Proc<long>(new ProcSpawn(path, args ?? [], core, machine));

    /// <summary>
    /// Starts <paramref name="program"/>, given as code, on a process core inside the machine → its
    /// pid. Only the system's own code can (tests and tools): code cannot cross into another process.
    /// </summary>
    public static Task<long> StartAsync(AppProgram program, string[]? args = null, Kernel.CoreId? core = null) =>
        SysCall.Proc<long>(new ProcSpawnProgram(program, args ?? [], core));

    public static Task<ProcExit> WaitAsync(long pid) => SysCall.Proc<ProcExit>(new ProcWait(pid));

    public static Task KillAsync(long pid) => SysCall.Proc<Kernel.Ack>(new ProcKill(pid));

    /// <summary>Every process on every machine of the cluster (a machine that cannot be reached is left out).</summary>
    public static Task<ProcInfo[]> ListAsync() => SysCall.Proc<ProcInfo[]>(new ProcList());

    /// <summary>What <paramref name="pid"/> wrote from position <paramref name="from"/> on, as soon as there is some (or it ended).</summary>
    public static Task<ProcOutputPage> ReadOutputAsync(long pid, long from) => SysCall.Proc<ProcOutputPage>(new ProcReadOutput(pid, from));

    /// <summary>Bytes for <paramref name="pid"/>'s standard input; <paramref name="close"/> ends it.</summary>
    public static Task WriteInputAsync(long pid, ReadOnlyMemory<byte> bytes, bool close = false) =>
        SysCall.Proc<Kernel.Ack>(new ProcWriteInput(pid, bytes.ToArray(), close));

    /// <summary>The cores the layout gives to applications (one worker per core is a good split).</summary>
    public static async Task<Kernel.CoreId[]> ApplicationCoresAsync() =>
        [.. (await SysCall.Layout<LayoutCore[]>(new LayoutTable()))
            .Where(c => c.Role != "system").Select(c => c.Core)];
}
