using System.Runtime.InteropServices;

namespace Fos.Runtime.Processes;

/// <summary>
/// A Linux eventfd: the doorbell a producer rings to wake a reader parked on a shared-memory ring
/// in another process. Non-blocking; the counter only says "look again", the ring holds the data.
/// </summary>
public sealed unsafe class EventFd : IDisposable
{
    private EventFd(int fd) => Fd = fd;

    /// <summary>A new eventfd; close-on-exec unless a child started by exec is to inherit it.</summary>
    public static EventFd Create(bool inheritable)
    {
        var fd = Libc.eventfd(0, Libc.EFD_NONBLOCK | (inheritable ? 0 : Libc.EFD_CLOEXEC));
        if (fd < 0) throw Libc.Error("eventfd");
        return new EventFd(fd);
    }

    /// <summary>An eventfd received from the parent (non-blocking, as made by <see cref="Create"/>); takes ownership of the fd.</summary>
    public static EventFd FromFd(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        return new EventFd(fd);
    }

    public int Fd { get; private set; }

    /// <summary>Whether a child started from now on inherits the fd (clears or sets FD_CLOEXEC).</summary>
    public void SetInheritable(bool inheritable)
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        Libc.SetInheritable(Fd, inheritable);
    }

    /// <summary>Wakes the waiter. A saturated counter (EAGAIN) already means "wake up", so it is not an error.</summary>
    public void Signal()
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        var one = 1UL;
        while (Libc.write(Fd, &one, sizeof(ulong)) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EAGAIN) return;
            if (errno != Libc.EINTR) throw Libc.Error("write(eventfd)", errno);
        }
    }

    /// <summary>
    /// Waits until signalled or <paramref name="timeoutMilliseconds"/> pass (negative: forever);
    /// true when signalled, with the counter reset so the next wait parks again.
    /// </summary>
    public bool Wait(int timeoutMilliseconds)
    {
        ObjectDisposedException.ThrowIf(Fd < 0, this);
        var deadline = timeoutMilliseconds < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMilliseconds;
        while (true)
        {
            // Read first: a signal already pending costs one call, not a poll and a read.
            ulong counter;
            if (Libc.read(Fd, &counter, sizeof(ulong)) == sizeof(ulong)) return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EAGAIN && errno != Libc.EINTR) throw Libc.Error("read(eventfd)", errno);

            var remaining = timeoutMilliseconds < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            var poll = new Libc.PollFd { Fd = Fd, Events = Libc.POLLIN };
            var ready = Libc.poll(&poll, 1, remaining);
            if (ready < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR) throw Libc.Error("poll(eventfd)", errno);
            }
            else if (ready == 0)
            {
                return false;
            }
            // Ready (or interrupted): loop to read; another reader may have drained it, then poll again.
        }
    }

    public void Dispose()
    {
        if (Fd < 0) return;
        Libc.close(Fd);
        Fd = -1;
    }
}
