using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Layout;
using Fos.Protocols.Memory;
using Fos.Protocols.Processes;

namespace Fos.Services.Processes;

/// <summary>
/// A member of the process fleet (<c>/sys/proc</c>): starts programs on the cores the layout
/// chooses, waits for them, kills them, lists them, and reclaims what an ended process held (its
/// open files) by telling the fleets that hold it. A pid names its member in its low bits
/// (pid mod <see cref="MaxMembers"/>), so any member can pass a request to the one that knows.
/// </summary>
public sealed class ProcessServer : Server
{
    public const int MaxMembers = 64;

    private readonly Dictionary<long, Proc> processes = [];
    private Endpoint[] members = [];
    private FsMember[] fileSystem = [];
    private int index;
    private long next = 1;

    public static readonly ServerImage Image = new("proc", () => new ProcessServer());

    /// <summary>
    /// Sent by boot: who the members are, which one this is, and the file-system fleet's members
    /// (whose peer mailboxes take the notice that a process ended).
    /// </summary>
    public sealed record Configure(int Index, Endpoint[] Members, FsMember[]? FileSystem = null);

    private sealed class Proc(long pid, string name, CoreId core)
    {
        public long Pid { get; } = pid;
        public string Name { get; } = name;
        public CoreId Core { get; } = core;
        public Endpoint Host;
        public bool Placed; // the layout chose its core, so the layout hears when it ends
        public bool Ending;
        public ProcExit? Exit;
        public long SystemCalls;
        public readonly List<TaskCompletionSource<ProcExit>> Waiters = [];
    }

    protected override ValueTask<object?> Handle(Message message) => message.Body switch
    {
        Configure c => Reply(Configured(c)),
        ProcSpawn s => ReplyWhenDone(Spawn(s)),
        ProcWait w => Mine(w.Pid) ? ReplyWhenDone(Wait(w.Pid)) : Forward(w.Pid, w),
        ProcKill k => Mine(k.Pid) ? ReplyWhenDone(Kill(k.Pid)) : Forward(k.Pid, k),
        ProcEnded e => ReplyWhenDone(Ended(e)),
        ProcList => ReplyWhenDone(List()),
        _ => throw new FosException(FosError.BadRequest, $"the process service does not understand {message.Body?.GetType().Name ?? "null"}"),
    };

    private Ack Configured(Configure configure)
    {
        if (configure.Members.Length is 0 or > MaxMembers || configure.Index < 0 || configure.Index >= configure.Members.Length)
            throw new FosException(FosError.BadRequest, $"a process fleet has 1 to {MaxMembers} members, this one among them");
        members = configure.Members;
        index = configure.Index;
        fileSystem = configure.FileSystem ?? [];
        return Ack.Instance;
    }

    private bool Mine(long pid) => members.Length == 0 || pid % MaxMembers == index;

    private async ValueTask<object?> Forward(long pid, object request)
    {
        var member = (int)(pid % MaxMembers);
        if (pid <= 0 || member >= members.Length) throw NoSuchProcess(pid);
        return await Kernel.Call(members[member], request);
    }

    private static FosException NoSuchProcess(long pid) => new(FosError.ServiceError, $"ESRCH: no process {pid}", "ESRCH");

    private async Task<long> Spawn(ProcSpawn request)
    {
        ArgumentNullException.ThrowIfNull(request.Program);
        var core = request.Core ?? await Kernel.Call<CoreId>(WellKnownNames.Layout, new LayoutPlace());
        var pid = next++ * MaxMembers + index;
        var proc = new Proc(pid, request.Program.Name, core) { Placed = request.Core is null };
        processes.Add(pid, proc);
        try
        {
            proc.Host = await Kernel.Spawn(ApplicationHost.Image(pid, request.Program, request.Args ?? [], Endpoint), core);
        }
        catch (FosException ex)
        {
            processes.Remove(pid);
            if (proc.Placed) await Release(core);
            throw new FosException(ex.Error, $"cannot start {request.Program.Name} on {core}: {ex.Message}", ex.Code);
        }
        return pid;
    }

    private async Task<ProcExit> Wait(long pid)
    {
        if (!processes.TryGetValue(pid, out var proc)) throw NoSuchProcess(pid);
        if (proc.Exit is { } exit) return exit;
        var waiter = new TaskCompletionSource<ProcExit>();
        proc.Waiters.Add(waiter);
        return await waiter.Task;
    }

    private async Task<Ack> Kill(long pid)
    {
        if (!processes.TryGetValue(pid, out var proc)) throw NoSuchProcess(pid);
        if (proc.Ending) return Ack.Instance;
        if (proc.Host == default) throw new FosException(FosError.ServiceError, $"EAGAIN: process {pid} is still starting; try again", "EAGAIN");
        proc.Ending = true; // from here on, its end is this kill's to report
        try
        {
            await Kernel.Call(proc.Host, new ProcKill(pid)); // its next system call fails
            await Kernel.Stop(proc.Host);
        }
        catch (FosException)
        {
            // It ended (or its core died) on the way: it is gone either way.
        }
        await Finish(proc, new ProcExit(pid, ProcState.Killed, 137, "", "killed\n"), systemCalls: proc.SystemCalls);
        return Ack.Instance;
    }

    private async Task<Ack> Ended(ProcEnded ended)
    {
        if (processes.TryGetValue(ended.Pid, out var proc) && !proc.Ending)
            await Finish(proc, new ProcExit(ended.Pid, ended.State, ended.ExitCode, ended.Output, ended.Error), ended.SystemCalls);
        return Ack.Instance;
    }

    // A waiter hears of the end only once what the process held is back, as wait(2) after exit.
    private async Task Finish(Proc proc, ProcExit exit, long systemCalls)
    {
        proc.Ending = true;
        proc.SystemCalls = systemCalls;
        if (proc.Placed) await Release(proc.Core);
        await Reclaim(proc.Pid, proc.Core);
        proc.Exit = exit;
        foreach (var waiter in proc.Waiters) waiter.TrySetResult(exit);
        proc.Waiters.Clear();
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

    /// <summary>What an ended process held goes back: its open files are closed, its memory freed.</summary>
    private async Task Reclaim(long pid, CoreId core)
    {
        // One file-system member tells the others; the first one that answers will do.
        foreach (var member in fileSystem)
        {
            try
            {
                await Kernel.Call(member.Peer, new FsCloseAllOf(core, pid));
                break;
            }
            catch (FosException)
            {
                // That member left the fleet: try the next.
            }
        }
        await TellEvery(WellKnownNames.Memory, new MemReleaseAll(pid));
    }

    private async Task TellEvery(string fleet, object request)
    {
        NameRecord record;
        try
        {
            record = await Kernel.LookupAll(fleet);
        }
        catch (FosException)
        {
            return; // no such fleet in this system
        }
        foreach (var member in record.Members)
        {
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

    private async Task<ProcInfo[]> List()
    {
        var rows = new List<ProcInfo>();
        foreach (var p in processes.Values.OrderBy(p => p.Pid))
        {
            if (p.Exit is null)
            {
                try
                {
                    p.SystemCalls = await Kernel.Call<long>(p.Host, new ProcCalls()); // a running program counts its own
                }
                catch (FosException)
                {
                    // Ending right now: the last count stands.
                }
            }
            rows.Add(new ProcInfo(p.Pid, p.Name, p.Core, p.Exit?.State ?? ProcState.Running, p.Exit?.ExitCode, p.SystemCalls));
        }
        return [.. rows];
    }
}
