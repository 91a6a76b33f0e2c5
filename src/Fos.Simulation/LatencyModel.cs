using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Simulation;

/// <summary>
/// What a message costs to move, in virtual nanoseconds. Cores of a machine sit on a W×H mesh
/// (core i at column i mod W, row i div W) and a message pays per hop, as on a tiled manycore chip;
/// machines are joined by a network with its own cost. Jitter is drawn from the seeded source.
/// </summary>
public sealed record LatencyModel
{
    /// <summary>Mesh width; the height follows from the core count.</summary>
    public int MeshWidth { get; init; } = Nearness.MeshWidth;

    /// <summary>Cost of handing a message to a mailbox on the same core.</summary>
    public long LocalNanoseconds { get; init; } = 20;

    /// <summary>Fixed cost of leaving one core for another on the same chip.</summary>
    public long OnChipBaseNanoseconds { get; init; } = 60;

    /// <summary>Cost per mesh hop.</summary>
    public long PerHopNanoseconds { get; init; } = 8;

    /// <summary>One-way cost between machines (proxy, network, proxy).</summary>
    public long NetworkNanoseconds { get; init; } = 50_000;

    /// <summary>Up to this fraction of the cost is added at random to each message.</summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>Mesh hops, as the kernel's <see cref="Nearness"/> counts them for lookups.</summary>
    public int Hops(ushort fromCore, ushort toCore) => Nearness.Hops(fromCore, toCore, MeshWidth);

    public long Cost(CoreId from, CoreId to, SimRandom random)
    {
        long cost = from == to ? LocalNanoseconds
            : from.Machine != to.Machine ? NetworkNanoseconds
            : OnChipBaseNanoseconds + PerHopNanoseconds * Hops(from.Core, to.Core);
        if (Jitter > 0 && from != to) cost += random.NextLong((long)(cost * Jitter) + 1);
        return cost;
    }
}
