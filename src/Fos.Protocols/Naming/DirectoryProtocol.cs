using Fos.Kernel;
using Fos.Kernel.Naming;

namespace Fos.Protocols.Naming;

/// <summary>
/// What a machine of the cluster asks the leader of the directory of names, whose Raft log only
/// the leader may append to: a machine that is not the leader forwards its request there, and the
/// answer is the <see cref="DirectoryCommitted"/> index the request committed at.
/// </summary>
public interface IDirectoryRequest;

/// <summary>
/// Commits a change to the directory of names → <see cref="DirectoryCommitted"/>. The entry in the
/// log is this record: <paramref name="Id"/>, drawn at random by the machine that submits, lets
/// every replica take a change sent again (its first answer lost) only once.
/// </summary>
public sealed record DirectorySubmit(DirectoryChange Change, long Id) : IDirectoryRequest;

/// <summary>
/// Makes machine <paramref name="Machine"/>, whose directory node listens at
/// <paramref name="Address"/> (HOST:PORT), a voter of the directory → <see cref="DirectoryCommitted"/>.
/// </summary>
public sealed record DirectoryAddMachine(ushort Machine, string Address) : IDirectoryRequest;

/// <summary>
/// A machine of the directory, as the directory's replicated state records it: where its node
/// listens (HOST:PORT), and the mailbox that takes the requests other machines forward to it when
/// it leads (the default endpoint while it has none). Sent to the leader, it records the machine
/// → <see cref="DirectoryCommitted"/>.
/// </summary>
public sealed record DirectoryMachine(ushort Machine, string Address, Endpoint Forwarder) : IDirectoryRequest;

/// <summary>The index of the directory's log at which a request committed.</summary>
public sealed record DirectoryCommitted(long Index);

/// <summary>
/// The directory's replicated state as of log entry <paramref name="Index"/>: its machines, its
/// names as the <see cref="DirectoryChangeKind.Add"/> changes that make them, in name order, and
/// the ids of the changes submitted last, oldest first (so one sent again is still known).
/// </summary>
public sealed record DirectorySnapshot(long Index, DirectoryMachine[] Machines, DirectoryChange[] Names, long[] Recent);
