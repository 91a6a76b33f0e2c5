using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Memory;

namespace Fos.Services.Memory;

/// <summary>
/// A member of the memory fleet (<c>/sys/mem</c>): a page allocator over a pool of page numbers
/// split by range across the members, as the fos paper describes. A client asks its nearest
/// member; a member that runs dry takes free pages from its siblings by messages, and the pages it
/// takes become its own. An allocation's bytes are real memory the machine grants the asking core
/// alone (<see cref="IKernel.GrantMemory"/>): the client maps it and reads and writes it in place,
/// with no message per access. Every allocation belongs to a process and goes back to the pool,
/// its memory revoked, when it is freed or that process ends.
/// </summary>
public sealed class MemoryServer : Server
{
    public const int PageSize = MemLimits.PageSize;

    public static readonly ServerImage Image = new("mem", () => new MemoryServer(), MailboxCapacity: 4096);

    private readonly Stack<long> free = new();
    private readonly Dictionary<long, Allocation> allocations = [];
    private Endpoint[] members = [];
    private int index;

    private sealed record Allocation(long Bytes, long[] Pages, long Token, CoreId Holder, List<long> Shares);

    private long refusals;

    /// <summary>Requests refused because an application sent what only the fleet and boot may.</summary>
    public long Refusals => refusals;

    protected override ValueTask<object?> Handle(Message message)
    {
        // Configuration, the fleet's own traffic and reclaiming a process's memory are the system's.
        if (message.Body is MemConfigure or MemReleaseAll or MemLend or MemMembers or MemFleetState or MemHandOver or MemAdopt)
            message.RequireSystem(ref refusals);
        return Serve(message);
    }

    private ValueTask<object?> Serve(Message message) => message.Body switch
    {
        MemConfigure c => Reply(Configure(c)),
        MemAlloc a => ReplyWhenDone(Allocate(a, message.From.CoreId)),
        MemFree f => Reply(Free(f.Id)),
        MemShare s => Reply(Share(s, message.From.CoreId)),
        MemReleaseAll r => Reply(ReleaseAll(r.Core)),
        MemLend l => Reply(Lend(l.Pages)),
        MemStats => Reply(new MemUsage(index, free.Count, allocations.Values.Sum(a => (long)a.Pages.Length), allocations.Count)),
        MemMembers m => Reply(SetMembers(m.Members)),
        MemFleetState => Reply(members),
        MemHandOver h => ReplyWhenDone(HandOver(h.To)),
        MemAdopt a => Reply(Adopt(a)),
        _ => throw new FosException(FosError.BadRequest, $"the memory service does not understand {message.Body?.GetType().Name ?? "null"}"),
    };

    private Ack Configure(MemConfigure configure)
    {
        if (configure.PageCount < 0 || configure.Index < 0 || configure.Index >= configure.Members.Length)
            throw new FosException(FosError.BadRequest, "a memory member needs its index among the members and a page range");
        members = configure.Members;
        index = configure.Index;
        free.Clear();
        for (var page = configure.FirstPage + configure.PageCount - 1; page >= configure.FirstPage; page--) free.Push(page);
        return Ack.Instance;
    }

    /// <summary>Pages from this member's range (borrowed when it runs dry), as memory the machine maps for <paramref name="holder"/> alone.</summary>
    private async Task<MemGrant> Allocate(MemAlloc request, CoreId holder)
    {
        if (request.Bytes <= 0) throw FsError.Of(Errno.EINVAL, "an allocation needs at least one byte");
        var pages = (int)Math.Min(int.MaxValue, (request.Bytes + PageSize - 1) / PageSize);
        // Dry: borrow from siblings, nearest first, until there is enough or nobody has any.
        foreach (var sibling in members.Where(m => m != Endpoint).OrderBy(m => Fos.Kernel.Naming.Nearness.Distance(Kernel.Core, m.Address)))
        {
            if (free.Count >= pages) break;
            try
            {
                foreach (var page in await Kernel.Call<long[]>(sibling, new MemLend(pages - free.Count))) free.Push(page);
            }
            catch (FosException)
            {
                // That sibling is gone; ask the next.
            }
        }
        if (free.Count < pages)
            throw FsError.Of(Errno.ENOMEM, $"out of memory: {pages} pages wanted, {free.Count} to be had in the whole fleet");
        if ((long)pages * PageSize > int.MaxValue)
            throw FsError.Of(Errno.EINVAL, $"an allocation is at most 2 GiB, not {request.Bytes} bytes");
        var granted = new long[pages];
        for (var i = 0; i < pages; i++) granted[i] = free.Pop();
        long token;
        try
        {
            token = Kernel.GrantMemory(holder, (long)pages * PageSize);
        }
        catch (FosException)
        {
            foreach (var page in granted) free.Push(page);
            throw;
        }
        long id;
        do id = (long)(Kernel.NextRandom() >> 1); while (id == 0 || allocations.ContainsKey(id)); // unique at any fleet size, and unguessable
        allocations.Add(id, new Allocation(request.Bytes, granted, token, holder, []));
        return new MemGrant(id, request.Bytes, granted, Endpoint, token);
    }

    private Ack SetMembers(Endpoint[] all)
    {
        if (all.Length < members.Length || !all.Take(members.Length).SequenceEqual(members))
            throw new FosException(FosError.BadRequest, "members may be added to a memory fleet, never renumbered");
        members = all;
        return Ack.Instance;
    }

    /// <summary>
    /// Leaving the fleet: every free page and every allocation, bytes included, goes to member
    /// <paramref name="to"/>, which serves them from then on under the same ids; nothing is lost.
    /// </summary>
    private async Task<Ack> HandOver(int to)
    {
        if (to < 0 || to >= members.Length || to == index) throw new FosException(FosError.BadRequest, $"member {to} cannot take this member's pages");
        // Everything leaves at once, before the await: a lend or a write arriving meanwhile finds
        // nothing here (EBADF sends the client to the heir) instead of pages the heir also has.
        var states = allocations.Select(a => new MemAllocationState(a.Key, a.Value.Bytes, a.Value.Pages, a.Value.Token,
            a.Value.Holder, [.. a.Value.Shares])).ToArray();
        var pages = free.ToArray();
        free.Clear();
        allocations.Clear();
        try
        {
            await Kernel.Call(members[to], new MemAdopt(pages, states));
        }
        catch (FosException)
        {
            Adopt(new MemAdopt(pages, states)); // the heir did not take them: they stay here
            throw;
        }
        return Ack.Instance;
    }

    private Ack Adopt(MemAdopt adopt)
    {
        foreach (var page in adopt.FreePages) free.Push(page);
        foreach (var a in adopt.Allocations) allocations.Add(a.Id, new Allocation(a.Bytes, a.Pages, a.Token, a.Holder, [.. a.Shares ?? []]));
        return Ack.Instance;
    }

    private long[] Lend(int wanted)
    {
        // Keep a quarter of what is free for this member's own clients.
        var spare = Math.Min(Math.Max(0, wanted), free.Count - free.Count / 4);
        var lent = new long[spare];
        for (var i = 0; i < spare; i++) lent[i] = free.Pop();
        return lent;
    }

    private Allocation Find(long id) =>
        allocations.TryGetValue(id, out var allocation) ? allocation : throw FsError.Of(Errno.EBADF, $"no allocation {id} here (freed already, or never made)");

    /// <summary>Only the holder shares its allocation's memory; the other process gets a token of its own for the same pages.</summary>
    private MemShared Share(MemShare request, CoreId asker)
    {
        var allocation = Find(request.Id);
        if (allocation.Holder != asker)
            throw FsError.Of(Errno.EBADF, $"allocation {request.Id} is not {asker}'s to share");
        var token = Kernel.ShareMemory(allocation.Token, request.With);
        allocation.Shares.Add(token);
        return new MemShared(token);
    }

    private Ack Free(long id)
    {
        var allocation = Find(id);
        Return(id, allocation);
        return Ack.Instance;
    }

    private int ReleaseAll(CoreId core)
    {
        var theirs = allocations.Where(a => a.Value.Holder == core).ToList();
        foreach (var (id, allocation) in theirs) Return(id, allocation);
        return theirs.Count;
    }

    private void Return(long id, Allocation allocation)
    {
        allocations.Remove(id);
        Kernel.RevokeMemory(allocation.Token); // the machine lets go; the pages are freed once the holders have unmapped them too
        foreach (var share in allocation.Shares) Kernel.RevokeMemory(share);
        foreach (var page in allocation.Pages) free.Push(page);
    }
}
