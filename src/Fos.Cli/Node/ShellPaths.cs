namespace Fos.Cli.Node;

/// <summary>
/// A fos path as the user wrote it (<see cref="Given"/>, for messages) and as the file system
/// takes it (<see cref="Path"/>: absolute and canonical). The shell resolves '.' and '..'
/// lexically, as <c>realpath -s</c> does: <c>/a/../b</c> is <c>/b</c> whatever <c>/a</c> is, and
/// <c>/..</c> is <c>/</c>. A path that ends in '/', '.' or '..' must name a directory, as on
/// Linux. The shell has no current directory, so a path must start with '/'.
/// </summary>
internal readonly record struct ShellPath(string Given, string Path, bool MustBeDirectory)
{
    public static ShellPath Parse(string given)
    {
        if (!given.StartsWith('/'))
            throw new ShellFailure($"'{given}' is not a fos path: fos paths start with '/' (the shell has no current directory)");
        var parts = new List<string>();
        var segments = given.Split('/');
        foreach (var segment in segments)
        {
            if (segment is "" or ".") continue;
            if (segment == "..")
            {
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
            }
            else parts.Add(segment);
        }
        return new(given, "/" + string.Join('/', parts), segments[^1] is "" or "." or "..");
    }

    public bool IsRoot => Path == "/";

    /// <summary>Whether the path as written ends in '.' or '..' (which rm refuses, as coreutils does).</summary>
    public bool EndsInDots => Given.Split('/')[^1] is "." or "..";

    /// <summary>The last part of the path (a directory's name in its parent).</summary>
    public string Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>The directory the path is in.</summary>
    public string Parent => Path.LastIndexOf('/') is > 0 and var slash ? Path[..slash] : "/";
}
