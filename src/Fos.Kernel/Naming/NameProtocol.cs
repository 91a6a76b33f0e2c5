using System.Collections.Immutable;

namespace Fos.Kernel.Naming;

/// <summary>The names every fos system has.</summary>
public static class WellKnownNames
{
    public const string NameService = "/sys/name";
    public const string FileSystem = "/sys/fs";
    public const string Memory = "/sys/mem";
    public const string Processes = "/sys/proc";
    public const string Layout = "/sys/layout";
    public const string Proxy = "/sys/proxy";

    /// <summary>
    /// Names only the system's own servers may look up or list: what fleet members hand each other
    /// (their peer mailboxes) is found here by machines that join, never by applications.
    /// </summary>
    public const string FleetPrefix = "/sys/fleet/";

    /// <summary>The file-system members' peer mailboxes (see <see cref="FleetPrefix"/>).</summary>
    public const string FileSystemFleet = FleetPrefix + "fs";

    public static bool IsFleetName(string name) => name.StartsWith(FleetPrefix, StringComparison.Ordinal);
}

/// <summary>A binding of a name: its members (nearest to the asker first) and a version that grows on every change.</summary>
public sealed record NameRecord(string Name, long Version, ImmutableArray<Endpoint> Members)
{
    public override string ToString() => $"{Name} v{Version} [{string.Join(", ", Members)}]";
}

/// <summary>Adds a member to a name (a fleet grows by one).</summary>
public sealed record NameRegister(string Name, Endpoint Member);

/// <summary>Removes a member from a name.</summary>
public sealed record NameUnregister(string Name, Endpoint Member);

/// <summary>
/// Asks for a name's members sorted for <paramref name="Asker"/>. When <paramref name="Subscriber"/>
/// is set (a kernel's control mailbox), the name server tells it when the name changes.
/// </summary>
public sealed record NameLookup(string Name, CoreId Asker, Endpoint? Subscriber);

/// <summary>Lists every name that starts with <paramref name="Prefix"/>.</summary>
public sealed record NameList(string Prefix);

/// <summary>The answer to <see cref="NameList"/>.</summary>
public sealed record NameListing(ImmutableArray<NameRecord> Names);

/// <summary>Removes every member on <paramref name="Core"/> from every name (its process ended) → Ack. System cores only.</summary>
public sealed record NameWithdrawCore(CoreId Core);

/// <summary>Removes every member on machine <paramref name="Machine"/> from every name (it was lost) → Ack. System cores only.</summary>
public sealed record NameWithdrawMachine(ushort Machine);

/// <summary>Where application processes may register names: under here, only their own mailboxes, at most 256 at once.</summary>
public static class ProcessNames
{
    public const string Prefix = "/user/";
}

/// <summary>Sent by the name server to caching kernels: drop anything older than <paramref name="Version"/>.</summary>
public sealed record NameChanged(string Name, long Version);

/// <summary>
/// How near a member is to a core, one notion for both runtimes: the same core, then the same
/// machine by hops on its mesh of cores, then other machines. The simulator prices a message by the
/// same hops (<c>LatencyModel</c>), so the member a lookup puts first is the one cheapest to reach.
/// </summary>
public static class Nearness
{
    /// <summary>Cores of a machine sit on a mesh this many wide (core i at column i mod W, row i div W), as on a tiled manycore chip.</summary>
    public const int MeshWidth = 4;

    /// <summary>Mesh hops between two cores of one machine.</summary>
    public static int Hops(ushort from, ushort to, int width = MeshWidth)
    {
        var w = Math.Max(1, width);
        return Math.Abs(from % w - to % w) + Math.Abs(from / w - to / w);
    }

    public static long Distance(CoreId from, Address to) =>
        to.Machine != from.Machine ? 1_000_000L + Math.Abs(to.Machine - from.Machine) * 100_000L + to.Core
        : Hops(from.Core, to.Core);

    public static ImmutableArray<Endpoint> Sort(IEnumerable<Endpoint> members, CoreId from) =>
        [.. members.OrderBy(m => Distance(from, m.Address)).ThenBy(m => m.Address.Machine).ThenBy(m => m.Address.Core).ThenBy(m => m.Address.Mailbox)];
}
