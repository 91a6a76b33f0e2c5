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
    private ulong random = 42;

    public long NowNanoseconds { get; private set; }

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

    /// <summary>Delivers everything in flight (and whatever that causes) until the network is quiet.</summary>
    public int Pump()
    {
        var delivered = 0;
        while (inFlight.TryDequeue(out var envelope))
        {
            delivered++;
            if (hosts.TryGetValue(envelope.To.CoreId, out var host)) host.Kernel!.Deliver(envelope);
        }
        return delivered;
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
                timer.Fire();
            }
        }
        Pump();
    }

    private ulong Next()
    {
        var z = random += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        return z ^ (z >> 27);
    }

    private sealed class ManualHost(ManualNetwork network, CoreId core) : ICoreHost
    {
        public CoreKernel? Kernel;
        public readonly List<KernelTimer> Timers = [];

        public CoreId Core { get; } = core;

        public long NowNanoseconds => network.NowNanoseconds;

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
