using System.Security.Cryptography;
using System.Text;
using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Kernel.Naming;
using Fos.Kernel.Network;
using Fos.Kernel.Storage;

namespace Fos.Simulation;

/// <summary>How to build a simulated fos system.</summary>
public sealed record SimOptions
{
    /// <summary>Fixes every choice the simulator makes: latencies, jitter, faults, capabilities, randomness.</summary>
    public ulong Seed { get; init; } = 1;

    public int Machines { get; init; } = 1;

    public int CoresPerMachine { get; init; } = 4;

    public LatencyModel Latency { get; init; } = new();

    public FaultPlan Faults { get; init; } = FaultPlan.None;

    /// <summary>Faults of the network between machines: the frames on their proxies' links (messages between cores are <see cref="Faults"/>').</summary>
    public FaultPlan NetworkFaults { get; init; } = FaultPlan.None;

    /// <summary>Keep a readable line per delivered message (for <c>fos sim --verbose</c> and failing tests).</summary>
    public bool KeepLog { get; init; }

    /// <summary>How long a store's sync takes on the simulated disk.</summary>
    public TimeSpan SyncLatency { get; init; } = TimeSpan.FromMicroseconds(100);
}

/// <summary>
/// A whole fos system — every core of every machine — run on one thread in virtual time. Events
/// (deliveries, timers, continuations) are ordered by (time, sequence), latencies come from the
/// <see cref="LatencyModel"/> and faults from the <see cref="FaultPlan"/>, all drawn from one seed:
/// the same seed gives the same run and the same trace digest, bit for bit. The kernels and servers
/// are the very same code as on real cores.
/// </summary>
public sealed class SimulatedSystem : IFosRuntime
{
    private readonly PriorityQueue<SimEvent, (long Time, long Sequence)> events = new();
    private readonly Dictionary<CoreId, SimCore> cores = [];
    private readonly List<SimCore> ordered = [];
    private readonly Dictionary<(CoreId, CoreId), long> lastArrival = [];
    private readonly SimRandom network;
    private readonly IncrementalHash trace = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<string>? log;
    private readonly int ownerThread = Environment.CurrentManagedThreadId;
    private bool dispatching; // a simulated core is running code now (only then may continuations be posted)
    private long sequence;
    private int nextProcessSlot;

    public SimulatedSystem(SimOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Machines is < 1 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(options), options.Machines, "machines must be between 1 and 65535");
        if (options.CoresPerMachine is < 1 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(options), options.CoresPerMachine, "cores per machine must be between 1 and 65535");
        Options = options;
        network = new SimRandom(options.Seed);
        log = options.KeepLog ? [] : null;
        Disk = new SimDisk(this);
        Network = new SimNetwork(this, new SimRandom(network.Next()));
        if (options.Machines > 1) Directory = new SimDirectory(this, new SimRandom(network.Next()));
        for (var m = 1; m <= options.Machines; m++)
            for (var c = 0; c < options.CoresPerMachine; c++)
            {
                var core = new SimCore(this, new CoreId((ushort)m, (ushort)c), new SimRandom(network.Next()));
                cores.Add(core.Core, core);
                ordered.Add(core);
            }
        var directory = ordered.ToDictionary(c => c.Core, c => c.Kernel.ControlEndpoint);
        foreach (var core in ordered) core.Kernel.Directory = directory;
    }

    public SimOptions Options { get; }

    /// <summary>The simulated disk behind every store of every machine.</summary>
    internal SimDisk Disk { get; }

    /// <summary>The network between the machines' proxies.</summary>
    internal SimNetwork Network { get; }

    /// <summary>The directory of names shared by the machines' naming servers (none with one machine: it commits locally).</summary>
    internal SimDirectory? Directory { get; }

    /// <summary>Whether any core of machine <paramref name="machine"/> still runs.</summary>
    internal bool MachineAlive(ushort machine) => ordered.Any(c => c.Core.Machine == machine && !c.Dead);

    /// <summary>Frames the proxies' links carried, and how many of them the network lost.</summary>
    public (long Sent, long Dropped) LinkFrames => (Network.FramesSent, Network.FramesDropped);

    /// <summary>Cuts the network between two machines: every frame between them is lost, silently, until <see cref="Heal"/>.</summary>
    public void Partition(ushort a, ushort b) => Network.Partition(a, b);

    /// <summary>Delivers <paramref name="frame"/> to <paramref name="to"/>'s proxy as if it came over the link from <paramref name="from"/> (a hostile or broken peer).</summary>
    public void InjectLinkFrame(ushort from, ushort to, byte[] frame) => Network.Inject(from, to, frame);

    /// <summary>Joins two machines' network again; their proxies' links come back up.</summary>
    public void Heal(ushort a, ushort b) => Network.Heal(a, b);

    /// <summary>The keys and values of a store that would survive a crash now.</summary>
    public IReadOnlyDictionary<byte[], byte[]> DurableContents(string store) => Disk.Durable(store);

    public string Kind => "simulated";

    public IReadOnlyList<CoreId> Cores => [.. ordered.Select(c => c.Core)];

    /// <summary>Virtual nanoseconds since the system started.</summary>
    public long NowNanoseconds { get; private set; }

    public TimeSpan Now => TimeSpan.FromTicks(NowNanoseconds / 100);

    public long Delivered { get; private set; }
    public long Dropped { get; private set; }
    public long Duplicated { get; private set; }
    public long Delayed { get; private set; }
    public long LostToCrash { get; private set; }

    /// <summary>Exceptions that escaped code on a simulated core (the core survived each).</summary>
    public List<string> Faults { get; } = [];

    /// <summary>The readable trace, when <see cref="SimOptions.KeepLog"/> is set.</summary>
    public IReadOnlyList<string> Log => log ?? [];

    /// <summary>SHA-256 over every delivered message and injected fault so far, in order, as hex.</summary>
    public string TraceDigest => Convert.ToHexStringLower(trace.GetCurrentHash());

    public CoreKernel Kernel(CoreId core) => Get(core).Kernel;

    public bool IsAlive(CoreId core) => !Get(core).Dead;

    // ---- running -----------------------------------------------------------------------------

    public Task<T> Execute<T>(CoreId core, Func<CoreKernel, Task<T>> program, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var target = Get(core);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(NowNanoseconds, target, new SimEvent(() =>
        {
            Task<T> running;
            try
            {
                running = program(target.Kernel);
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
                return;
            }
            running.ContinueWith(t =>
            {
                if (t.IsFaulted) done.TrySetException(t.Exception!.InnerExceptions);
                else if (t.IsCanceled) done.TrySetCanceled();
                else done.TrySetResult(t.Result);
            }, TaskContinuationOptions.ExecuteSynchronously);
        }));
        var limit = NowNanoseconds + (deadline ?? TimeSpan.FromMinutes(10)).Ticks * 100;
        RunUntil(() => done.Task.IsCompleted, limit);
        if (!done.Task.IsCompleted)
            done.TrySetException(new TimeoutException(
                $"the program on {core} did not finish by virtual time {TimeSpan.FromTicks(limit / 100)} ({(target.Dead ? "its core crashed" : "no more events could make progress")})"));
        return done.Task;
    }

    /// <summary>Runs events until <paramref name="stop"/> holds, no event is left, or virtual time passes <paramref name="limitNanoseconds"/>.</summary>
    public void RunUntil(Func<bool> stop, long limitNanoseconds)
    {
        if (Environment.CurrentManagedThreadId != ownerThread)
            throw new InvalidOperationException("a simulated system runs on the thread that created it");
        var outer = SynchronizationContext.Current;
        try
        {
            while (!stop() && events.TryPeek(out _, out var key) && key.Time <= limitNanoseconds)
            {
                var next = events.Dequeue();
                NowNanoseconds = Math.Max(NowNanoseconds, key.Time);
                Dispatch(next);
            }
            if (!stop() && NowNanoseconds < limitNanoseconds && limitNanoseconds != long.MaxValue && events.Count == 0)
                NowNanoseconds = limitNanoseconds;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(outer);
        }
    }

    /// <summary>Lets virtual time pass, running everything due in it.</summary>
    public void RunFor(TimeSpan span)
    {
        var limit = NowNanoseconds + span.Ticks * 100;
        RunUntil(() => false, limit);
        NowNanoseconds = Math.Max(NowNanoseconds, limit);
    }

    /// <summary>Schedules <paramref name="action"/> (a fault, a check) at a virtual time from now.</summary>
    public void At(TimeSpan fromNow, Action action) =>
        Enqueue(NowNanoseconds + fromNow.Ticks * 100, core: null, new SimEvent(action));

    // ---- faults ------------------------------------------------------------------------------

    /// <summary>A core dies: everything on it stops at once, and messages to it vanish.</summary>
    public void CrashCore(CoreId core)
    {
        var target = Get(core);
        if (target.Dead) return;
        target.Dead = true;
        Record($"crash core {core}");
        Disk.Crash(core);
    }

    /// <summary>A server dies: its mailboxes close, and calls to it fail from now on.</summary>
    public void CrashServer(Address server)
    {
        var target = Get(server.CoreId);
        Record($"crash server {server}");
        if (target.Dead) return;
        InContext(target, () => target.Kernel.StopServer(server));
    }

    /// <summary>A whole machine dies: every one of its cores.</summary>
    public void CrashMachine(ushort machine)
    {
        if (ordered.All(c => c.Core.Machine != machine))
            throw new FosException(FosError.NoSuchCore, $"m{machine} is not a machine of this simulated system ({Options.Machines} machines)");
        foreach (var core in ordered.Where(c => c.Core.Machine == machine)) CrashCore(core.Core);
    }

    // ---- processes ---------------------------------------------------------------------------

    /// <summary>
    /// Starts a program given as code on a new process core placed at <paramref name="near"/>: it
    /// finds the name server as every core does, but holds no other core's kernel endpoint, so it
    /// can spawn and stop nothing.
    /// </summary>
    internal ProcessHandle StartProcess(SimCore starter, ProcessLaunch launch, CoreId near, Action<ProcessStream, ReadOnlyMemory<byte>> output)
    {
        if (launch.Main is not { } main)
            throw new FosException(FosError.BadRequest,
                $"cannot start {launch.Name}: the simulator runs programs given as code, not assemblies ({launch.AssemblyPath})");
        var placement = Get(near);
        var core = new SimCore(this, CoreId.Process(near.Machine, nextProcessSlot++), new SimRandom(network.Next()), placement.Core, stores: false);
        core.Kernel.NameServer = starter.Kernel.NameServer;
        cores.Add(core.Core, core);
        var process = new SimProcess(this, core, starter, launch, output);
        Record($"start process {launch.Pid} on {core.Core} at {near}");
        Enqueue(NowNanoseconds, core, new SimEvent(() => _ = process.Run(main)));
        return process;
    }

    // ---- memory ------------------------------------------------------------------------------

    private readonly Dictionary<long, (byte[] Bytes, CoreId Holder)> grants = [];
    private long lastGrant;

    /// <summary>Memory granted to a core: an array only that core's kernel can map (the simulator's memfd).</summary>
    internal long GrantMemory(CoreId holder, long bytes)
    {
        if (bytes is <= 0 or > int.MaxValue)
            throw new FosException(FosError.ServiceError, $"EINVAL: a grant is 1 byte to 2 GiB, not {bytes}", "EINVAL");
        if (!cores.ContainsKey(holder)) throw new FosException(FosError.NoSuchCore, $"{holder} is not a core of this simulated system");
        grants[++lastGrant] = (new byte[bytes], holder);
        return lastGrant;
    }

    internal void RevokeMemory(long token) => grants.Remove(token);

    internal long ShareMemory(long token, CoreId holder)
    {
        if (!cores.ContainsKey(holder)) throw new FosException(FosError.NoSuchCore, $"{holder} is not a core of this simulated system");
        if (!grants.TryGetValue(token, out var grant)) throw new FosException(FosError.ServiceError, $"EBADF: no memory {token} to share", "EBADF");
        grants[++lastGrant] = (grant.Bytes, holder);
        return lastGrant;
    }

    internal Memory<byte> MapMemory(CoreId core, long token, long bytes) =>
        grants.TryGetValue(token, out var grant) && grant.Holder == core && bytes <= grant.Bytes.Length
            ? grant.Bytes.AsMemory(0, (int)bytes)
            : throw new FosException(FosError.ServiceError, $"EBADF: no memory {token} was granted to {core}", "EBADF");

    /// <summary>A process ended: its core is gone, and what is still on its way to it is refused as to no core.</summary>
    internal void RemoveProcessCore(SimCore core)
    {
        foreach (var token in grants.Where(g => g.Value.Holder == core.Core).Select(g => g.Key).ToList()) grants.Remove(token);
        core.Dead = true;
        cores.Remove(core.Core);
        Record($"end process core {core.Core}");
    }

    // ---- the core hosts' side ----------------------------------------------------------------

    internal bool Route(SimCore from, in Envelope envelope)
    {
        // Off the machine through its proxy, when it has one; without one, straight across (a
        // system booted without proxies, priced by the latency model alone).
        if (envelope.To.Machine != from.Core.Machine && from.Kernel.Proxy is { } proxy)
            return Route(from, RemoteEnvelope.Wrap(envelope, proxy));
        if (!cores.TryGetValue(envelope.To.CoreId, out var target)) return false;
        from.Sent++;
        var cost = Options.Latency.Cost(from.Position, target.Position, network);
        var faults = Options.Faults;
        var crossesCores = from.Position != target.Position;
        if (crossesCores && faults.Any)
        {
            if (network.Chance(faults.DropRate))
            {
                Dropped++;
                Record($"drop {envelope}");
                return true;
            }
            if (network.Chance(faults.DelayRate))
            {
                Delayed++;
                cost += network.NextLong(faults.MaxExtraDelay.Ticks * 100) + 1;
            }
        }
        var arrival = Arrive(from.Core, target.Core, NowNanoseconds + cost);
        Enqueue(arrival, target, new SimEvent(envelope));
        if (crossesCores && faults.Any && network.Chance(faults.DuplicateRate))
        {
            Duplicated++;
            Enqueue(Arrive(from.Core, target.Core, arrival + 1), target, new SimEvent(envelope));
        }
        return true;
    }

    /// <summary>Messages between a pair of cores arrive in the order they were sent, whatever their jitter.</summary>
    private long Arrive(CoreId from, CoreId to, long arrival)
    {
        if (lastArrival.TryGetValue((from, to), out var last) && arrival <= last) arrival = last + 1;
        lastArrival[(from, to)] = arrival;
        return arrival;
    }

    /// <summary>Runs <paramref name="action"/> on <paramref name="core"/> at virtual time <paramref name="time"/> (unless it dies).</summary>
    internal void AtTime(long time, SimCore core, Action action) => Enqueue(Math.Max(time, NowNanoseconds), core, new SimEvent(action));

    /// <summary>Runs <paramref name="action"/> on <paramref name="core"/> after <paramref name="delay"/> of virtual time (unless it dies).</summary>
    internal void After(SimCore core, TimeSpan delay, Action action) =>
        Enqueue(NowNanoseconds + delay.Ticks * 100, core, new SimEvent(action));

    internal void Schedule(SimCore core, KernelTimer timer) =>
        Enqueue(Math.Max(timer.DueNanoseconds, NowNanoseconds), core, new SimEvent(timer));

    internal bool IsSimulationThread => Environment.CurrentManagedThreadId == ownerThread;

    internal void Post(SimCore core, SendOrPostCallback callback, object? state)
    {
        if (Environment.CurrentManagedThreadId != ownerThread || !dispatching)
        {
            // Only kernel-made tasks, completed while a simulated core runs, may resume server code;
            // anything else (another thread, or the test's own code between runs) breaks determinism.
            lock (Faults) Faults.Add($"{core.Core}: a continuation arrived from another thread (server code awaited something that is not the kernel's)");
            return;
        }
        Enqueue(NowNanoseconds, core, new SimEvent(() => callback(state)));
    }

    private void Enqueue(long time, SimCore? core, SimEvent item)
    {
        item.Core = core;
        events.Enqueue(item, (time, ++sequence));
    }

    private void Dispatch(SimEvent item)
    {
        var core = item.Core;
        if (core is null)
        {
            item.Action!();
            return;
        }
        if (core.Dead)
        {
            if (item.Timer is null && item.Action is null) LostToCrash++;
            return;
        }
        SynchronizationContext.SetSynchronizationContext(core.Context);
        dispatching = true;
        try
        {
            if (item.Timer is { } timer) timer.Fire();
            else if (item.Action is { } action) action();
            else
            {
                Delivered++;
                Record(item.Envelope);
                core.Kernel.Deliver(item.Envelope);
            }
        }
        catch (Exception ex)
        {
            core.Kernel.Stats.HandlerFailures++;
            Faults.Add($"{core.Core} at {NowNanoseconds} ns: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            dispatching = false;
        }
    }

    private void InContext(SimCore core, Action action)
    {
        var outer = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(core.Context);
        var wasDispatching = dispatching;
        dispatching = true;
        try
        {
            action();
        }
        finally
        {
            dispatching = wasDispatching;
            SynchronizationContext.SetSynchronizationContext(outer);
        }
    }

    private void Record(in Envelope envelope) =>
        Record($"{envelope.Kind} {envelope.From}>{envelope.To} #{envelope.CorrelationId} {envelope.Body}");

    internal void Record(string line)
    {
        var text = $"{NowNanoseconds} {line}\n";
        trace.AppendData(Encoding.UTF8.GetBytes(text));
        log?.Add(text.TrimEnd('\n'));
    }

    private SimCore Get(CoreId core) =>
        cores.TryGetValue(core, out var found)
            ? found
            : throw new FosException(FosError.NoSuchCore, $"{core} is not a core of this simulated system ({Options.Machines} machines × {Options.CoresPerMachine} cores)");

    public ValueTask DisposeAsync()
    {
        trace.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>One thing to do at a virtual time on a core: deliver, fire a timer, or run an action.</summary>
    private sealed class SimEvent
    {
        public SimEvent(Envelope envelope) => Envelope = envelope;
        public SimEvent(KernelTimer timer) => Timer = timer;
        public SimEvent(Action action) => Action = action;

        public SimCore? Core;
        public readonly Envelope Envelope;
        public readonly KernelTimer? Timer;
        public readonly Action? Action;
    }
}

/// <summary>One simulated core: the host beneath a <see cref="CoreKernel"/>, backed by the simulator's event queue.</summary>
internal sealed class SimCore : ICoreHost
{
    private readonly SimulatedSystem system;
    private readonly SimRandom random;
    private readonly bool hasStores;

    public SimCore(SimulatedSystem system, CoreId core, SimRandom random, CoreId? position = null, bool stores = true)
    {
        this.system = system;
        this.random = random;
        hasStores = stores;
        Core = core;
        Position = position ?? core;
        Context = new SimContext(this);
        Kernel = new CoreKernel(this);
    }

    public CoreId Core { get; }

    /// <summary>Where on the chip the core sits: itself, or for a process core the core it was placed on.</summary>
    public CoreId Position { get; }

    /// <summary>Messages sent from this core.</summary>
    public long Sent { get; set; }
    public CoreKernel Kernel { get; }
    public SynchronizationContext Context { get; }
    public bool Dead { get; set; }

    public long NowNanoseconds => system.NowNanoseconds;

    public bool Transmit(in Envelope envelope) => system.Route(this, envelope);

    public void Schedule(KernelTimer timer) => system.Schedule(this, timer);

    public ulong NextRandom() => random.Next();

    public Capability NewCapability() => new(random.Next(), random.Next());

    public IStoreProvider? Stores => hasStores ? new CoreStores(this) : null;

    public IDirectory OpenDirectory(IDirectoryEvents events) =>
        Core.IsProcess ? throw new FosException(FosError.BadRequest, $"{Core} is an application's core: the directory is the naming server's")
        : system.Directory?.Open(this, events) ?? new LocalDirectory(events);

    public ILinks OpenLinks(ILinkEvents events) =>
        !Core.IsProcess ? system.Network.Open(this, events)
        : throw new FosException(FosError.BadRequest, $"{Core} is an application's core: it holds no links");

    public ProcessHandle StartProcess(ProcessLaunch launch, CoreId near, Action<ProcessStream, ReadOnlyMemory<byte>> output) =>
        !Core.IsProcess ? system.StartProcess(this, launch, near, output)
        : throw new FosException(FosError.BadRequest, $"{Core} is an application's core: it cannot start processes");

    public long GrantMemory(CoreId holder, long bytes) =>
        !Core.IsProcess ? system.GrantMemory(holder, bytes)
        : throw new FosException(FosError.BadRequest, $"{Core} is an application's core: it cannot grant memory");

    public void RevokeMemory(long token)
    {
        if (Core.IsProcess) throw new FosException(FosError.BadRequest, $"{Core} is an application's core: it cannot revoke memory");
        system.RevokeMemory(token);
    }

    public Memory<byte> MapMemory(long token, long bytes) => system.MapMemory(Core, token, bytes);

    public long ShareMemory(long token, CoreId holder) =>
        !Core.IsProcess ? system.ShareMemory(token, holder)
        : throw new FosException(FosError.BadRequest, $"{Core} is an application's core: it cannot share memory");

    /// <summary>Stores opened from this core, so the disk knows whose crash loses what.</summary>
    private sealed class CoreStores(SimCore core) : IStoreProvider
    {
        public IStore Open(string name) => core.system.Disk.Open(core, name);
    }

    private sealed class SimContext(SimCore core) : KernelSynchronizationContext
    {
        public override IKernel Kernel => core.Kernel;

        public override bool IsLoopThread => core.system.IsSimulationThread;

        public override void Post(SendOrPostCallback d, object? state) => core.system.Post(core, d, state);

        public override void Send(SendOrPostCallback d, object? state) =>
            throw new NotSupportedException("a simulated core does not block on another's loop");

        public override SynchronizationContext CreateCopy() => this;
    }
}
