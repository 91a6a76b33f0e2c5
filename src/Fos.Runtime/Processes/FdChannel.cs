using System.Runtime.InteropServices;

namespace Fos.Runtime.Processes;

/// <summary>
/// One end of a Unix socket pair that passes file descriptors between the machine and one
/// application process (SCM_RIGHTS): how a memfd the machine made reaches a process already
/// running. A message is an 8-byte token (what the fd is for, agreed by the two sides) and exactly
/// one fd. One fd per message makes a message the unit of trust: it is taken whole or refused whole.
/// <para>
/// The peer is untrusted either way round. A message that is not exactly a token and one fd is
/// refused with an <see cref="InvalidDataException"/>, after every fd it carried is closed, so a
/// hostile peer can neither leak fds into this process nor stall it; the message is consumed and
/// the next receive reads the one after it. Use one end from one thread at a time.
/// </para>
/// </summary>
public sealed unsafe class FdChannel : IDisposable
{
    private const int TokenBytes = sizeof(long);

    // The received control buffer has room for a few fds and one other small header, so a message
    // carrying too much is refused for what it carried. Whatever does not fit, the kernel does not
    // install (it sets MSG_CTRUNC and drops those files), so nothing beyond the buffer reaches us.
    private static readonly int ReceiveControlBytes = Libc.CmsgSpace(sizeof(int) * 4) + Libc.CmsgSpace(32);

    // The most fds the kernel can install into that buffer: one header, the rest fds.
    private static readonly int MaxFdsInstalled = (ReceiveControlBytes - Libc.CmsgLen(0)) / sizeof(int);

    private FdChannel(int fd) => Fd = fd;

    /// <summary>
    /// A connected pair, both ends close-on-exec: the machine keeps the parent end and makes the
    /// child end inheritable only while it starts the one process that should hold it. SEQPACKET,
    /// not STREAM, so the kernel keeps message boundaries and each fd stays with its own token.
    /// </summary>
    public static (FdChannel Parent, FdChannel Child) CreatePair()
    {
        var fds = stackalloc int[2];
        if (Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_SEQPACKET | Libc.SOCK_CLOEXEC, 0, fds) != 0)
            throw Libc.Error("socketpair");
        return (new FdChannel(fds[0]), new FdChannel(fds[1]));
    }

    /// <summary>The end a child inherited (its number given on its command line); takes ownership of the fd.</summary>
    public static FdChannel FromFd(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        return new FdChannel(fd);
    }

    public int Fd { get; private set; }

    /// <summary>
    /// True once a receive found the peer gone: it closed its end and every message it sent before
    /// has been taken. Receives then report nothing.
    /// </summary>
    public bool PeerClosed { get; private set; }

    /// <summary>
    /// Whether a child started from now on inherits this end (clears or sets FD_CLOEXEC). Every
    /// child started while it is set inherits it, so set it only around the start of the one that should.
    /// </summary>
    public void SetInheritable(bool inheritable)
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        Libc.SetInheritable(Fd, inheritable);
    }

    /// <summary>
    /// Sends <paramref name="token"/> with a copy of <paramref name="fd"/>, which stays the caller's
    /// to close. Never blocks: a peer that does not read must not stall the sender, so a full queue
    /// is an <see cref="IOException"/> (EAGAIN), as is a peer that closed its end (EPIPE, not SIGPIPE).
    /// </summary>
    public void Send(long token, int fd)
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(fd);

        var controlBytes = Libc.CmsgSpace(sizeof(int));
        var control = stackalloc ulong[controlBytes / sizeof(ulong)]; // zeroed and size_t-aligned
        var header = (Libc.CmsgHdr*)control;
        header->Length = (nuint)Libc.CmsgLen(sizeof(int));
        header->Level = Libc.SOL_SOCKET;
        header->Type = Libc.SCM_RIGHTS;
        *(int*)((byte*)control + Libc.CmsgAlign(sizeof(Libc.CmsgHdr))) = fd;

        var data = new Libc.IoVec { Base = &token, Length = TokenBytes };
        var message = new Libc.MsgHdr { Iov = &data, IovLength = 1, Control = control, ControlLength = (nuint)controlBytes };
        while (true)
        {
            var sent = Libc.sendmsg(Fd, &message, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
            if (sent == TokenBytes) return;
            if (sent >= 0) throw new IOException($"sendmsg sent {sent} of the {TokenBytes} bytes of one message");
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR) continue;
            if (errno == Libc.EAGAIN)
                throw new IOException($"sendmsg failed: errno {errno}: the peer of fd channel {Fd} is not reading and its queue is full");
            throw Libc.Error("sendmsg", errno);
        }
    }

    /// <summary>
    /// Takes the next message if one is waiting, without blocking. False when none is waiting or
    /// the peer is gone (<see cref="PeerClosed"/> tells which). The fd received is the caller's,
    /// close-on-exec so no child started later inherits it by accident.
    /// </summary>
    /// <exception cref="InvalidDataException">The message was not one token and one fd; every fd it carried is closed.</exception>
    public bool TryReceive(out long token, out int fd)
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        token = 0;
        fd = -1;
        if (PeerClosed) return false;

        long data;
        var control = stackalloc ulong[ReceiveControlBytes / sizeof(ulong)];
        var vector = new Libc.IoVec { Base = &data, Length = TokenBytes };
        var message = new Libc.MsgHdr { Iov = &vector, IovLength = 1, Control = control, ControlLength = (nuint)ReceiveControlBytes };
        nint received;
        while ((received = Libc.recvmsg(Fd, &message, Libc.MSG_DONTWAIT | Libc.MSG_CMSG_CLOEXEC)) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EAGAIN) return false;
            if (errno != Libc.EINTR) throw Libc.Error("recvmsg", errno);
            message.ControlLength = (nuint)ReceiveControlBytes;
            message.Flags = 0;
        }

        var fds = stackalloc int[MaxFdsInstalled];
        var problem = ReadControl(&message, fds, out var fdCount);
        if (received == 0 && message.ControlLength == 0 && (message.Flags & Libc.MSG_TRUNC) == 0 && HungUp())
        {
            // A SEQPACKET socket reads 0 at the end, but so does an empty message, hence the check
            // that the peer hung up. An empty message from a peer that then hung up is taken for
            // the end too: harmless, the peer is gone either way.
            PeerClosed = true;
            return false;
        }

        problem ??= (message.Flags & Libc.MSG_TRUNC) != 0 ? $"its data was longer than {TokenBytes} bytes"
            : received != TokenBytes ? $"its data was {received} bytes, not {TokenBytes}"
            : fdCount == 0 ? "it carried no fd"
            : fdCount > 1 ? $"it carried {fdCount} fds, not one"
            : null;
        if (problem is not null)
        {
            for (var i = 0; i < fdCount; i++) Libc.close(fds[i]);
            throw new InvalidDataException($"fd channel {Fd} refused a message: {problem}; the {fdCount} fd(s) it brought were closed");
        }
        token = data;
        fd = fds[0];
        return true;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (negative: forever) for the next message.
    /// Null when none came in time or the peer is gone (<see cref="PeerClosed"/> tells which).
    /// </summary>
    /// <exception cref="InvalidDataException">The message was not one token and one fd; every fd it carried is closed.</exception>
    public (long Token, int Fd)? Receive(int timeoutMilliseconds)
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        var deadline = timeoutMilliseconds < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMilliseconds;
        while (true)
        {
            if (TryReceive(out var token, out var fd)) return (token, fd);
            if (PeerClosed) return null;

            var remaining = timeoutMilliseconds < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            var poll = new Libc.PollFd { Fd = Fd, Events = Libc.POLLIN | Libc.POLLRDHUP };
            var ready = Libc.poll(&poll, 1, remaining);
            if (ready < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR) throw Libc.Error("poll(fd channel)", errno);
            }
            else if (ready == 0)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Collects every fd the kernel installed into <paramref name="fds"/> (it can install no more
    /// than fit the buffer, so they fit here too) and says what, if anything, is wrong with the
    /// ancillary data. Only SCM_RIGHTS installs fds on this socket: the other kinds that do
    /// (SCM_PIDFD) come only to a socket that asked for them, which this one never does.
    /// </summary>
    private static string? ReadControl(Libc.MsgHdr* message, int* fds, out int fdCount)
    {
        fdCount = 0;
        string? problem = (message->Flags & Libc.MSG_CTRUNC) != 0 ? "its ancillary data was truncated" : null;
        var length = (long)message->ControlLength;
        var headerBytes = Libc.CmsgAlign(sizeof(Libc.CmsgHdr));
        long offset = 0;
        while (offset + sizeof(Libc.CmsgHdr) <= length)
        {
            var header = (Libc.CmsgHdr*)((byte*)message->Control + offset);
            var size = (long)header->Length;
            if (size < headerBytes || size > length - offset)
            {
                problem ??= "its ancillary data was malformed";
                break;
            }
            if (header->Level == Libc.SOL_SOCKET && header->Type == Libc.SCM_RIGHTS)
            {
                var carried = (int)((size - headerBytes) / sizeof(int));
                var first = (int*)((byte*)header + headerBytes);
                for (var i = 0; i < carried && fdCount < MaxFdsInstalled; i++) fds[fdCount++] = first[i];
            }
            else
            {
                problem ??= $"it carried ancillary data of level {header->Level} type {header->Type}, not SCM_RIGHTS";
            }
            offset += Libc.CmsgAlign((int)size);
        }
        return problem;
    }

    /// <summary>Whether the peer closed or shut down its end (checked without waiting).</summary>
    private bool HungUp()
    {
        var poll = new Libc.PollFd { Fd = Fd, Events = Libc.POLLIN | Libc.POLLRDHUP };
        return Libc.poll(&poll, 1, 0) > 0 && (poll.Revents & (Libc.POLLHUP | Libc.POLLRDHUP)) != 0;
    }

    public void Dispose()
    {
        if (Fd < 0) return;
        Libc.close(Fd);
        Fd = -1;
    }
}
