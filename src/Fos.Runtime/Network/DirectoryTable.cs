using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Runtime.Network;

/// <summary>
/// The names of the directory as the changes committed so far make them: each name's members, in
/// the order they joined. A change does here what it does in a naming server's replica (an Add
/// replaces the member at its address), so the table is what a replica that opens now must be
/// told, and what a snapshot keeps. Not thread-safe: its owner locks.
/// </summary>
internal sealed class DirectoryTable
{
    private readonly SortedDictionary<string, List<Endpoint>> names = new(StringComparer.Ordinal);

    public int Count => names.Count;

    public void Apply(DirectoryChange change)
    {
        switch (change.Kind)
        {
            case DirectoryChangeKind.Add:
                if (!names.TryGetValue(change.Name, out var members)) names.Add(change.Name, members = []);
                members.RemoveAll(m => m.Address == change.Member.Address);
                members.Add(change.Member);
                break;
            case DirectoryChangeKind.Remove:
                RemoveWhere(change.Name, m => m.Address == change.Member.Address);
                break;
            case DirectoryChangeKind.WithdrawCore:
                foreach (var name in names.Keys.ToList()) RemoveWhere(name, m => m.Address.CoreId == change.Core);
                break;
            case DirectoryChangeKind.WithdrawMachine:
                foreach (var name in names.Keys.ToList()) RemoveWhere(name, m => m.Address.Machine == change.Core.Machine);
                break;
        }
    }

    private void RemoveWhere(string name, Predicate<Endpoint> leaves)
    {
        if (names.TryGetValue(name, out var members) && members.RemoveAll(leaves) > 0 && members.Count == 0) names.Remove(name);
    }

    /// <summary>The table as the changes that make it from nothing: one Add per member, names in order.</summary>
    public DirectoryChange[] AsAdds() =>
        [.. names.SelectMany(n => n.Value.Select(member => DirectoryChange.Add(n.Key, member)))];

    /// <summary>Replaces the whole table with <paramref name="adds"/>; says what changed, as the changes that take a replica of the old table to the new one.</summary>
    public List<DirectoryChange> Replace(IEnumerable<DirectoryChange> adds)
    {
        var before = names.ToDictionary(n => n.Key, n => n.Value.ToList(), StringComparer.Ordinal);
        names.Clear();
        foreach (var add in adds) Apply(add);
        var changes = new List<DirectoryChange>();
        foreach (var (name, old) in before)
        {
            var now = names.GetValueOrDefault(name) ?? [];
            changes.AddRange(old.Where(m => !now.Any(n => n.Address == m.Address)).Select(m => DirectoryChange.Remove(name, m)));
        }
        foreach (var (name, now) in names)
        {
            var old = before.GetValueOrDefault(name) ?? [];
            changes.AddRange(now.Where(m => !old.Contains(m)).Select(m => DirectoryChange.Add(name, m)));
        }
        return changes;
    }
}
