using System.Text;

namespace Fos.Protocols.FileSystem;

/// <summary>
/// Paths as the file system takes them: absolute, '/'-separated, no empty, "." or ".." parts (a
/// client library resolves those), each part at most 255 bytes of UTF-8 without NUL, the whole at
/// most 4096 bytes. Repeated and trailing slashes are ignored, as POSIX does.
/// </summary>
public static class FsPath
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public const int MaxName = 255;
    public const int MaxPath = 4096;

    /// <summary>The parts of <paramref name="path"/>; empty for the root.</summary>
    public static string[] Split(string? path)
    {
        if (string.IsNullOrEmpty(path)) throw FsError.Of(Errno.ENOENT, "the empty path names nothing");
        if (path[0] != '/') throw FsError.Of(Errno.EINVAL, $"'{path}' is not absolute: fos paths start with '/'");
        // Most paths are ASCII: a character is a byte and there is no surrogate to check, so the
        // UTF-8 passes (a cost on every path a system call names) are only for the others.
        var ascii = Ascii.IsValid(path);
        if (!ascii)
        {
            try
            {
                Strict.GetByteCount(path);
            }
            catch (EncoderFallbackException)
            {
                throw FsError.Of(Errno.EINVAL, "a path must be valid Unicode (it has a lone surrogate)");
            }
        }
        if ((ascii ? path.Length : Encoding.UTF8.GetByteCount(path)) > MaxPath) throw FsError.Of(Errno.ENAMETOOLONG, $"a path may have at most {MaxPath} bytes");
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            if (part is "." or "..") throw FsError.Of(Errno.EINVAL, $"'{path}': '.' and '..' are resolved by the caller, not the file system");
            if (part.Contains('\0')) throw FsError.Of(Errno.EINVAL, $"a path may not contain NUL");
            if ((ascii ? part.Length : Encoding.UTF8.GetByteCount(part)) > MaxName) throw FsError.Of(Errno.ENAMETOOLONG, $"'{part[..20]}…' is longer than {MaxName} bytes");
        }
        return parts;
    }

    /// <summary>
    /// The parts of a path as slices of it, with no string made, for a walk that can stop and
    /// leave the path to <see cref="Split"/> at the first thing it is unsure of: null when the path
    /// is not plain (not absolute, not ASCII, too long), and a part that <see cref="Split"/> would
    /// refuse comes out empty.
    /// </summary>
    public static PlainParts? Plain(string? path) =>
        !string.IsNullOrEmpty(path) && path[0] == '/' && path.Length <= MaxPath && Ascii.IsValid(path) ? new PlainParts(path) : null;

    /// <summary>The parts of a plain path, in order; see <see cref="Plain"/>.</summary>
    public readonly struct PlainParts(string path)
    {
        public Enumerator GetEnumerator() => new(path);

        public ref struct Enumerator(string path)
        {
            private int next;

            public ReadOnlySpan<char> Current { get; private set; }

            public bool MoveNext()
            {
                while (next < path.Length && path[next] == '/') next++;
                if (next == path.Length) return false;
                var end = path.IndexOf('/', next);
                if (end < 0) end = path.Length;
                var part = path.AsSpan(next, end - next);
                next = end;
                Current = part is "." or ".." || part.Length > MaxName || part.Contains('\0') ? [] : part;
                return true;
            }
        }
    }

    public static string Join(IEnumerable<string> parts) => "/" + string.Join('/', parts);
}
