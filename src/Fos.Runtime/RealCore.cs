using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Fos.Kernel;
using Fos.Protocols.Wire;
using Fos.Kernel.Network;
using Fos.Runtime.Processes;

namespace Fos.Runtime;

/// <summary>
/// One fos core on real hardware: a dedicated thread (pinned to a CPU when the host has enough)
/// running its kernel's loop. The loop polls the ring from every core that has sent to it, its own local queue,
/// timers and work handed in from outside; when it finds nothing for <see cref="MachineOptions.SpinBeforePark"/>
/// it parks on its eventfd, and a sender wakes it (a sender in another process too: application
/// processes hold every core's eventfd). The loop also polls the rings from every application
/// process (<see cref="ProcessPort"/>): what arrives there is decoded, stamped with the process's
/// core as its sender, and delivered or routed like any other message. The loop is also the core's
/// SynchronizationContext, so an await in a server resumes on this core and nowhere else.
/// </summary>
internal sealed class RealCore : ICoreHost
{
    private readonly Machine machine;
    private readonly int index;
    private readonly Queue<Envelope> local = new();
    private readonly Queue<(SendOrPostCallback Callback, object? State)> posted = new();
    private readonly ConcurrentQueue<Action> external = new();
    private readonly ConcurrentQueue<SpscRing> adopted = new();
    private readonly List<SpscRing> inbound = [];
    private readonly PriorityQueue<KernelTimer, long> timers = new();
    private readonly Queue<Envelope>?[] overflow;
    private int backlogged; // how many of overflow are non-empty, so an idle turn skips them all
    private readonly bool[] doorbell;
    private readonly List<int> doorbellList = [];
    private readonly ConcurrentQueue<ProcessPort> adoptedPorts = new();
    private readonly List<ProcessPort> ports = [];
    private readonly Dictionary<ProcessPort, Queue<Envelope>> portBacklog = [];
    private readonly List<ProcessPort> portDoorbells = [];
    private readonly ArrayBufferWriter<byte> body = new(4096);
    private readonly byte[] header = new byte[EnvelopeFrame.HeaderBytes];
    private byte[] frame = new byte[4096];
    private readonly CoreSynchronizationContext context;
    private readonly long spinNanoseconds;
    private readonly Thread thread;
    private ulong randomState;
    private int parked;
    private int handedIn; // 1 once another thread has queued work, a ring or a port: a busy turn reads one field, not three queues
    private readonly bool fenceOnSend; // which side of the wake-up handshake pays the fence (see Notify)
    private volatile bool stopping;

    /// <summary>A turn in this many reads the clock for timers and the idle budget: a clock read costs about a null call's tenth.</summary>
    internal const int TurnsPerClockRead = 8;

    public RealCore(Machine machine, int index)
    {
        this.machine = machine;
        this.index = index;
        Core = new CoreId(machine.Options.MachineId, (ushort)index);
        overflow = new Queue<Envelope>?[machine.Options.Cores];
        doorbell = new bool[machine.Options.Cores];
        context = new CoreSynchronizationContext(this);
        spinNanoseconds = machine.SpinBeforePark.Ticks * 100;
        fenceOnSend = machine.Oversubscribed;
        randomState = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        Kernel = new CoreKernel(this);
        thread = new Thread(Loop) { IsBackground = true, Name = $"fos {Core}" };
    }

    public CoreId Core { get; }

    public CoreKernel Kernel { get; }

    /// <summary>The CPU this core is pinned to, or null when it floats (oversubscribed host).</summary>
    public int? PinnedCpu { get; private set; }

    /// <summary>Wake-ups from the parked state, for the layout and the spin-then-park measurements.</summary>
    public long Parks;

    public long NowNanoseconds => machine.NowNanoseconds;

    public bool ReportsClockReads => true;

    public void Start() => thread.Start();

    public bool IsCoreThread => Thread.CurrentThread == thread;

    /// <summary>The eventfd this core parks on; application processes inherit it to wake the core.</summary>
    public EventFd Wake { get; } = EventFd.Create(inheritable: true);

    // ---- ICoreHost ---------------------------------------------------------------------------

    public bool Transmit(in Envelope envelope)
    {
        // The path every call takes, kept small so it inlines well: a core of this machine (a
        // process's core numbers lie past every machine core), no backlog, room in the ring.
        var to = envelope.To;
        if (to.Machine == Core.Machine && to.Core < machine.CoreCount && to.Core != index
            && overflow[to.Core] is null or { Count: 0 } && machine.Ring(index, to.Core).TryWrite(envelope))
        {
            RingAtEndOfTurn(to.Core);
            return true;
        }
        return TransmitElsewhere(envelope);
    }

    /// <summary>Everything but a send into a ring with room: this core, another machine, a process, a full ring.</summary>
    private bool TransmitElsewhere(in Envelope envelope)
    {
        var to = envelope.To;
        if (to.Machine != Core.Machine) return Kernel.Proxy is { } proxy && Transmit(RemoteEnvelope.Wrap(envelope, proxy));
        if (to.CoreId.IsProcess) return TransmitToProcess(envelope);
        if (to.Core >= machine.CoreCount) return false;
        if (to.Core == index)
        {
            local.Enqueue(envelope);
            return true;
        }
        var backlog = overflow[to.Core];
        if (backlog is { Count: > 0 })
        {
            // Earlier messages to that core still wait: queue behind them to keep FIFO.
            if (backlog.Count >= machine.Options.OverflowLimit)
                throw new FosException(FosError.Backpressure,
                    $"the path {Core} -> {to.CoreId} is full ({backlog.Count} messages waiting): slow down and retry");
            backlog.Enqueue(envelope);
            RingAtEndOfTurn(to.Core);
            return true;
        }
        // The ring was full a moment ago (the fast path tried it): queue, and make sure the
        // receiver is awake to drain it.
        (overflow[to.Core] ??= new Queue<Envelope>()).Enqueue(envelope);
        backlogged++;
        machine.Core(to.Core).Notify();
        return true;
    }

    // A message is visible to a polling receiver as soon as it is in the ring; a parked one is
    // woken once per loop turn (the doorbell), so a burst of sends pays for one wake-up check.
    private void RingAtEndOfTurn(int core)
    {
        if (doorbell[core]) return;
        doorbell[core] = true;
        doorbellList.Add(core);
    }

    /// <summary>
    /// A message into an application process's ring: serialized (its body must be a registered
    /// message type), behind any earlier ones still waiting for room, and the process woken at the
    /// end of the turn if it sleeps. A reply that cannot be serialized goes as a fault saying so.
    /// </summary>
    private bool TransmitToProcess(in Envelope envelope)
    {
        var port = machine.Port(envelope.To.CoreId);
        if (port is null || port.Closed) return false;
        var message = envelope;
        var ring = port.Outbound(index);
        try
        {
            Encode(message, ring.MaxFrame);
        }
        catch (FosException ex) when (envelope.Kind == EnvelopeKind.Reply)
        {
            message = new Envelope(EnvelopeKind.Fault, envelope.To, envelope.Capability, envelope.From, envelope.CorrelationId,
                new KernelFault(ex.Error, ex.Message, ex.Code));
            Encode(message, ring.MaxFrame);
        }
        if (portBacklog.TryGetValue(port, out var backlog))
        {
            if (backlog.Count >= machine.Options.OverflowLimit)
                throw new FosException(FosError.Backpressure, $"the path {Core} -> {port.Core} is full ({backlog.Count} messages waiting): slow down and retry");
            backlog.Enqueue(message);
        }
        else if (!ring.TryWrite(header, body.WrittenSpan))
            portBacklog.Add(port, new Queue<Envelope>([message]));
        if (!portDoorbells.Contains(port)) portDoorbells.Add(port);
        return true;
    }

    private void Encode(in Envelope envelope, int maxFrame)
    {
        EnvelopeFrame.WriteHeader(header, envelope);
        EnvelopeFrame.WriteBody(body, envelope.Body);
        if (header.Length + body.WrittenCount > maxFrame)
            throw new FosException(FosError.BadRequest, $"a message of {body.WrittenCount} bytes is larger than a process can take at once ({maxFrame})");
    }

    public void Schedule(KernelTimer timer) => timers.Enqueue(timer, timer.DueNanoseconds);

    public ulong NextRandom()
    {
        // splitmix64: fast and good enough for program randomness; capabilities use the OS CSPRNG.
        var z = randomState += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public Capability NewCapability()
    {
        Span<byte> secret = stackalloc byte[16];
        RandomNumberGenerator.Fill(secret);
        return new Capability(BitConverter.ToUInt64(secret), BitConverter.ToUInt64(secret[8..]));
    }

    public Fos.Kernel.Storage.IStoreProvider? Stores => machine.Stores;

    public ILinks OpenLinks(ILinkEvents events) => machine.OpenLinks(this, events);

    /// <summary>The cluster's directory when the machine has a node of it (changes come to this core through its loop), else the directory of a machine on its own.</summary>
    public Fos.Kernel.Naming.IDirectory OpenDirectory(Fos.Kernel.Naming.IDirectoryEvents events) =>
        machine.Options.Directory?.Open(events, Inject) ?? new Fos.Kernel.Naming.LocalDirectory(events);

    public long GrantMemory(CoreId holder, long bytes) => machine.GrantMemory(holder, bytes);

    public void RevokeMemory(long token) => machine.RevokeMemory(token);

    public long ShareMemory(long token, CoreId holder) => machine.ShareMemory(token, holder);

    public Memory<byte> MapMemory(long token, long bytes) => machine.MapMemory(Core, token, bytes);

    public Fos.Kernel.Processes.ProcessHandle StartProcess(Fos.Kernel.Processes.ProcessLaunch launch, CoreId near,
        Action<Fos.Kernel.Processes.ProcessStream, ReadOnlyMemory<byte>> output) => machine.StartProcess(this, launch, near, output);

    // ---- work from other threads -------------------------------------------------------------

    /// <summary>Hands work to this core from any thread.</summary>
    public void Inject(Action work)
    {
        external.Enqueue(work);
        if (Volatile.Read(ref handedIn) == 0) Volatile.Write(ref handedIn, 1); // no write to the line the core reads each turn if it is set
        Notify();
    }

    /// <summary>A producer made a ring to this core; this core reads it from its next turn on.</summary>
    public void Adopt(SpscRing ring)
    {
        adopted.Enqueue(ring);
        Volatile.Write(ref handedIn, 1);
    }

    /// <summary>An application process joined: this core reads its ring from the next turn on.</summary>
    public void Adopt(ProcessPort port)
    {
        adoptedPorts.Enqueue(port);
        Volatile.Write(ref handedIn, 1);
        Notify();
    }

    /// <summary>Called by a producer in this process after it published work for this core: wake it if it sleeps.</summary>
    public void Notify()
    {
        // Dekker's handshake with an asymmetric fence: the producer wrote its work and now reads our
        // parked flag, with no fence of its own on this path taken for every message; the core
        // about to park sets the flag and then makes every thread of the process fence
        // (Park's MemoryBarrierProcessWide) before its last look at the queues, so either it sees
        // the work or the producer sees the flag. (Processes, outside this one, fence themselves.)
        // The producer's write comes earlier in its turn, calls away from this read, where the JIT
        // does not move memory accesses. Where cores outnumber CPUs they park at once, all the
        // time, and the heavy side would be paid on every idle moment: there the producer fences.
        if (fenceOnSend) Interlocked.MemoryBarrier();
        if (Volatile.Read(ref parked) == 0) return;
        try
        {
            Wake.Signal();
        }
        catch (ObjectDisposedException)
        {
            // The machine has stopped: nobody is left to wake.
        }
    }

    /// <summary>Tells the core's loop to end (servers get OnStop as it does); returns at once.</summary>
    public void RequestStop()
    {
        stopping = true;
        Notify();
        Wake.Signal();
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the core's thread to end; false if it did not (code
    /// on it never returns to the loop) or if the caller is that thread, which cannot wait for itself.
    /// </summary>
    public bool Join(TimeSpan timeout)
    {
        if (IsCoreThread) return false;
        if (thread.Join(timeout)) return true;
        machine.ReportFault(Core, new TimeoutException($"the core did not stop within {machine.Options.CoreStopTimeout.TotalSeconds:0.#} s: code on it is blocking its loop"));
        return false;
    }

    internal void Post(SendOrPostCallback callback, object? state)
    {
        if (IsCoreThread) posted.Enqueue((callback, state));
        else Inject(() => callback(state));
    }

    // ---- the loop ----------------------------------------------------------------------------

    private void Loop()
    {
        SynchronizationContext.SetSynchronizationContext(context);
        PinnedCpu = machine.Pin(index);
        var idleSince = -1L;
        var turn = 0;
        while (!stopping)
        {
            // Every few turns, busy or idle, the clock is read: due timers fire, and an idle core
            // knows how long it has spun. A timer waits at most that many turns past its time.
            var clock = ++turn % TurnsPerClockRead == 0;
            var now = clock ? NowNanoseconds : -1;
            if (clock) Kernel.ClockRead(now); // the calls made since the last read get their deadlines
            if (RunOnce(now) > 0)
            {
                idleSince = -1;
                continue;
            }
            if (!clock) continue;
            if (idleSince < 0) idleSince = now;
            if (now - idleSince < spinNanoseconds)
            {
                Thread.SpinWait(1);
                continue;
            }
            Park();
            idleSince = -1;
        }
        Kernel.Shutdown();
        while (adoptedPorts.TryDequeue(out var port)) ports.Add(port);
        foreach (var port in ports) port.Release();
        ports.Clear();
    }

    /// <summary>One turn of the loop; <paramref name="now"/> is the time when this turn runs timers, else -1.</summary>
    private int RunOnce(long now)
    {
        var work = 0;
        // Only what was posted before this turn: a continuation that posts again (Task.Yield) waits for
        // the next turn, so it cannot starve the rings.
        for (var n = posted.Count; n > 0 && posted.TryDequeue(out var item); n--)
        {
            Guard(item.Callback, item.State);
            work++;
        }
        // Only what was queued before this turn, as with posted work: a program calling servers on
        // its own core resumes inline and queues its next call, and must not starve the rings.
        for (var n = local.Count; n > 0 && local.TryDequeue(out var envelope); n--)
        {
            Kernel.Deliver(envelope);
            work++;
        }
        for (var i = 0; i < inbound.Count; i++)
        {
            var ring = inbound[i];
            // A bounded batch per ring, so one chatty sender cannot starve the others.
            for (var n = 0; n < 64 && ring.TryRead(out var envelope); n++)
            {
                Kernel.Deliver(envelope);
                work++;
            }
        }
        if (Volatile.Read(ref handedIn) != 0) work += TakeHandedIn();
        if (ports.Count > 0) work += ReadPorts();
        if (backlogged > 0 || portBacklog.Count > 0) work += FlushOverflow();
        if (now >= 0 && timers.Count > 0) work += RunTimers(now);
        if (doorbellList.Count > 0 || portDoorbells.Count > 0) RingDoorbells();
        return work;
    }

    /// <summary>What other threads handed this core: new rings and ports to read, work to run.</summary>
    private int TakeHandedIn()
    {
        // Cleared before the queues are read (and the clear made visible first): whatever is queued
        // after this look is flagged again.
        Volatile.Write(ref handedIn, 0);
        Interlocked.MemoryBarrier();
        var work = 0;
        while (adopted.TryDequeue(out var adoptedRing))
        {
            inbound.Add(adoptedRing);
            work++;
        }
        while (adoptedPorts.TryDequeue(out var adoptedPort))
        {
            ports.Add(adoptedPort);
            work++;
        }
        while (external.TryDequeue(out var action))
        {
            Guard(static a => ((Action)a!)(), action);
            work++;
        }
        return work;
    }

    private int RunTimers(long now)
    {
        var work = 0;
        while (timers.TryPeek(out var timer, out var due) && due <= now)
        {
            timers.Dequeue();
            Guard(static t => ((KernelTimer)t!).Fire(), timer);
            work++;
        }
        return work;
    }

    /// <summary>
    /// Reads what application processes sent this core: a bounded batch per process, each frame
    /// copied out of shared memory before it is parsed, its sender stamped as the process's core.
    /// A frame that breaks the ring's rules breaks the port (the machine kills that process); a
    /// body that is not a registered message is refused to its sender and counted.
    /// </summary>
    private int ReadPorts()
    {
        var work = 0;
        for (var i = ports.Count - 1; i >= 0; i--)
        {
            var port = ports[i];
            if (port.Closed)
            {
                ports.RemoveAt(i);
                portBacklog.Remove(port);
                portDoorbells.Remove(port);
                port.Release();
                continue;
            }
            if (port.Broken is not null) continue; // its process broke the rules: nothing more of it is read
            var ring = port.Inbound(index);
            for (var n = 0; n < 64; n++)
            {
                var result = ring.TryRead(ref frame, out var length);
                if (result == FrameReadResult.Empty) break;
                if (result == FrameReadResult.Corrupt)
                {
                    port.Break(ring.Corruption ?? "a corrupt ring");
                    break;
                }
                work++;
                port.Counted();
                Envelope envelope;
                object? bodyError;
                try
                {
                    envelope = EnvelopeFrame.Read(frame.AsMemory(0, length), port.Core, out bodyError);
                }
                catch (FosException ex)
                {
                    port.Break(ex.Message);
                    break;
                }
                if (bodyError is FosException refused)
                {
                    Kernel.Stats.RefusedUndecodable++;
                    if (envelope.Kind == EnvelopeKind.Call)
                        Transmit(new Envelope(EnvelopeKind.Fault, envelope.From.CoreId.Kernel, Capability.None, envelope.To, envelope.CorrelationId,
                            new KernelFault(FosError.BadRequest, refused.Message)));
                    continue;
                }
                try
                {
                    if (envelope.To.CoreId == Core) Kernel.Deliver(envelope);
                    else if (!Transmit(envelope) && envelope.Kind == EnvelopeKind.Call)
                        Transmit(new Envelope(EnvelopeKind.Fault, envelope.From.CoreId.Kernel, Capability.None, envelope.To, envelope.CorrelationId,
                            new KernelFault(FosError.NoSuchCore, $"cannot call {envelope.To}: core {envelope.To.CoreId} is not part of this system")));
                }
                catch (FosException)
                {
                    // The way on is full: the caller's timeout reports it.
                }
            }
        }
        return work;
    }

    private int FlushPortBacklog()
    {
        if (portBacklog.Count == 0) return 0;
        var moved = 0;
        List<ProcessPort>? drained = null;
        foreach (var (port, backlog) in portBacklog)
        {
            var ring = port.Outbound(index);
            while (backlog.TryPeek(out var envelope))
            {
                Encode(envelope, ring.MaxFrame);
                if (!ring.TryWrite(header, body.WrittenSpan)) break;
                backlog.Dequeue();
                moved++;
            }
            if (backlog.Count == 0) (drained ??= []).Add(port);
            if (!portDoorbells.Contains(port)) portDoorbells.Add(port);
        }
        if (drained is not null)
            foreach (var port in drained) portBacklog.Remove(port);
        return moved;
    }

    private void RingDoorbells()
    {
        foreach (var port in portDoorbells) port.WakeIfParked();
        portDoorbells.Clear();
        if (doorbellList.Count == 0) return;
        foreach (var to in doorbellList)
        {
            doorbell[to] = false;
            machine.Core(to).Notify();
        }
        doorbellList.Clear();
    }

    private int FlushOverflow()
    {
        var moved = FlushPortBacklog();
        if (backlogged == 0) return moved;
        for (var to = 0; to < overflow.Length; to++)
        {
            var backlog = overflow[to];
            if (backlog is not { Count: > 0 }) continue;
            var ring = machine.Ring(index, to);
            var before = moved;
            while (backlog.TryPeek(out var envelope) && ring.TryWrite(envelope))
            {
                backlog.Dequeue();
                moved++;
            }
            if (backlog.Count == 0) backlogged--;
            if (moved > before) machine.Core(to).Notify();
        }
        return moved;
    }

    private bool HasWork()
    {
        if (posted.Count > 0 || local.Count > 0 || Volatile.Read(ref handedIn) != 0) return true;
        foreach (var ring in inbound)
            if (ring.HasItem) return true;
        foreach (var port in ports)
            if (port.Closed || port.Inbound(index).HasFrame) return true;
        if (backlogged > 0 || !adoptedPorts.IsEmpty) return true;
        return timers.TryPeek(out _, out var due) && due <= NowNanoseconds;
    }

    private void Park()
    {
        Kernel.ClockRead(NowNanoseconds); // no call sleeps here without its deadline, whatever turn came before
        Volatile.Write(ref parked, 1);
        foreach (var port in ports) port.MarkParked(index, parked: true);
        // The heavy side of Notify's asymmetric fence: every thread of this process fences, so a
        // producer's ring write that came before its look at our flag is visible to HasWork now.
        Interlocked.MemoryBarrier();
        if (!fenceOnSend) Interlocked.MemoryBarrierProcessWide();
        if (!HasWork() && !stopping)
        {
            var timeout = Timeout.Infinite;
            if (timers.TryPeek(out _, out var due))
                timeout = (int)Math.Clamp((due - NowNanoseconds) / 1_000_000 + 1, 0, int.MaxValue);
            // Backlogged sends wait for the receiver to drain its ring: poll them at 1 ms.
            if (backlogged > 0 || portBacklog.Count > 0) timeout = Math.Min(timeout == Timeout.Infinite ? 1 : timeout, 1);
            Interlocked.Increment(ref Parks);
            Wake.Wait(timeout);
        }
        foreach (var port in ports) port.MarkParked(index, parked: false);
        Volatile.Write(ref parked, 0);
    }

    private void Guard(SendOrPostCallback callback, object? state)
    {
        try
        {
            callback(state);
        }
        catch (Exception ex)
        {
            // Nothing that runs on a core may take the core down.
            Kernel.Stats.HandlerFailures++;
            machine.ReportFault(Core, ex);
        }
    }

    private sealed class CoreSynchronizationContext(RealCore core) : KernelSynchronizationContext
    {
        public override IKernel Kernel => core.Kernel;

        public override bool IsLoopThread => core.IsCoreThread;

        public override void Post(SendOrPostCallback d, object? state) => core.Post(d, state);

        public override void Send(SendOrPostCallback d, object? state) =>
            throw new NotSupportedException("a fos core does not block on another's loop");

        public override SynchronizationContext CreateCopy() => this;
    }
}
