using Fos.Kernel;
using Fos.Kernel.Network;

namespace Fos.Simulation;

/// <summary>
/// The network between simulated machines, as their proxies' links: a link comes up when both
/// machines' proxies want it and nothing stands between them, and carries frames with the latency
/// model's network cost and jitter, in order as a TCP connection would, and the network fault
/// plan's drops, duplicates and delays (a delayed frame is overtaken by later ones), which a TCP
/// connection never shows but a link made again after a break can, so the proxy must cope. A
/// partition drops every frame between two machines silently, as a cut cable does, until healed;
/// a crashed machine's proxy hears nothing more. All of it drawn from the system's seed.
/// </summary>
internal sealed class SimNetwork(SimulatedSystem system, SimRandom random)
{
    private readonly Dictionary<ushort, SimLinks> machines = [];
    private readonly Dictionary<(ushort, ushort), long> generations = []; // a link's current life; 0 or absent: down
    private readonly HashSet<(ushort, ushort)> partitions = [];
    private readonly Dictionary<(ushort From, ushort To), long> lastArrival = [];
    private long lastGeneration;

    public long FramesSent { get; private set; }
    public long FramesDropped { get; private set; }

    public ILinks Open(SimCore proxy, ILinkEvents events)
    {
        var machine = proxy.Core.Machine;
        if (machines.TryGetValue(machine, out var open) && !open.Core.Dead)
            throw new FosException(FosError.BadRequest, $"m{machine}'s links are open already (one proxy per machine)");
        var links = new SimLinks(this, proxy, events);
        machines[machine] = links;
        return links;
    }

    private static (ushort, ushort) Pair(ushort a, ushort b) => a < b ? (a, b) : (b, a);

    public void Partition(ushort a, ushort b)
    {
        partitions.Add(Pair(a, b));
        system.Record($"partition m{a} | m{b}");
    }

    public void Heal(ushort a, ushort b)
    {
        if (!partitions.Remove(Pair(a, b))) return;
        system.Record($"heal m{a} | m{b}");
        TryLink(a, b);
        system.Directory?.CatchUp();
    }

    /// <summary>Whether machines <paramref name="a"/> and <paramref name="b"/> can reach each other now (no partition between them, both alive).</summary>
    public bool CanReach(ushort a, ushort b) => !partitions.Contains(Pair(a, b)) && system.MachineAlive(a) && system.MachineAlive(b);

    private bool Reachable(ushort a, ushort b) =>
        !partitions.Contains(Pair(a, b)) && machines.TryGetValue(a, out var x) && !x.Core.Dead && machines.TryGetValue(b, out var y) && !y.Core.Dead;

    /// <summary>Both sides want the link and can reach each other: it comes up, told to each side after a network crossing.</summary>
    private void TryLink(ushort a, ushort b)
    {
        var pair = Pair(a, b);
        if (generations.GetValueOrDefault(pair) != 0 || !Reachable(a, b)) return;
        var (x, y) = (machines[a], machines[b]);
        if (!x.Wants(b) || !y.Wants(a)) return;
        var generation = ++lastGeneration;
        generations[pair] = generation;
        // Both sides hear at the same moment, so neither side's first frame can overtake the
        // other's news of the link (a transport tells of a link before it delivers frames on it).
        var up = system.NowNanoseconds + Crossing();
        foreach (var (side, other) in new[] { (x, b), (y, a) })
            system.AtTime(up, side.Core, () =>
            {
                if (generations.GetValueOrDefault(pair) == generation) side.Events.LinkUp(other);
            });
    }

    private void Drop(ushort a, ushort b, string reason)
    {
        var pair = Pair(a, b);
        if (generations.GetValueOrDefault(pair) == 0) return;
        generations[pair] = 0;
        foreach (var (machine, other) in new[] { (a, b), (b, a) })
            if (machines.TryGetValue(machine, out var side))
                system.AtTime(system.NowNanoseconds + Crossing(), side.Core, () => side.Events.LinkDown(other, reason));
    }

    private long Crossing() => system.Options.Latency.Cost(new CoreId(1, 0), new CoreId(2, 0), random);

    private bool Send(SimLinks from, ushort to, ReadOnlySpan<byte> frame)
    {
        var pair = Pair(from.Machine, to);
        var generation = generations.GetValueOrDefault(pair);
        if (generation == 0) return false;
        FramesSent++;
        if (!Reachable(from.Machine, to))
        {
            FramesDropped++; // cut off: lost on the way, and nobody is told
            return true;
        }
        var target = machines[to];
        var bytes = frame.ToArray();
        var faults = system.Options.NetworkFaults;
        // A link keeps its frames in order, as a TCP connection does, jitter or not; only a delay
        // fault holds one back past those sent after it.
        var arrival = system.NowNanoseconds + Crossing();
        if (lastArrival.TryGetValue((from.Machine, to), out var last) && arrival <= last) arrival = last + 1;
        lastArrival[(from.Machine, to)] = arrival;
        if (faults.Any)
        {
            if (random.Chance(faults.DropRate))
            {
                FramesDropped++;
                system.Record($"drop frame m{from.Machine}>m{to}");
                return true;
            }
            if (random.Chance(faults.DelayRate)) arrival += random.NextLong(faults.MaxExtraDelay.Ticks * 100) + 1;
        }
        var copies = faults.Any && random.Chance(faults.DuplicateRate) ? 2 : 1;
        for (var i = 0; i < copies; i++)
            system.AtTime(arrival + i, target.Core, () =>
            {
                if (generations.GetValueOrDefault(pair) == generation) target.Events.Received(from.Machine, bytes);
            });
        return true;
    }

    /// <summary>
    /// A frame that arrives at <paramref name="to"/>'s proxy as if <paramref name="from"/>'s had
    /// sent it on their link, outside the link's numbering: what a broken or hostile peer sends.
    /// </summary>
    public void Inject(ushort from, ushort to, byte[] frame)
    {
        if (!machines.TryGetValue(to, out var target)) throw new FosException(FosError.NoSuchCore, $"m{to} has no proxy");
        system.AtTime(system.NowNanoseconds + Crossing(), target.Core, () => target.Events.Received(from, frame));
    }

    /// <summary>One simulated machine's links, as its proxy holds them.</summary>
    private sealed class SimLinks(SimNetwork network, SimCore core, ILinkEvents events) : ILinks
    {
        private readonly HashSet<ushort> wanted = [];

        public SimCore Core { get; } = core;

        public ILinkEvents Events { get; } = events;

        public ushort Machine => Core.Core.Machine;

        public int MaxFrame => 16 << 20;

        public bool Wants(ushort peer) => wanted.Contains(peer);

        public void Connect(ushort peer, string address)
        {
            wanted.Add(peer);
            network.TryLink(Machine, peer);
        }

        public void Forget(ushort peer)
        {
            wanted.Remove(peer);
            network.Drop(Machine, peer, "the link was closed");
        }

        public void Flush()
        {
            // Frames leave as they are sent here: the network model prices each on its own.
        }

        public bool Send(ushort peer, ReadOnlySpan<byte> frame)
        {
            if (frame.Length > MaxFrame) throw new FosException(FosError.BadRequest, $"a frame of {frame.Length} bytes is larger than a link carries ({MaxFrame})");
            return network.Send(this, peer, frame);
        }
    }
}
