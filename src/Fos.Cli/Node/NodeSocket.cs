using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Fos.Cli.Node;

/// <summary>
/// Where a node's control socket lives, and who may use it. The socket is not in the data
/// directory (which may be on a file system that cannot hold one, or too deep for the 108-byte
/// limit of a socket's path) but in a short private runtime directory: <c>$XDG_RUNTIME_DIR/fos</c>
/// when that is set and usable, else <c>/run/fos</c> for root or <c>/tmp/fos-UID</c>. The directory
/// is made with mode 0700 and refused if someone else owns it or others may enter it; the socket
/// is 0600 and named by a hash of the data directory's full path, and its path is recorded in
/// <c>DATA/fos.sock.path</c> so clients find it whatever their environment.
/// </summary>
internal static partial class NodeSocket
{
    /// <summary>The longest socket path the kernel takes: sun_path is 108 bytes with its closing NUL.</summary>
    public const int MaxPathBytes = 107;

    /// <summary>The file in the data directory that names the running node's socket.</summary>
    public static string RecordPath(string dataDirectory) => Path.Combine(dataDirectory, "fos.sock.path");

    /// <summary>The socket's name: a hash of the data directory's full path (without a trailing slash), short and stable.</summary>
    public static string Id(string dataDirectory) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory)))))[..16];

    /// <summary>The runtime directory for sockets in this environment (not yet checked or created).</summary>
    public static string RuntimeDirectory(string dataDirectory) =>
        RuntimeDirectory(dataDirectory, Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR"), EffectiveUid());

    /// <summary>The choice itself: $XDG_RUNTIME_DIR/fos if that is an existing absolute directory with room for the name, else by user.</summary>
    public static string RuntimeDirectory(string dataDirectory, string? xdgRuntimeDir, uint uid)
    {
        if (xdgRuntimeDir is { Length: > 0 } xdg && Path.IsPathRooted(xdg) && Directory.Exists(xdg))
        {
            var candidate = Path.Combine(xdg, "fos");
            if (Fits(Path.Combine(candidate, Id(dataDirectory) + ".sock"))) return candidate;
        }
        return uid == 0 ? "/run/fos" : $"/tmp/fos-{uid}";
    }

    /// <summary>Where a node for <paramref name="dataDirectory"/> puts its socket in this environment.</summary>
    public static string DefaultPath(string dataDirectory) => Path.Combine(RuntimeDirectory(dataDirectory), Id(dataDirectory) + ".sock");

    /// <summary>Where a client finds the node of <paramref name="dataDirectory"/>: the recorded path, else the default one.</summary>
    public static string Find(string dataDirectory)
    {
        try
        {
            var recorded = File.ReadAllText(RecordPath(dataDirectory)).Trim();
            if (Path.IsPathRooted(recorded)) return recorded;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // No record (no node ever ran here, or it is gone): the default place.
        }
        return DefaultPath(dataDirectory);
    }

    public static bool Fits(string socketPath) => Encoding.UTF8.GetByteCount(socketPath) <= MaxPathBytes;

    /// <summary>
    /// Makes the runtime directory (0700) if needed and checks that it is ours alone; returns the
    /// socket's path. Throws <see cref="IOException"/> with one line saying what is wrong.
    /// </summary>
    public static string Prepare(string dataDirectory)
    {
        var directory = RuntimeDirectory(dataDirectory);
        try
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot create the socket directory {directory} ({Fos.Runtime.Storage.DataDirectoryLock.Reason(ex)}); fix it or set XDG_RUNTIME_DIR to a directory of your own");
        }
        CheckPrivate(directory);
        return Path.Combine(directory, Id(dataDirectory) + ".sock");
    }

    /// <summary>Refuses a socket directory that is a link, someone else's, or open to group or others.</summary>
    private static void CheckPrivate(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        if (!HostStat.TryStat(directory, followLinks: false, out var owner, out var mode))
            throw new IOException($"cannot inspect the socket directory {directory}; fix it or set XDG_RUNTIME_DIR to a directory of your own");
        var problem =
            (mode & 0xF000) != 0x4000 ? "is not a directory" // S_IFDIR, and not a symbolic link to one
            : owner != EffectiveUid() ? $"belongs to uid {owner}, not to this user (uid {EffectiveUid()})"
            : (mode & 0x3F) != 0 ? $"is open to group or others (mode {Convert.ToString(mode & 0xFFF, 8)})"
            : null;
        if (problem is not null)
            throw new IOException($"refusing the socket directory {directory}: it {problem}; remove it, or make it yours with mode 700");
    }

    /// <summary>The node's side: binds the socket at <paramref name="path"/> (replacing one a killed node left) with mode 0600.</summary>
    public static Socket Listen(string path, int backlog)
    {
        if (!Fits(path)) throw new IOException($"the socket path {path} is longer than {MaxPathBytes} bytes; set XDG_RUNTIME_DIR to a shorter directory");
        File.Delete(path); // left by a node that was killed; the caller holds the data directory's lock, so it is not in use
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(backlog);
            return listener;
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new IOException($"cannot open the node's socket {path} ({ex.Message})");
        }
    }

    /// <summary>Removes a stopped node's socket, and its record if the record still names it.</summary>
    public static void Remove(string dataDirectory, string? socketPath)
    {
        if (string.IsNullOrEmpty(socketPath)) return;
        try
        {
            var record = RecordPath(dataDirectory);
            if (File.Exists(record) && File.ReadAllText(record).Trim() == socketPath) File.Delete(record);
            File.Delete(socketPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Nothing to lose: the next node on this directory replaces both.
        }
    }

    /// <summary>The user id of the process at the other end of a connected Unix socket (SO_PEERCRED), or null where the host cannot say.</summary>
    public static uint? PeerUid(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return null;
        Span<byte> credentials = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        const int SolSocket = 1, SoPeerCred = 17;
        return socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials) == credentials.Length
            ? MemoryMarshal.Read<uint>(credentials[4..])
            : null;
    }

    /// <summary>Who may use a node: its own user, and root.</summary>
    public static bool MayConnect(uint peerUid, uint nodeUid) => peerUid == nodeUid || peerUid == 0;

    public static uint EffectiveUid() => OperatingSystem.IsLinux() ? geteuid() : 0;

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
