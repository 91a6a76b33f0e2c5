namespace Fos.Kernel.Storage;

/// <summary>Store names: slash-separated segments of lower-case letters, digits, '-', '_' and '.'.</summary>
public static class StoreNames
{
    public static void Check(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 200)
            throw new FosException(FosError.BadRequest, "a store name must have 1 to 200 characters, like 'fs/member-0'");
        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".."
                || !segment.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
                throw new FosException(FosError.BadRequest,
                    $"bad store name '{name}': use segments of a-z, 0-9, '-', '_' and '.', separated by '/', like 'fs/member-0'");
        }
    }
}
