namespace Fos.Protocols.Memory;

/// <summary>Numbers the memory fleet's clients and members must agree on.</summary>
public static class MemLimits
{
    /// <summary>The size of a page: allocations are rounded up to whole pages, and grants list them.</summary>
    public const int PageSize = 4096;
}
