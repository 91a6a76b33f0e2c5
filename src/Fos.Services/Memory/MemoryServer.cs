using Fos.Kernel;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Memory;

namespace Fos.Services.Memory;

/// <summary>
/// A member of the memory fleet (<c>/sys/mem</c>): a page allocator over a pool of page numbers
/// split by range across the members, as the fos paper describes. A client asks its nearest
/// member; a member that runs dry takes free pages from its siblings by messages, and the pages it
/// takes become its own. Every allocation belongs to a process and goes back to the pool when that
/// process ends. The bytes of an allocation live with the member that granted it, so a buffer can
/// be handed from one process to another by its id: reads and writes are messages to that member.
/// </summary>
public sealed class MemoryServer : Server
{
    public const int PageSize = MemLimits.PageSize;

    public static readonly ServerImage Image = new("mem", () => new MemoryServer(), MailboxCapacity: 4096);

    private readonly Stack<long> free = new();
    private readonly Dictionary<long, Allocation> allocations = [];
    private readonly Dictionary<long, byte[]> contents = [];
    private Endpoint[] members = [];
    private int index;
    private long nextId = 1;

    private sealed record Allocation(long Owner, long Bytes, long[] Pages);

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
        MemAlloc a => ReplyWhenDone(Allocate(a)),
        MemRead r => Reply(Read(r)),
        MemWrite w => Reply(Write(w)),
        MemFree f => Reply(Free(f.Id)),
        MemReleaseAll r => Reply(ReleaseAll(r.Owner)),
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

    private async Task<MemGrant> Allocate(MemAlloc request)
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
        var granted = new long[pages];
        for (var i = 0; i < pages; i++) granted[i] = free.Pop();
        var id = nextId++ * 64 + index;
        allocations.Add(id, new Allocation(request.Owner, request.Bytes, granted));
        return new MemGrant(id, request.Bytes, granted, Endpoint);
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
        var states = allocations.Select(a => new MemAllocationState(a.Key, a.Value.Owner, a.Value.Bytes, a.Value.Pages,
            [.. a.Value.Pages.Where(contents.ContainsKey).Select(p => new KeyValuePair<long, byte[]>(p, contents[p]))])).ToArray();
        var pages = free.ToArray();
        free.Clear();
        allocations.Clear();
        contents.Clear();
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
        foreach (var a in adopt.Allocations)
        {
            allocations.Add(a.Id, new Allocation(a.Owner, a.Bytes, a.Pages));
            foreach (var (page, bytes) in a.Contents) contents[page] = bytes;
        }
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

    private byte[] Read(MemRead request)
    {
        var allocation = Find(request.Id);
        Bounds(allocation, request.Offset, request.Count);
        var result = new byte[request.Count];
        Copy(allocation, request.Offset, result.Length, (page, at, from, n) => { if (contents.TryGetValue(page, out var bytes)) bytes.AsSpan(at, n).CopyTo(result.AsSpan(from)); });
        return result;
    }

    private Ack Write(MemWrite request)
    {
        var allocation = Find(request.Id);
        Bounds(allocation, request.Offset, request.Data.Length);
        Copy(allocation, request.Offset, request.Data.Length, (page, at, from, n) =>
        {
            if (!contents.TryGetValue(page, out var bytes)) contents[page] = bytes = new byte[PageSize];
            request.Data.AsSpan(from, n).CopyTo(bytes.AsSpan(at));
        });
        return Ack.Instance;
    }

    private static void Bounds(Allocation allocation, long offset, int count)
    {
        if (offset < 0 || count < 0 || offset + count > allocation.Bytes)
            throw FsError.Of(Errno.EINVAL, $"bytes {offset}..{offset + count} are outside the allocation of {allocation.Bytes} bytes");
    }

    /// <summary>Walks the pages a byte range covers: (page, offset in page, offset in range, length).</summary>
    private static void Copy(Allocation allocation, long offset, int count, Action<long, int, int, int> each)
    {
        for (var done = 0; done < count;)
        {
            var position = offset + done;
            var within = (int)(position % PageSize);
            var n = Math.Min(PageSize - within, count - done);
            each(allocation.Pages[position / PageSize], within, done, n);
            done += n;
        }
    }

    private Ack Free(long id)
    {
        var allocation = Find(id);
        Return(id, allocation);
        return Ack.Instance;
    }

    private int ReleaseAll(long owner)
    {
        var theirs = allocations.Where(a => a.Value.Owner == owner).ToList();
        foreach (var (id, allocation) in theirs) Return(id, allocation);
        return theirs.Count;
    }

    private void Return(long id, Allocation allocation)
    {
        allocations.Remove(id);
        foreach (var page in allocation.Pages)
        {
            contents.Remove(page); // a page goes back clean
            free.Push(page);
        }
    }
}
