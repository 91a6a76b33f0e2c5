using System.Text.Json;

namespace Fos.Runtime.Network;

/// <summary>A machine of the cluster as another knows it: its number, and where it accepts links (empty: it dials, it is not dialled).</summary>
public sealed record ClusterMember(ushort Machine, string Address);

/// <summary>
/// The machines a machine knows of, kept in its data directory beside its identity
/// (<c>cluster/members.json</c>), so that after a restart it reaches them again without a token.
/// On the machine that made the cluster it is also where new machines' numbers come from.
/// </summary>
public sealed class ClusterMembers
{
    private const string FileName = "members.json";
    private readonly string path;
    private readonly Lock gate = new();
    private readonly SortedDictionary<ushort, ClusterMember> members = [];

    private ClusterMembers(string directory, IEnumerable<ClusterMember> known)
    {
        path = Path.Combine(directory, FileName);
        foreach (var member in known) members[member.Machine] = member;
    }

    /// <summary>What <paramref name="directory"/> holds (nothing yet: none).</summary>
    /// <exception cref="InvalidDataException">The file is there but is not a list of members.</exception>
    public static ClusterMembers Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return new ClusterMembers(directory, []);
        try
        {
            var known = JsonSerializer.Deserialize<ClusterMember[]>(File.ReadAllText(path)) ?? [];
            return new ClusterMembers(directory, known.Where(m => m is { Machine: > 0, Address: not null }));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a list of the cluster's machines ({ex.Message}): fix or remove it", ex);
        }
    }

    public IReadOnlyList<ClusterMember> All
    {
        get { lock (gate) return [.. members.Values]; }
    }

    /// <summary>The number the next machine to join gets.</summary>
    public ushort Next
    {
        get
        {
            lock (gate)
            {
                var last = members.Count == 0 ? 0 : members.Keys.Max();
                return last == ushort.MaxValue ? throw new InvalidOperationException("the cluster has run out of machine numbers") : (ushort)(last + 1);
            }
        }
    }

    /// <summary>Adds or updates a machine and keeps the list on disk (written whole, then renamed over the old one).</summary>
    public void Set(ClusterMember member)
    {
        lock (gate)
        {
            members[member.Machine] = member;
            var temporary = path + ".new";
            File.WriteAllText(temporary, JsonSerializer.Serialize(members.Values.ToArray()));
            using (var file = new FileStream(temporary, FileMode.Open, FileAccess.Read)) file.Flush(flushToDisk: true);
            File.Move(temporary, path, overwrite: true);
        }
    }
}
