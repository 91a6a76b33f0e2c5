namespace Fos.Kernel.Naming;

/// <summary>What a change to the directory does.</summary>
public enum DirectoryChangeKind : byte
{
    /// <summary><see cref="DirectoryChange.Member"/> joins <see cref="DirectoryChange.Name"/>'s members (replacing one at its address).</summary>
    Add = 1,
    /// <summary><see cref="DirectoryChange.Member"/> leaves <see cref="DirectoryChange.Name"/>'s members.</summary>
    Remove = 2,
    /// <summary>Every member on <see cref="DirectoryChange.Core"/> leaves every name (its process ended).</summary>
    WithdrawCore = 3,
    /// <summary>Every member on machine <see cref="DirectoryChange.Core"/>'s machine leaves every name (the machine was lost).</summary>
    WithdrawMachine = 4,
}

/// <summary>One change to the directory of names: applied in the same order on every machine's replica.</summary>
public sealed record DirectoryChange(DirectoryChangeKind Kind, string Name, Endpoint Member, CoreId Core)
{
    public static DirectoryChange Add(string name, Endpoint member) => new(DirectoryChangeKind.Add, name, member, member.Address.CoreId);

    public static DirectoryChange Remove(string name, Endpoint member) => new(DirectoryChangeKind.Remove, name, member, member.Address.CoreId);

    public static DirectoryChange WithdrawCore(CoreId core) => new(DirectoryChangeKind.WithdrawCore, "", default, core);

    public static DirectoryChange WithdrawMachine(ushort machine) => new(DirectoryChangeKind.WithdrawMachine, "", default, new CoreId(machine, 0));
}

/// <summary>
/// The directory of names as a naming server holds it (a port, like the storage port): changes
/// are submitted, committed in one order for the whole cluster, and applied on every machine's
/// replica in that order. On a machine on its own a change commits at once; in a cluster the
/// real runtime replicates it with Raft, and the simulator with a log of its own in virtual time.
/// </summary>
public interface IDirectory
{
    /// <summary>
    /// Submits <paramref name="change"/>. The task completes, on the submitter's core, once the
    /// change was committed and applied here (its <see cref="IDirectoryEvents.Applied"/> has run),
    /// or fails with a <see cref="FosException"/> when it cannot be committed (no majority reachable).
    /// </summary>
    Task Submit(DirectoryChange change);

    /// <summary>
    /// Completes once this replica has applied every change committed before the call (a read
    /// barrier), so what it answers next is not older than that; fails with a
    /// <see cref="FosException"/> when this machine cannot reach a majority to learn what that is.
    /// </summary>
    Task Sync();
}

/// <summary>What a naming server hears from its directory, on its own core, in commit order, each change once.</summary>
public interface IDirectoryEvents
{
    void Applied(DirectoryChange change);
}

/// <summary>The directory of a machine on its own: a change commits and applies at once, on the submitter's core.</summary>
public sealed class LocalDirectory(IDirectoryEvents events) : IDirectory
{
    public Task Submit(DirectoryChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        events.Applied(change);
        return Task.CompletedTask;
    }

    public Task Sync() => Task.CompletedTask;
}
