using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Fos.Kernel;
using Fos.Protocols.Wire;

namespace Fos.Runtime.Processes;

/// <summary>
/// The runtime beneath the kernel of an application process's core: one loop on one thread that
/// polls the rings from the machine's cores, runs continuations and timers, and parks on its
/// eventfd when idle. A message to a machine core goes straight into the ring to that core; one to
/// anywhere else (another process) goes to core 0, which routes it. The machine trusts nothing
/// this side writes: it stamps the sender, checks capabilities and refuses what may not cross.
/// </summary>
public sealed class ProcessCoreHost : ICoreHost
{
    private const int RouterCore = 0;

    private readonly ProcessChannel channel;
    private readonly EventFd wake;
    private readonly IReadOnlyList<EventFd> coreWakes;
    private readonly FrameRing[] inbound;
    private readonly FrameRing[] outbound;
    private readonly Queue<Envelope>?[] overflow;
    private readonly bool[] doorbell;
    private readonly List<int> doorbells = [];
    private readonly Queue<Envelope> local = new();
    private readonly Queue<(SendOrPostCallback Callback, object? State)> posted = new();
    private readonly ConcurrentQueue<Action> external = new();
    private readonly PriorityQueue<KernelTimer, long> timers = new();
    private readonly ArrayBufferWriter<byte> body = new(4096);
    private readonly byte[] header = new byte[EnvelopeFrame.HeaderBytes];
    private readonly long bootTimestamp = Stopwatch.GetTimestamp();
    private readonly long spinNanoseconds;
    private readonly Context context;
    private byte[] frame = new byte[4096];
    private Thread? thread;
    private int backlogged;
    private volatile bool stopping;

    private readonly FdChannel? fds;
    private readonly Dictionary<long, int> arrived = [];
    private readonly Dictionary<long, SharedMemory> mapped = [];

    /// <param name="coreWakes">Each machine core's eventfd, by core number.</param>
    /// <param name="fds">The socket memory grants arrive on (their fds, each with its token).</param>
    public ProcessCoreHost(ProcessChannel channel, EventFd wake, IReadOnlyList<EventFd> coreWakes, TimeSpan spinBeforePark, FdChannel? fds = null)
    {
        this.fds = fds;
        if (coreWakes.Count != channel.Cores) throw new ArgumentException($"{channel.Cores} machine cores need as many wake-up fds, not {coreWakes.Count}", nameof(coreWakes));
        this.channel = channel;
        this.wake = wake;
        this.coreWakes = coreWakes;
        Core = channel.Core;
        inbound = [.. Enumerable.Range(0, channel.Cores).Select(i => channel.ToProcess(i, hostilePeer: false))];
        outbound = [.. Enumerable.Range(0, channel.Cores).Select(i => channel.FromProcess(i, hostilePeer: false))];
        overflow = new Queue<Envelope>?[channel.Cores];
        doorbell = new bool[channel.Cores];
        spinNanoseconds = spinBeforePark.Ticks * 100;
        context = new Context(this);
        Kernel = new CoreKernel(this) { NameServer = channel.NameServer };
    }

    public CoreId Core { get; }

    public CoreKernel Kernel { get; }

    public long NowNanoseconds => (long)((Stopwatch.GetTimestamp() - bootTimestamp) * (1e9 / Stopwatch.Frequency));

    public bool ReportsClockReads => true;

    /// <summary>Runs the core's loop on this thread until <paramref name="main"/>'s task ends, then sends what is still queued.</summary>
    public T Run<T>(Func<Task<T>> main)
    {
        thread = Thread.CurrentThread;
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            var task = main();
            Loop(() => task.IsCompleted);
            Loop(() => backlogged == 0 && doorbells.Count == 0); // what the program sent last still goes out
            if (!task.IsCompleted) throw new OperationCanceledException($"the loop of {Core} was stopped before its program ended");
            return task.GetAwaiter().GetResult();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    /// <summary>Ends the loop from another thread (a program the machine runs inside itself was killed).</summary>
    public void Stop()
    {
        stopping = true;
        try
        {
            wake.Signal();
        }
        catch (ObjectDisposedException)
        {
            // The program ended and its port let go of the wake-up already: there is no loop to stop.
        }
    }

    // ---- ICoreHost ---------------------------------------------------------------------------

    public bool Transmit(in Envelope envelope)
    {
        var to = envelope.To;
        if (to.CoreId == Core)
        {
            local.Enqueue(envelope);
            return true;
        }
        var ring = to.Machine == Core.Machine && !to.CoreId.IsProcess ? to.Core : RouterCore;
        if (ring >= outbound.Length) return false;
        if (overflow[ring] is { Count: > 0 } backlog)
        {
            if (backlog.Count >= 4096)
                throw new FosException(FosError.Backpressure, $"the path {Core} -> m{to.Machine}.c{ring} is full ({backlog.Count} messages waiting): slow down and retry");
            Encode(envelope); // refuse what cannot cross now, not later
            backlog.Enqueue(envelope);
            return true;
        }
        if (!TryWrite(ring, envelope))
        {
            (overflow[ring] = new Queue<Envelope>()).Enqueue(envelope);
            backlogged++;
        }
        Ring(ring);
        return true;
    }

    private bool TryWrite(int ring, in Envelope envelope)
    {
        Encode(envelope);
        return outbound[ring].TryWrite(header, body.WrittenSpan);
    }

    private void Encode(in Envelope envelope)
    {
        EnvelopeFrame.WriteHeader(header, envelope);
        EnvelopeFrame.WriteBody(body, envelope.Body);
        if (header.Length + body.WrittenCount > outbound[0].MaxFrame)
            throw new FosException(FosError.BadRequest, $"a message of {body.WrittenCount} bytes is larger than a process may send at once ({outbound[0].MaxFrame})");
    }

    private void Ring(int core)
    {
        if (doorbell[core]) return;
        doorbell[core] = true;
        doorbells.Add(core);
    }

    public void Schedule(KernelTimer timer) => timers.Enqueue(timer, timer.DueNanoseconds);

    /// <summary>
    /// Maps memory granted to this process: the machine sends its fd on the grant socket before it
    /// answers the grant, so it is there already; a token whose fd is not is not this process's.
    /// </summary>
    public Memory<byte> MapMemory(long token, long bytes)
    {
        if (mapped.TryGetValue(token, out var known) && bytes <= known.Length) return new MappedMemory(known, (int)bytes).Memory;
        if (bytes is <= 0 or > int.MaxValue) throw new FosException(FosError.ServiceError, $"EINVAL: {bytes} bytes cannot be mapped", "EINVAL");
        while (fds is not null && !arrived.ContainsKey(token))
        {
            try
            {
                if (!fds.TryReceive(out var received, out var receivedFd)) break;
                arrived[received] = receivedFd;
            }
            catch (InvalidDataException)
            {
                // Not a grant the machine sent: dropped (its fds were closed).
            }
        }
        if (!arrived.Remove(token, out var fd))
            throw new FosException(FosError.ServiceError, $"EBADF: no memory {token} was granted to {Core}", "EBADF");
        var mapping = SharedMemory.Map(fd, bytes);
        mapped[token] = mapping;
        return new MappedMemory(mapping, (int)bytes).Memory;
    }

    public void UnmapMemory(long token)
    {
        if (mapped.Remove(token, out var mapping)) mapping.Dispose();
    }

    /// <summary>Unmaps everything (the program has ended).</summary>
    public void UnmapAll()
    {
        foreach (var mapping in mapped.Values) mapping.Dispose();
        mapped.Clear();
    }

    public ulong NextRandom() => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    public Capability NewCapability()
    {
        Span<byte> secret = stackalloc byte[16];
        RandomNumberGenerator.Fill(secret);
        return new Capability(BitConverter.ToUInt64(secret), BitConverter.ToUInt64(secret[8..]));
    }

    // ---- the loop ----------------------------------------------------------------------------

    private void Loop(Func<bool> done)
    {
        var idleSince = -1L;
        var turn = 0;
        while (!done() && !stopping)
        {
            // As on the machine's cores: every few turns, busy or idle, the clock is read, for due
            // timers and the idle budget; a timer waits at most that many turns past its time.
            var clock = ++turn % RealCore.TurnsPerClockRead == 0;
            var now = clock ? NowNanoseconds : -1;
            if (clock) Kernel.ClockRead(now);
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
    }

    /// <summary>One turn; <paramref name="now"/> is the time when this turn runs timers, else -1.</summary>
    private int RunOnce(long now)
    {
        var work = 0;
        for (var n = posted.Count; n > 0 && posted.TryDequeue(out var item); n--)
        {
            item.Callback(item.State);
            work++;
        }
        // Only what was queued before this turn, as with posted work: a program calling servers on
        // its own core resumes inline and queues its next call, and must not starve the rings.
        for (var n = local.Count; n > 0 && local.TryDequeue(out var envelope); n--)
        {
            Kernel.Deliver(envelope);
            work++;
        }
        for (var i = 0; i < inbound.Length; i++)
        {
            var ring = inbound[i];
            for (var n = 0; n < 64 && ring.TryRead(ref frame, out var length) == FrameReadResult.Frame; n++)
            {
                var envelope = EnvelopeFrame.Read(frame.AsMemory(0, length), from: null, out var bodyError);
                if (bodyError is FosException undecodable && envelope.Kind == EnvelopeKind.Reply)
                    // A reply this process cannot read (a newer machine's message, say) fails its call plainly.
                    envelope = new Envelope(EnvelopeKind.Fault, envelope.To, envelope.Capability, envelope.From, envelope.CorrelationId,
                        new KernelFault(FosError.BadRequest, undecodable.Message));
                if (bodyError is null || envelope.Kind == EnvelopeKind.Fault) Kernel.Deliver(envelope);
                work++;
            }
        }
        work += FlushOverflow();
        while (external.TryDequeue(out var action))
        {
            action();
            work++;
        }
        if (now >= 0 && timers.Count > 0)
        {
            while (timers.TryPeek(out var timer, out var due) && due <= now)
            {
                timers.Dequeue();
                timer.Fire();
                work++;
            }
        }
        RingDoorbells();
        return work;
    }

    private int FlushOverflow()
    {
        if (backlogged == 0) return 0;
        var moved = 0;
        for (var core = 0; core < overflow.Length; core++)
        {
            if (overflow[core] is not { Count: > 0 } backlog) continue;
            while (backlog.TryPeek(out var envelope) && TryWrite(core, envelope))
            {
                backlog.Dequeue();
                moved++;
            }
            if (backlog.Count == 0) backlogged--;
            Ring(core);
        }
        return moved;
    }

    private void RingDoorbells()
    {
        if (doorbells.Count == 0) return;
        // Our ring writes must be visible before we read a core's parked flag; it sets the flag
        // before its last look at the rings, so one of us always sees the other.
        Interlocked.MemoryBarrier();
        foreach (var core in doorbells)
        {
            doorbell[core] = false;
            if (Volatile.Read(ref channel.CoreParked(core)) != 0) coreWakes[core].Signal();
        }
        doorbells.Clear();
    }

    private bool HasWork()
    {
        if (posted.Count > 0 || local.Count > 0 || !external.IsEmpty || stopping) return true;
        foreach (var ring in inbound)
            if (ring.HasFrame) return true;
        return timers.TryPeek(out _, out var due) && due <= NowNanoseconds;
    }

    private void Park()
    {
        Kernel.ClockRead(NowNanoseconds); // no call sleeps here without its deadline, whatever turn came before
        Volatile.Write(ref channel.ProcessParked, 1);
        Interlocked.MemoryBarrier();
        if (!HasWork())
        {
            var timeout = -1;
            if (timers.TryPeek(out _, out var due))
                timeout = (int)Math.Clamp((due - NowNanoseconds) / 1_000_000 + 1, 0, int.MaxValue);
            if (backlogged > 0) timeout = timeout < 0 ? 1 : Math.Min(timeout, 1); // a full ring drains without telling us
            wake.Wait(timeout);
        }
        Volatile.Write(ref channel.ProcessParked, 0);
    }

    private void Post(SendOrPostCallback callback, object? state)
    {
        if (Thread.CurrentThread == thread) posted.Enqueue((callback, state));
        else
        {
            external.Enqueue(() => callback(state));
            wake.Signal();
        }
    }

    private sealed class Context(ProcessCoreHost host) : KernelSynchronizationContext
    {
        public override IKernel Kernel => host.Kernel;

        public override bool IsLoopThread => Thread.CurrentThread == host.thread;

        public override void Post(SendOrPostCallback d, object? state) => host.Post(d, state);

        public override void Send(SendOrPostCallback d, object? state) =>
            throw new NotSupportedException("a fos core does not block on another's loop");

        public override SynchronizationContext CreateCopy() => this;
    }
}
