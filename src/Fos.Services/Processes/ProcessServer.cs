using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Kernel.Processes;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Layout;
using Fos.Protocols.Memory;
using Fos.Protocols.Processes;

namespace Fos.Services.Processes;

/// <summary>
/// A member of the process fleet (<c>/sys/proc</c>), one per machine: starts applications as
/// processes on its machine's cores (each on a process core of its own, see
/// <see cref="IKernel.StartProcess"/>), keeps what they write for whoever streams it, waits for
/// them, kills them, lists them, and when one ends, however it ends, reclaims what it held (its
/// open files, its memory, its names) before any waiter hears of the end. A pid names its machine
/// in its low bits (pid mod <see cref="MaxMachines"/>), so any member passes a request for another
/// machine's process to that machine's member; a program asked for without a machine goes to the
/// machine whose layout has the least busy application core.
/// </summary>
public sealed class ProcessServer : Server
{
    /// <summary>Machines a pid can name (machine numbers 1 to this less one).</summary>
    public const int MaxMachines = 64;

    private readonly Dictionary<long, Proc> processes = [];
    private readonly Queue<long> ended = new();
    private long next = 1;
    private long refusals;

    public static readonly ServerImage Image = new("proc", () => new ProcessServer());

    private int Machine => Kernel.Core.Machine;

    /// <summary>How long a wait or an output read passed to another machine's member is given before it is asked again.</summary>
    private static readonly TimeSpan ForwardedWait = TimeSpan.FromSeconds(30);

    private sealed class Proc(long pid, string name, CoreId core, bool placed)
    {
        public long Pid { get; } = pid;
        public string Name { get; } = name;
        public CoreId Core { get; } = core;
        public bool Placed { get; } = placed; // the layout chose its core, so the layout hears when it ends
        public ProcessHandle? Handle;
        public ProcExit? Exit;
        public readonly OutputLog Output = new();
        public readonly TaskCompletionSource<ProcExit> Finished = new();
        public TaskCompletionSource? NewOutput;
    }

    protected override ValueTask<object?> Handle(Message message)
    {
        switch (message.Body)
        {
            case ProcSpawnProgram p:
                message.RequireSystem(ref refusals);
                // Code cannot cross machines: a program given as code runs on this machine.
                return ReplyWhenDone(Spawn(p.Program.Name, p.Core, (ushort)Machine, request: p,
                    pid => new ProcessLaunch(pid, p.Program.Name, p.Args ?? []) { Main = p.Program.Main }));
            case ProcSpawn s:
                return ReplyWhenDone(Spawn(ProgramName(s.Path), s.Core, s.Machine, request: s,
                    pid => new ProcessLaunch(pid, ProgramName(s.Path), s.Args ?? []) { AssemblyPath = s.Path }));
            case ProcWait w:
                return Mine(w.Pid) ? ReplyWhenDone(Find(w.Pid).Finished.Task) : Forward(w.Pid, w);
            case ProcKill k:
                return Mine(k.Pid) ? ReplyWhenDone(Kill(k.Pid)) : Forward(k.Pid, k);
            case ProcReadOutput r:
                return Mine(r.Pid) ? ReplyWhenDone(ReadOutput(r)) : Forward(r.Pid, r);
            case ProcWriteInput i:
                return Mine(i.Pid) ? ReplyWhenDone(WriteInput(i)) : Forward(i.Pid, i);
            case ProcList l:
                return l.HereOnly ? Reply(List()) : ReplyWhenDone(ListEverywhere());
            default:
                throw new FosException(FosError.BadRequest, $"the process service does not understand {message.Body?.GetType().Name ?? "null"}");
        }
    }

    /// <summary>Requests refused because their sender may not make them.</summary>
    public long Refusals => refusals;

    private static string ProgramName(string? path) =>
        string.IsNullOrWhiteSpace(path) ? throw new FosException(FosError.BadRequest, "a program to run needs the path of its .dll")
        : Path.GetFileNameWithoutExtension(path);

    private bool Mine(long pid) => pid % MaxMachines == Machine;

    /// <summary>The member on <paramref name="machine"/>, or null when that machine has none (not in the cluster, or down).</summary>
    private async Task<Endpoint?> MemberOn(int machine)
    {
        var record = await Kernel.LookupAll(WellKnownNames.Processes);
        foreach (var member in record.Members)
            if (member.Address.Machine == machine) return member;
        return null;
    }

    private async ValueTask<object?> Forward(long pid, object request)
    {
        if (pid <= 0) throw NoSuchProcess(pid);
        var member = await MemberOn((int)(pid % MaxMachines))
            ?? throw new FosException(FosError.ServiceError, $"ESRCH: no process {pid}: machine m{pid % MaxMachines} has no process service (not in the cluster, or down)", "ESRCH");
        if (request is not (ProcWait or ProcReadOutput)) return await Kernel.Call(member, request);
        // Waiting may take as long as the program runs. Asked again every while (both are safe to
        // ask twice), so an answer lost with a link that broke does not leave the waiter for ever,
        // and a machine that went down fails it.
        while (true)
        {
            try
            {
                return await Kernel.Call(member, request, ForwardedWait);
            }
            catch (FosException ex) when (ex.Error == FosError.Timeout)
            {
            }
        }
    }

    private Proc Find(long pid) => processes.TryGetValue(pid, out var proc) ? proc : throw NoSuchProcess(pid);

    private static FosException NoSuchProcess(long pid) => new(FosError.ServiceError, $"ESRCH: no process {pid}", "ESRCH");

    private async Task<long> Spawn(string name, CoreId? where, ushort? machine, object request, Func<long, ProcessLaunch> launch)
    {
        // A program for another machine is started by that machine's member: only its kernel can.
        var target = where?.Machine ?? machine ?? await LeastBusyMachine();
        if (target != Machine)
        {
            if (target is 0 or >= MaxMachines) throw new FosException(FosError.BadRequest, $"there is no machine m{target} in a fos cluster");
            var member = await MemberOn(target)
                ?? throw new FosException(FosError.NoSuchName, $"cannot start {name}: machine m{target} has no process service (not in the cluster, or down)");
            // Decided here, once: the other member places it on its own machine, without choosing again.
            return (long)(await Kernel.Call(member, request is ProcSpawn spawn ? spawn with { Machine = target } : request))!;
        }
        var core = where ?? await Kernel.Call<CoreId>(WellKnownNames.Layout, new LayoutPlace());
        var pid = next++ * MaxMachines + Machine;
        var proc = new Proc(pid, name, core, placed: where is null);
        try
        {
            proc.Handle = Kernel.StartProcess(launch(pid), core, (stream, bytes) => Output(proc, stream, bytes));
        }
        catch (FosException ex)
        {
            if (proc.Placed) await Release(core);
            // Where it failed is part of the reason: in a cluster the program's files are the chosen machine's.
            var why = ex.Code is not null || ex.Message.StartsWith("cannot start", StringComparison.Ordinal) ? ex.Message : $"cannot start {name}: {ex.Message}";
            throw new FosException(ex.Error, $"{why} (on {core})", ex.Code);
        }
        processes.Add(pid, proc);
        _ = Watch(proc, proc.Handle);
        return pid;
    }

    private static void Output(Proc proc, ProcessStream stream, ReadOnlyMemory<byte> bytes)
    {
        proc.Output.Append(stream, bytes.ToArray());
        Wake(proc);
    }

    private static void Wake(Proc proc)
    {
        var readers = proc.NewOutput;
        proc.NewOutput = null;
        readers?.TrySetResult();
    }

    private async Task Watch(Proc proc, ProcessHandle handle)
    {
        var end = await handle.Ended;
        await Finish(proc, handle, end);
    }

    /// <summary>Kills a process: answered once it is gone (SIGKILL delivered and its rings released); what it held is reclaimed before <c>wait</c> answers.</summary>
    private async Task<Ack> Kill(long pid)
    {
        var proc = Find(pid);
        if (proc.Handle is not { } handle) return Ack.Instance;
        handle.Kill();
        await handle.Ended;
        return Ack.Instance;
    }

    // A waiter hears of the end only once what the process held is back, as wait(2) after exit.
    private async Task Finish(Proc proc, ProcessHandle handle, ProcessEnd end)
    {
        var state = end.Killed ? ProcState.Killed : end.Failure is not null ? ProcState.Failed : ProcState.Exited;
        if (end.Failure is not null && handle.HostPid != 0)
            proc.Output.Append(ProcessStream.Error, System.Text.Encoding.UTF8.GetBytes($"{proc.Name}: {end.Failure}\n"));
        if (end.Killed) proc.Output.Append(ProcessStream.Error, "killed\n"u8.ToArray());
        if (proc.Placed) await Release(proc.Core);
        await Reclaim(proc.Pid, handle.Core);
        var exit = new ProcExit(proc.Pid, state, end.ExitCode, proc.Output.Text(error: false), proc.Output.Text(error: true));
        proc.Exit = exit;
        proc.Finished.TrySetResult(exit);
        Wake(proc);
        ended.Enqueue(proc.Pid);
        while (ended.Count > ProcLimits.KeptEnded) processes.Remove(ended.Dequeue());
    }

    private async Task<ProcOutputPage> ReadOutput(ProcReadOutput request)
    {
        if (request.From < 0) throw new FosException(FosError.ServiceError, $"EINVAL: output positions start at 0, not {request.From}", "EINVAL");
        var proc = Find(request.Pid);
        proc.Handle?.Acknowledge(request.From); // a streaming reader: the process keeps no further ahead of it than a window
        while (true)
        {
            if (request.From < proc.Output.End || proc.Exit is not null)
            {
                var (chunks, lost) = proc.Output.Read(request.From);
                return new ProcOutputPage(proc.Output.End, chunks, lost, proc.Exit);
            }
            await (proc.NewOutput ??= new TaskCompletionSource()).Task;
        }
    }

    /// <summary>Input for a process, answered once it is queued for it: a writer faster than the reader waits.</summary>
    private async Task<Ack> WriteInput(ProcWriteInput request)
    {
        var proc = Find(request.Pid);
        if (proc.Exit is not null || proc.Handle is null) throw new FosException(FosError.ServiceError, $"EPIPE: process {request.Pid} has ended", "EPIPE");
        if (request.Bytes is { Length: > 0 } bytes) await proc.Handle.WriteInput(bytes);
        if (request.Close) proc.Handle.CloseInput();
        return Ack.Instance;
    }

    private async Task Release(CoreId core)
    {
        try
        {
            await Kernel.Call<Ack>(WellKnownNames.Layout, new LayoutRelease(core));
        }
        catch (FosException)
        {
            // No layout service (a test system, or it is restarting): nothing to release.
        }
    }

    /// <summary>What an ended process held goes back: its open files are closed, its memory freed, its names withdrawn.</summary>
    private async Task Reclaim(long pid, CoreId core)
    {
        // One file-system member tells the others; the nearest that answers will do.
        foreach (var member in await Members(WellKnownNames.FileSystemFleet))
        {
            try
            {
                await Kernel.Call(member, new FsCloseAllOf(core));
                break;
            }
            catch (FosException)
            {
                // That member left the fleet: try the next.
            }
        }
        // Memory is granted by the members of the process's own machine; the directory carries the names' withdrawal everywhere.
        await TellEvery(WellKnownNames.Memory, new MemReleaseAll(core), sameMachine: true);
        await TellEvery(WellKnownNames.NameService, new NameWithdrawCore(core), sameMachine: true);
    }

    private async Task<IEnumerable<Endpoint>> Members(string fleet)
    {
        try
        {
            return (await Kernel.LookupAll(fleet)).Members;
        }
        catch (FosException)
        {
            return []; // no such fleet in this system
        }
    }

    private async Task TellEvery(string fleet, object request, bool sameMachine)
    {
        foreach (var member in await Members(fleet))
        {
            if (sameMachine && member.Address.Machine != Machine) continue;
            try
            {
                await Kernel.Call(member, request);
            }
            catch (FosException)
            {
                // That member is gone, and what it held with it.
            }
        }
    }

    /// <summary>The machine whose layout has the least busy application core (this one on a tie, then the lowest number).</summary>
    private async Task<ushort> LeastBusyMachine()
    {
        var layouts = (await Members(WellKnownNames.Layout)).ToList();
        if (layouts.All(l => l.Address.Machine == Machine)) return (ushort)Machine; // a machine on its own: its layout places
        var (best, load) = (Machine, int.MaxValue);
        foreach (var layout in layouts.OrderBy(m => m.Address.Machine != Machine).ThenBy(m => m.Address.Machine))
        {
            try
            {
                var cores = await Kernel.Call<LayoutCore[]>(layout, new LayoutTable());
                var least = cores.Where(c => c.Role != "system").Select(c => c.Applications).DefaultIfEmpty(int.MaxValue).Min();
                if (least < load) (best, load) = (layout.Address.Machine, least);
            }
            catch (FosException)
            {
                // That machine is down or still booting: place elsewhere.
            }
        }
        return (ushort)best;
    }

    /// <summary>Every process on every machine; a machine that does not answer is left out.</summary>
    private async Task<ProcInfo[]> ListEverywhere()
    {
        var all = new List<ProcInfo>(List());
        foreach (var member in await Members(WellKnownNames.Processes))
        {
            if (member.Address.Machine == Machine) continue;
            try
            {
                all.AddRange(await Kernel.Call<ProcInfo[]>(member, new ProcList(HereOnly: true)));
            }
            catch (FosException)
            {
                // Down, or cut off: its processes cannot be listed now.
            }
        }
        return [.. all.OrderBy(p => p.Core.Machine).ThenBy(p => p.Pid)];
    }

    private ProcInfo[] List() =>
        [.. processes.Values.OrderBy(p => p.Pid).Select(p => new ProcInfo(p.Pid, p.Name, p.Core, p.Exit?.State ?? ProcState.Running,
            p.Exit?.ExitCode, p.Handle?.MessagesSent ?? 0, p.Handle?.Core ?? default, p.Handle?.HostPid ?? 0))];
}
