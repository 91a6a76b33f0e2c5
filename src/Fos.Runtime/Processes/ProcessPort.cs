using Fos.Kernel;

namespace Fos.Runtime.Processes;

/// <summary>
/// The machine's end of one application process: its channel, seen from the machine's cores. Core
/// i writes the ring to the process and reads the ring from it, each made on first use by core i
/// alone. Every ring treats the process as hostile: a broken rule marks the port broken, and the
/// machine kills the process. The channel is unmapped only after every core has let go of the port
/// (<see cref="Release"/>), so no core ever touches memory that is gone.
/// </summary>
internal sealed class ProcessPort(ProcessChannel channel, EventFd processWake, FdChannel fds, int cores)
{
    /// <summary>The machine's end of the socket that carries memory grants' fds into the process.</summary>
    public FdChannel Fds { get; } = fds;

    private readonly FrameRing?[] toProcess = new FrameRing?[cores];
    private readonly FrameRing?[] fromProcess = new FrameRing?[cores];
    private int released;
    private int closed;
    private string? broken;
    private long received;

    public CoreId Core { get; } = channel.Core;

    /// <summary>Set once the process has ended (or is being killed): cores drop the port on their next turn.</summary>
    public bool Closed => Volatile.Read(ref closed) != 0;

    /// <summary>Why the process's side broke a ring's rules, if it did.</summary>
    public string? Broken => Volatile.Read(ref broken);

    /// <summary>Frames the process sent that reached a machine core.</summary>
    public long Received => Interlocked.Read(ref received);

    /// <summary>Called when a core finds the process broke a rule; the machine kills the process.</summary>
    public Action<ProcessPort>? OnBroken { get; set; }

    /// <summary>Called when every core let go: the channel is unmapped.</summary>
    public Action? OnReleased { get; set; }

    public FrameRing Outbound(int core) => toProcess[core] ??= channel.ToProcess(core, hostilePeer: true);

    public FrameRing Inbound(int core) => fromProcess[core] ??= channel.FromProcess(core, hostilePeer: true);

    public void Counted() => Interlocked.Increment(ref received);

    /// <summary>Wakes the process if it is parked; its producer's writes are visible before the flag is read.</summary>
    public void WakeIfParked()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref channel.ProcessParked) != 0) processWake.Signal();
    }

    /// <summary>Core <paramref name="core"/> is about to park (or is awake again): the process rings its fd only while it is parked.</summary>
    public void MarkParked(int core, bool parked) => Volatile.Write(ref channel.CoreParked(core), parked ? 1 : 0);

    public void Break(string reason)
    {
        if (Interlocked.CompareExchange(ref broken, reason, null) is null) OnBroken?.Invoke(this);
    }

    public void Close() => Volatile.Write(ref closed, 1);

    /// <summary>Whether every core has let go of the port (its channel is unmapped).</summary>
    public bool IsReleased => Volatile.Read(ref released) >= cores;

    /// <summary>A core lets go of the port; the last one unmaps the channel.</summary>
    public void Release()
    {
        if (Interlocked.Increment(ref released) != cores) return;
        channel.Dispose();
        processWake.Dispose();
        Fds.Dispose();
        OnReleased?.Invoke();
    }
}
