using Fos.Kernel;

namespace Fos.Protocols.Memory;

/// <summary>Sent by boot: who the members are, and the range of page numbers this member starts with.</summary>
public sealed record MemConfigure(int Index, Endpoint[] Members, long FirstPage, long PageCount);

/// <summary>
/// Allocates <paramref name="Bytes"/> (rounded up to whole pages) for the process on the sending
/// core, which the kernel attests → <see cref="MemGrant"/>. Nothing the request says can make it
/// anyone else's.
/// </summary>
public sealed record MemAlloc(long Bytes);

/// <summary>
/// An allocation: its id, its pages, the member that keeps it (free it there), and the token under
/// which the machine delivered its memory to the caller alone (map it with the kernel's MapMemory).
/// </summary>
public sealed record MemGrant(long Id, long Bytes, long[] Pages, Endpoint Member, long Token);

/// <summary>
/// The allocation's memory for the process on <paramref name="With"/> too (zero copy: both map the
/// same pages) → <see cref="MemShared"/>. Only the process the allocation was granted to may share it.
/// </summary>
public sealed record MemShare(long Id, CoreId With);

/// <summary>The token under which the other process maps the shared memory (pass it on to it).</summary>
public sealed record MemShared(long Token);

/// <summary>Frees an allocation → Ack.</summary>
public sealed record MemFree(long Id);

/// <summary>Frees everything the process on process core <paramref name="Core"/> holds (sent when it ends) → how many allocations (int).</summary>
public sealed record MemReleaseAll(CoreId Core);

/// <summary>A sibling ran dry: give it up to <paramref name="Pages"/> free pages → long[] (they become its own).</summary>
public sealed record MemLend(int Pages);

/// <summary>This member's pages → <see cref="MemUsage"/>.</summary>
public sealed record MemStats;

public sealed record MemUsage(int Member, long FreePages, long AllocatedPages, int Allocations);

/// <summary>To a member that is leaving: give every free page and every allocation to member <paramref name="To"/> → Ack.</summary>
public sealed record MemHandOver(int To);

/// <summary>An allocation on its way to another member (its bytes stay where they are: in the holder's memory).</summary>
public sealed record MemAllocationState(long Id, long Bytes, long[] Pages, long Token, CoreId Holder, long[] Shares);

/// <summary>What a leaving member hands over: its free pages and its allocations → Ack.</summary>
public sealed record MemAdopt(long[] FreePages, MemAllocationState[] Allocations);

/// <summary>The fleet's members changed (one was added): the full list, indexes unchanged.</summary>
public sealed record MemMembers(Endpoint[] Members);

/// <summary>The members as this member knows them, in index order → Endpoint[].</summary>
public sealed record MemFleetState;
