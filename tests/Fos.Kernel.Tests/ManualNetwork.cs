using Fos.Kernel;

namespace Fos.Kernel.Tests;

/// <summary>
/// Kernels on hand-driven hosts: nothing moves until the test says <see cref="Pump"/> or
/// <see cref="Advance"/>, so every step of the kernel's protocol can be looked at.
/// </summary>
public sealed class ManualNetwork
{
    private readonly Dictionary<CoreId, ManualHost> hosts = [];
    private readonly Queue<Envelope> inFlight = new();
    private readonly ManualContext context = new();
    private ulong random = 42;

    public long NowNanoseconds { get; private set; }

    /// <summary>Hosts that say they report their clock reads (<see cref="ReadClock"/>), as real cores do.</summary>
    public bool ReportsClockReads { get; init; }

    /// <summary>Every envelope ever transmitted, in order.</summary>
    public List<Envelope> Transmitted { get; } = [];

    public CoreKernel AddCore(ushort machine, ushort core)
    {
        var host = new ManualHost(this, new CoreId(machine, core));
        hosts.Add(host.Core, host);
        host.Kernel = new CoreKernel(host);
        var directory = hosts.Values.ToDictionary(h => h.Core, h => h.Kernel!.ControlEndpoint);
        foreach (var h in hosts.Values) h.Kernel!.Directory = directory;
        return host.Kernel;
    }

    /// <summary>
    /// Delivers everything in flight, and runs every continuation handlers posted, until the
    /// network is quiet. Handlers run under this network's own context, as they would on a core's
    /// loop, so an awaited handler resumes here and not on the test framework's threads.
    /// </summary>
    public int Pump()
    {
        var delivered = 0;
        InContext(() =>
        {
            while (true)
            {
                if (inFlight.TryDequeue(out var envelope))
                {
                    delivered++;
                    if (hosts.TryGetValue(envelope.To.CoreId, out var host)) host.Kernel!.Deliver(envelope);
                }
                else if (context.TryRunOne()) { }
                else break;
            }
        });
        return delivered;
    }

    private void InContext(Action action)
    {
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try { action(); }
        finally { SynchronizationContext.SetSynchronizationContext(saved); }
    }

    /// <summary>Puts an envelope on the wire as if some core had sent it (for forgeries).</summary>
    public void Inject(Envelope envelope)
    {
        Transmitted.Add(envelope);
        inFlight.Enqueue(envelope);
    }

    /// <summary>Moves time forward, firing due timers, and pumps.</summary>
    public void Advance(TimeSpan span)
    {
        NowNanoseconds += span.Ticks * 100;
        foreach (var host in hosts.Values)
        {
            foreach (var timer in host.Timers.Where(t => t.DueNanoseconds <= NowNanoseconds).OrderBy(t => t.DueNanoseconds).ToList())
            {
                host.Timers.Remove(timer);
                InContext(timer.Fire);
            }
        }
        Pump();
    }

    /// <summary>Every core's loop reads the clock now, and tells its kernel.</summary>
    public void ReadClock()
    {
        foreach (var host in hosts.Values) InContext(() => host.Kernel!.ClockRead(NowNanoseconds));
    }

    private ulong Next()
    {
        var z = random += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        return z ^ (z >> 27);
    }

    /// <summary>The single "core loop" of all manual hosts: posts queue up until the next pump.</summary>
    private sealed class ManualContext : SynchronizationContext
    {
        private readonly Queue<(SendOrPostCallback Callback, object? State)> posted = new();

        public override void Post(SendOrPostCallback d, object? state)
        {
            lock (posted) posted.Enqueue((d, state));
        }

        public override void Send(SendOrPostCallback d, object? state) =>
            throw new NotSupportedException("a core loop never blocks on another");

        public bool TryRunOne()
        {
            (SendOrPostCallback Callback, object? State) item;
            lock (posted)
                if (!posted.TryDequeue(out item)) return false;
            item.Callback(item.State);
            return true;
        }
    }

    private sealed class ManualHost(ManualNetwork network, CoreId core) : ICoreHost
    {
        public CoreKernel? Kernel;
        public readonly List<KernelTimer> Timers = [];

        public CoreId Core { get; } = core;

        public long NowNanoseconds => network.NowNanoseconds;

        public bool ReportsClockReads => network.ReportsClockReads;

        public bool Transmit(in Envelope envelope)
        {
            if (!network.hosts.ContainsKey(envelope.To.CoreId)) return false;
            network.Inject(envelope);
            return true;
        }

        public void Schedule(KernelTimer timer) => Timers.Add(timer);

        public ulong NextRandom() => network.Next();

        public Capability NewCapability() => new(network.Next(), network.Next());
    }
}
