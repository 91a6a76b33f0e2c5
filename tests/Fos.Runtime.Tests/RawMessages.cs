using System.Runtime.InteropServices;

namespace Fos.Runtime.Tests;

/// <summary>
/// A hostile peer for the fd-channel tests: sends any bytes with any number of fds over a Unix
/// socket, and reads the fd state the tests check. 64-bit Linux layouts, as in the runtime.
/// </summary>
internal static class RawMessages
{
    private const int SolSocket = 1;
    private const int ScmRights = 1;
    private const int SoPassCred = 16;
    private const int MsgNoSignal = 0x4000;
    private const int MsgDontWait = 0x40;
    private const int FGetFd = 1;
    private const int FdCloexec = 1;
    private static readonly int HeaderBytes = Align(16); // struct cmsghdr { size_t len; int level; int type; }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public nint Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern nint sendmsg(int fd, ref MsgHdr message, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(int fd, int command, int argument);

    [DllImport("libc", SetLastError = true)]
    private static extern int setsockopt(int fd, int level, int name, ref int value, uint length);

    private static int Align(int length) => (length + nint.Size - 1) & ~(nint.Size - 1);

    /// <summary>Sends one message of <paramref name="data"/> carrying <paramref name="fds"/> (none: no control data at all).</summary>
    public static void Send(int socket, byte[] data, params int[] fds)
    {
        var controlBytes = fds.Length == 0 ? 0 : HeaderBytes + Align(sizeof(int) * fds.Length);
        var buffer = Marshal.AllocHGlobal(Math.Max(1, data.Length));
        var control = Marshal.AllocHGlobal(Math.Max(8, controlBytes)); // malloc'd: size_t-aligned
        var vector = Marshal.AllocHGlobal(Marshal.SizeOf<IoVec>());
        try
        {
            Marshal.Copy(data, 0, buffer, data.Length);
            Marshal.StructureToPtr(new IoVec { Base = buffer, Length = (nuint)data.Length }, vector, false);
            if (fds.Length > 0)
            {
                Marshal.WriteInt64(control, 0, HeaderBytes + sizeof(int) * fds.Length); // CMSG_LEN
                Marshal.WriteInt32(control, 8, SolSocket);
                Marshal.WriteInt32(control, 12, ScmRights);
                for (var i = 0; i < fds.Length; i++) Marshal.WriteInt32(control, HeaderBytes + sizeof(int) * i, fds[i]);
            }
            var message = new MsgHdr
            {
                Iov = vector,
                IovLength = 1,
                Control = fds.Length == 0 ? 0 : control,
                ControlLength = (nuint)controlBytes,
            };
            if (sendmsg(socket, ref message, MsgNoSignal | MsgDontWait) < 0)
                throw new IOException($"sendmsg failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Marshal.FreeHGlobal(vector);
            Marshal.FreeHGlobal(control);
            Marshal.FreeHGlobal(buffer);
        }
    }

    /// <summary>Asks the kernel to attach the sender's credentials (SCM_CREDENTIALS) to every message this socket receives.</summary>
    public static void PassCredentials(int socket)
    {
        var on = 1;
        if (setsockopt(socket, SolSocket, SoPassCred, ref on, sizeof(int)) != 0)
            throw new IOException($"setsockopt failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Whether <paramref name="fd"/> is close-on-exec.</summary>
    public static bool IsCloseOnExec(int fd)
    {
        var flags = fcntl(fd, FGetFd, 0);
        if (flags < 0) throw new IOException($"fcntl failed: errno {Marshal.GetLastPInvokeError()}");
        return (flags & FdCloexec) != 0;
    }

    /// <summary>
    /// How many of this process's fds refer to the memfd named <paramref name="name"/>: counted by
    /// what they refer to, so fds other tests open meanwhile do not disturb the count.
    /// </summary>
    public static int OpenFdsTo(string name)
    {
        var count = 0;
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try { target = new FileInfo(entry).LinkTarget; }
            catch (IOException) { continue; } // closed since it was listed
            if (target is not null && target.StartsWith($"/memfd:{name} ", StringComparison.Ordinal)) count++;
        }
        return count;
    }

    /// <summary>What <paramref name="fd"/> refers to in this process (for a socket, <c>socket:[inode]</c>).</summary>
    public static string Target(int fd) => new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "";
}
