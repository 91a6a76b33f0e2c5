using Fos.Kernel;
using Fos.Protocols.Memory;

namespace Fos.Sys;

/// <summary>
/// Memory from the memory fleet: buffers of whole pages, mapped into this process and read and
/// written directly (no message per access), owned by the calling process and given back when it
/// ends. The machine hands each buffer's memory to the process that asked, and to nobody else.
/// </summary>
public static class FosMemory
{
    public const int PageSize = MemLimits.PageSize;

    /// <summary>Allocates at least <paramref name="bytes"/> bytes (whole pages, zeroed) from the nearest member, mapped.</summary>
    public static async Task<FosBuffer> AllocateAsync(long bytes)
    {
        var grant = await SysCall.Mem<MemGrant>(null, new MemAlloc(bytes));
        return new FosBuffer(grant.Id, grant.Bytes, grant.Pages.Length, grant.Member, grant.Token,
            SysCall.Enter().MapMemory(grant.Token, grant.Bytes));
    }

    /// <summary>Memory another process shared with this one (<see cref="FosBuffer.ShareWithAsync"/>), by the token it passed on, mapped.</summary>
    public static Memory<byte> MapShared(long token, long bytes) => SysCall.Enter().MapMemory(token, bytes);

    /// <summary>Unmaps shared memory; it must not be used after.</summary>
    public static void UnmapShared(long token) => SysCall.Enter().UnmapMemory(token);

    /// <summary>How each member's pages are used.</summary>
    public static async Task<MemUsage[]> UsageAsync()
    {
        var members = (await SysCall.Enter().LookupAll(Fos.Kernel.Naming.WellKnownNames.Memory)).Members;
        var usage = new List<MemUsage>();
        foreach (var member in members) usage.Add(await SysCall.Mem<MemUsage>(member, new MemStats()));
        return [.. usage.OrderBy(u => u.Member)];
    }
}

/// <summary>A buffer of pages from a memory-fleet member, mapped here: <see cref="Memory"/> is its bytes.</summary>
public sealed record FosBuffer(long Id, long Length, int Pages, Endpoint Member, long Token, Memory<byte> Memory)
{
    /// <summary>
    /// Shares the buffer's pages with the process on <paramref name="process"/> (its core, as
    /// <c>ps</c> shows): nothing is copied, both map the same memory → the token that process maps
    /// it by (<see cref="FosMemory.MapShared"/>). Freeing the buffer takes it from both.
    /// </summary>
    public async Task<long> ShareWithAsync(CoreId process) => (await SysCall.Mem<MemShared>(Member, new MemShare(Id, process))).Token;

    /// <summary>Unmaps the buffer and gives its pages back; the <see cref="Memory"/> must not be used after.</summary>
    public Task FreeAsync()
    {
        SysCall.Enter().UnmapMemory(Token);
        return SysCall.Mem<Ack>(Member, new MemFree(Id));
    }
}
