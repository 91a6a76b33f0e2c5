using System.Runtime.InteropServices;

namespace Fos.Cli.Node;

/// <summary>A host path's owner and type, through statx, whose layout is the same on every Linux architecture.</summary>
internal static partial class HostStat
{
    private const uint TypeMask = 0xF000, Regular = 0x8000, SymbolicLink = 0xA000;

    /// <summary>The path's owner and mode (type and permissions); of a symbolic link itself unless <paramref name="followLinks"/>.</summary>
    public static bool TryStat(string path, bool followLinks, out uint owner, out uint mode)
    {
        const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100;
        const uint StatxType = 0x1, StatxMode = 0x2, StatxUid = 0x8;
        var buffer = new byte[256]; // struct statx
        owner = mode = 0;
        if (statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType | StatxMode | StatxUid, buffer) != 0) return false;
        owner = BitConverter.ToUInt32(buffer, 20); // stx_uid
        mode = BitConverter.ToUInt16(buffer, 28); // stx_mode
        return true;
    }

    /// <summary>Whether the path is there and something other than a regular file (a device, a pipe, a socket), following links.</summary>
    public static bool IsSpecial(string path) =>
        TryStat(path, followLinks: true, out _, out var mode) && (mode & TypeMask) != Regular && (mode & TypeMask) != 0x4000;

    /// <summary>Whether the path itself is a symbolic link.</summary>
    public static bool IsLink(string path) => TryStat(path, followLinks: false, out _, out var mode) && (mode & TypeMask) == SymbolicLink;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buffer);
}
