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
        var grant = await SysCall.Mem<MemGrant>(null, new MemAlloc(bytes, SysCall.CurrentProcess));
        return new FosBuffer(grant.Id, grant.Bytes, grant.Pages.Length, grant.Member, grant.Token,
            SysCall.Enter().MapMemory(grant.Token, grant.Bytes));
    }

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
    /// <summary>Unmaps the buffer and gives its pages back; the <see cref="Memory"/> must not be used after.</summary>
    public Task FreeAsync()
    {
        SysCall.Enter().UnmapMemory(Token);
        return SysCall.Mem<Ack>(Member, new MemFree(Id));
    }
}
