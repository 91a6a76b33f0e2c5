using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

public class EventFdTests
{
    [Fact]
    public void A_wait_without_a_signal_times_out()
    {
        using var doorbell = EventFd.Create(inheritable: false);
        Assert.False(doorbell.Wait(0));
        var started = Environment.TickCount64;
        Assert.False(doorbell.Wait(30));
        Assert.True(Environment.TickCount64 - started >= 20);
    }

    [Fact]
    public void Signals_before_a_wait_coalesce_into_one_wake_up()
    {
        using var doorbell = EventFd.Create(inheritable: false);
        doorbell.Signal();
        doorbell.Signal();
        doorbell.Signal();
        Assert.True(doorbell.Wait(0));
        Assert.False(doorbell.Wait(0));
    }

    [Fact]
    public void A_signal_from_another_thread_wakes_a_parked_waiter()
    {
        using var doorbell = EventFd.Create(inheritable: false);
        using var parking = new ManualResetEventSlim();
        var woke = false;
        var waiter = new Thread(() =>
        {
            parking.Set();
            woke = doorbell.Wait(10_000);
        });
        waiter.Start();
        Assert.True(parking.Wait(10_000));
        doorbell.Signal();
        Assert.True(waiter.Join(10_000));
        Assert.True(woke);
    }

    [Fact]
    public void A_child_does_not_inherit_the_eventfd_unless_asked()
    {
        using var doorbell = EventFd.Create(inheritable: false);
        var (_, output, _) = Posix.Shell($"readlink /proc/self/fd/{doorbell.Fd}");
        Assert.DoesNotContain("eventfd", output);

        doorbell.SetInheritable(true);
        (_, output, _) = Posix.Shell($"readlink /proc/self/fd/{doorbell.Fd}");
        doorbell.SetInheritable(false);
        Assert.Contains("eventfd", output);
    }

    [Fact]
    public void An_eventfd_taken_over_by_fd_signals_the_same_counter()
    {
        using var doorbell = EventFd.Create(inheritable: false);
        using var other = EventFd.FromFd(Posix.Dup(doorbell.Fd));
        other.Signal();
        Assert.True(doorbell.Wait(0));
    }

    [Fact]
    public void A_disposed_eventfd_refuses_use()
    {
        var doorbell = EventFd.Create(inheritable: false);
        doorbell.Dispose();
        doorbell.Dispose();
        Assert.Throws<ObjectDisposedException>(doorbell.Signal);
        Assert.Throws<ObjectDisposedException>(() => doorbell.Wait(0));
    }
}
