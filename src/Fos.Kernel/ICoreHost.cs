namespace Fos.Kernel;

/// <summary>
/// What a kernel needs from the runtime beneath it: a clock, timers, randomness and a way to move
/// an envelope to a core. The real runtime backs it with pinned threads and cross-core rings; the
/// simulator with virtual time, a latency model and injected faults. The kernel above is the same.
/// </summary>
public interface ICoreHost
{
    CoreId Core { get; }

    /// <summary>Monotonic nanoseconds since boot.</summary>
    long NowNanoseconds { get; }

    /// <summary>
    /// True when this runtime calls <see cref="CoreKernel.ClockRead"/> every time its loop reads the
    /// clock, at least every few turns, and before its loop sleeps. A call then reads no clock when
    /// it is made: its deadline is counted from the next clock read, so it may time out late (by the
    /// turns until that read, and what is left of the turn it was made in), never early. (An exact
    /// clock read costs a tenth of a call between cores.) False: each call reads the clock.
    /// </summary>
    bool ReportsClockReads => false;

    /// <summary>
    /// Moves an envelope towards <c>envelope.To</c>'s core (this core included). Returns false
    /// when no such core is reachable. Throws <see cref="FosException"/> with
    /// <see cref="FosError.Backpressure"/> when the path is full.
    /// </summary>
    bool Transmit(in Envelope envelope);

    /// <summary>Arms a timer on this core's loop.</summary>
    void Schedule(KernelTimer timer);

    ulong NextRandom();

    /// <summary>A fresh unguessable capability (cryptographic on real cores, seeded in the simulator).</summary>
    Capability NewCapability();

    /// <summary>Where services on this core open their stores; null when the machine has no storage.</summary>
    Storage.IStoreProvider? Stores => null;

    /// <summary>See <see cref="IKernel.GrantMemory"/>.</summary>
    long GrantMemory(CoreId holder, long bytes) =>
        throw new FosException(FosError.BadRequest, $"{Core} cannot grant memory: only the machine's own cores can");

    /// <summary>See <see cref="IKernel.RevokeMemory"/>.</summary>
    void RevokeMemory(long token) =>
        throw new FosException(FosError.BadRequest, $"{Core} cannot revoke memory: only the machine's own cores can");

    /// <summary>See <see cref="IKernel.ShareMemory"/>.</summary>
    long ShareMemory(long token, CoreId holder) =>
        throw new FosException(FosError.BadRequest, $"{Core} cannot share memory: only the machine's own cores can");

    /// <summary>See <see cref="IKernel.MapMemory"/>.</summary>
    Memory<byte> MapMemory(long token, long bytes) =>
        throw new FosException(FosError.ServiceError, $"EBADF: no memory {token} was granted to {Core}", "EBADF");

    /// <summary>See <see cref="IKernel.UnmapMemory"/>.</summary>
    void UnmapMemory(long token) { }

    /// <summary>See <see cref="IKernel.OpenDirectory"/>; by default the directory of a machine on its own.</summary>
    Naming.IDirectory OpenDirectory(Naming.IDirectoryEvents events) => new Naming.LocalDirectory(events);

    /// <summary>See <see cref="IKernel.OpenLinks"/>.</summary>
    Network.ILinks OpenLinks(Network.ILinkEvents events) =>
        throw new FosException(FosError.BadRequest, $"{Core} has no network: this machine cannot reach others");

    /// <summary>Starts an application process (see <see cref="IKernel.StartProcess"/>); a runtime that cannot says so.</summary>
    Processes.ProcessHandle StartProcess(Processes.ProcessLaunch launch, CoreId near, Action<Processes.ProcessStream, ReadOnlyMemory<byte>> output) =>
        throw new FosException(FosError.BadRequest, $"{Core} cannot start processes: only the machine's own cores can");
}
