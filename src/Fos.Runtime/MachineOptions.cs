namespace Fos.Runtime;

/// <summary>How to start a real fos machine.</summary>
public sealed record MachineOptions
{
    /// <summary>This machine's number in the cluster (the <c>m</c> of <c>m1.c3.b7</c>).</summary>
    public ushort MachineId { get; init; } = 1;

    /// <summary>fos cores to run. May exceed the host's CPUs: then cores float and park (oversubscribed).</summary>
    public int Cores { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Slots in each cross-core ring (a power of two).</summary>
    public int RingCapacity { get; init; } = 1024;

    /// <summary>Messages a core may hold back for a full ring before Send pushes back with an error.</summary>
    public int OverflowLimit { get; init; } = 65_536;

    /// <summary>
    /// How long an idle core polls before it parks. Waking a parked thread costs 26–43 µs on the
    /// reference machine, so a core that parks sooner pays that on every message after a pause;
    /// spinning for about one wake-up cost keeps the worst case within twice the best (the
    /// classic competitive bound). Null takes 50 µs, or 0 (park at once) on an oversubscribed host
    /// where a spinning core would steal the CPU of the core it waits for.
    /// </summary>
    public TimeSpan? SpinBeforePark { get; init; }

    /// <summary>Pin each core's thread to its own CPU. Null: pin when the host has at least as many CPUs as cores.</summary>
    public bool? Pin { get; init; }

    /// <summary>
    /// Where the machine keeps its services' stores and its lock; null: no storage (services that
    /// need a disk refuse to start). Only one machine process may use a data directory at a time.
    /// </summary>
    public string? DataDirectory { get; init; }

    /// <summary>
    /// How long a stopping machine waits for its cores' threads to end. A core still running after
    /// it (code on it blocks its loop) may still use the stores, so the machine then leaves them open.
    /// </summary>
    public TimeSpan CoreStopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Data bytes of each ring between an application process and a machine core (a power of two).
    /// A message may take up to half of it, so it must hold the largest write Fos.Sys sends (1 MiB).
    /// Pages are touched only as the ring is used.
    /// </summary>
    public int ProcessRingCapacity { get; init; } = 4 << 20;

    /// <summary>The application host (Fos.AppHost.dll) that runs each application process; null: the one beside this runtime.</summary>
    public string? ApplicationHost { get; init; }

    /// <summary>
    /// The most memory an application's .NET heap may take (the runtime's hard heap limit), and with
    /// 1 GiB more for the runtime itself, all the private memory it may map (RLIMIT_DATA, which
    /// catches native allocations too); past either the program fails with OutOfMemoryException,
    /// and the machine is untouched. 0: no limit.
    /// </summary>
    public long ProcessMemoryLimit { get; init; } = 1L << 30;

    /// <summary>
    /// Keep one application host started ahead, for the directory of the program started last, so
    /// the next program from there skips .NET's start-up (see <see cref="Processes.WarmHost"/>).
    /// </summary>
    public bool WarmHosts { get; init; } = true;

    /// <summary>Run application processes in a sandbox when the host can make one (null or true), or never (false).</summary>
    public bool? Sandbox { get; init; }

    /// <summary>The storage engine behind services' stores.</summary>
    public Storage.StoreEngine StoreEngine { get; init; } = Storage.StoreEngine.RocksDb;

    /// <summary>
    /// Who this machine is in its cluster (its certificate, from the cluster's authority): needed
    /// for links to other machines. Null: a machine on its own, which reaches no other.
    /// </summary>
    public Network.ClusterIdentity? Identity { get; init; }

    /// <summary>On the machine that made the cluster: what lets it admit machines that ask to join with a token.</summary>
    public Network.ClusterAuthority? Authority { get; init; }

    /// <summary>Where this machine accepts links from other machines (port 0: any free port). Null: it only dials.</summary>
    public System.Net.IPEndPoint? Listen { get; init; }

    /// <summary>
    /// This machine's node of the cluster's replicated directory of names: its naming server's
    /// replica is that node's (<see cref="Network.RaftDirectory.Open"/>). Null: the directory of a
    /// machine on its own, which commits every change at once. Whoever started the node disposes
    /// it, after the machine.
    /// </summary>
    public Network.RaftDirectory? Directory { get; init; }

    /// <summary>Where the machine says what happens to it (machines joining, links lost, connections refused); null: standard error.</summary>
    public Action<string>? Log { get; init; }
}
