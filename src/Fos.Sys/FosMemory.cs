using Fos.Kernel;
using Fos.Protocols.Memory;

namespace Fos.Sys;

/// <summary>
/// Memory from the memory fleet: buffers of whole pages for bulk data, owned by the calling
/// process and given back when it ends. A buffer's id can be handed to another process, which
/// opens it with <see cref="Open"/> and reads what the first one wrote.
/// </summary>
public static class FosMemory
{
    public const int PageSize = MemLimits.PageSize;

    /// <summary>Allocates at least <paramref name="bytes"/> bytes (whole pages) from the nearest member.</summary>
    public static async Task<FosBuffer> AllocateAsync(long bytes)
    {
        var grant = await SysCall.Mem<MemGrant>(null, new MemAlloc(bytes, SysCall.CurrentProcess));
        return new FosBuffer(grant.Id, grant.Bytes, grant.Pages.Length, grant.Member);
    }

    /// <summary>A buffer someone else allocated, by the id and member they passed on.</summary>
    public static FosBuffer Open(long id, long bytes, Endpoint member) => new(id, bytes, (int)((bytes + PageSize - 1) / PageSize), member);

    /// <summary>How each member's pages are used.</summary>
    public static async Task<MemUsage[]> UsageAsync()
    {
        var members = (await SysCall.Enter().LookupAll(Fos.Kernel.Naming.WellKnownNames.Memory)).Members;
        var usage = new List<MemUsage>();
        foreach (var member in members) usage.Add(await SysCall.Mem<MemUsage>(member, new MemStats()));
        return [.. usage.OrderBy(u => u.Member)];
    }
}

/// <summary>A buffer of pages held by a memory-fleet member; every read and write is a message to it.</summary>
public sealed record FosBuffer(long Id, long Length, int Pages, Endpoint Member)
{
    public Task WriteAsync(long offset, ReadOnlySpan<byte> data) => SysCall.Mem<Ack>(Member, new MemWrite(Id, offset, data.ToArray()));

    public Task<byte[]> ReadAsync(long offset, int count) => SysCall.Mem<byte[]>(Member, new MemRead(Id, offset, count));

    public Task FreeAsync() => SysCall.Mem<Ack>(Member, new MemFree(Id));
}
