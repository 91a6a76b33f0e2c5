using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

public class FdChannelTests
{
    private const int Size = 64 * 1024;

    [Fact]
    public void A_memfd_sent_arrives_mapped_with_the_senders_bytes()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        using var memory = SharedMemory.Create("fos-fdchannel-sent", Size);
        "written before sending"u8.CopyTo(memory.GetSpan(4096, 22));

        parent.Send(7, memory.Fd);
        var received = child.Receive(1_000);

        Assert.NotNull(received);
        Assert.Equal(7, received.Value.Token);
        Assert.NotEqual(memory.Fd, received.Value.Fd);
        Assert.True(RawMessages.IsCloseOnExec(received.Value.Fd));
        using var mapped = SharedMemory.Map(received.Value.Fd, Size);
        Assert.Equal("written before sending"u8.ToArray(), mapped.GetSpan(4096, 22).ToArray());
        mapped.GetSpan(0, 1)[0] = 9; // and the sender sees the receiver's writes: one memory
        Assert.Equal(9, memory.GetSpan(0, 1)[0]);
    }

    [Fact]
    public void Many_messages_arrive_in_order_each_with_its_own_fd()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        using var even = SharedMemory.Create("fos-fdchannel-even", 4096);
        using var odd = SharedMemory.Create("fos-fdchannel-odd", 4096);
        var next = 0L;
        for (var batch = 0; batch < 8; batch++)
        {
            for (var i = 0; i < 32; i++) child.Send(batch * 32 + i, (batch * 32 + i) % 2 == 0 ? even.Fd : odd.Fd);
            for (var i = 0; i < 32; i++)
            {
                Assert.True(parent.TryReceive(out var token, out var fd));
                Assert.Equal(next, token);
                Assert.EndsWith(next % 2 == 0 ? "even (deleted)" : "odd (deleted)", RawMessages.Target(fd));
                using var owner = FdChannel.FromFd(fd); // closes it
                next++;
            }
        }
        Assert.False(parent.TryReceive(out _, out _));
        Assert.False(parent.PeerClosed);
        Assert.Equal(1, RawMessages.OpenFdsTo("fos-fdchannel-even"));
    }

    [Fact]
    public void An_idle_channel_receives_nothing_within_the_timeout()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        Assert.False(child.TryReceive(out _, out var fd));
        Assert.Equal(-1, fd);
        Assert.Null(child.Receive(0));
        var started = Environment.TickCount64;
        Assert.Null(child.Receive(30));
        Assert.True(Environment.TickCount64 - started >= 20);
        Assert.False(child.PeerClosed);
    }

    [Fact]
    public void The_end_of_the_peer_is_reported_after_its_last_message()
    {
        var (parent, pair) = FdChannel.CreatePair();
        using var child = pair;
        using var memory = SharedMemory.Create("fos-fdchannel-end", 4096);
        parent.Send(1, memory.Fd);
        parent.Dispose();

        var last = child.Receive(1_000);
        Assert.NotNull(last);
        using var owner = FdChannel.FromFd(last.Value.Fd);
        Assert.False(child.PeerClosed);
        Assert.Null(child.Receive(1_000));
        Assert.True(child.PeerClosed); // the end, not a timeout
        Assert.False(child.TryReceive(out _, out _));
    }

    [Fact]
    public void A_receiver_parked_in_receive_wakes_for_a_message_from_another_thread()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        using var memory = SharedMemory.Create("fos-fdchannel-wake", 4096);
        using var parking = new ManualResetEventSlim();
        (long Token, int Fd)? received = null;
        var receiver = new Thread(() =>
        {
            parking.Set();
            received = child.Receive(10_000);
        });
        receiver.Start();
        Assert.True(parking.Wait(10_000));
        parent.Send(99, memory.Fd);
        Assert.True(receiver.Join(10_000));
        Assert.Equal(99, received?.Token);
        using var owner = FdChannel.FromFd(received!.Value.Fd);
    }

    [Fact]
    public void Sending_to_a_closed_peer_fails_with_the_call_named()
    {
        var (pair, child) = FdChannel.CreatePair();
        using var parent = pair;
        child.Dispose();
        using var memory = SharedMemory.Create("fos-fdchannel-closed", 4096);
        var error = Assert.Throws<IOException>(() => parent.Send(1, memory.Fd));
        Assert.StartsWith("sendmsg failed: errno", error.Message);
    }

    [Fact]
    public void A_peer_that_does_not_read_fails_the_sender_instead_of_blocking_it()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        using var memory = SharedMemory.Create("fos-fdchannel-full", 4096);
        var sent = 0;
        var error = Assert.Throws<IOException>(() =>
        {
            for (; sent < 100_000; sent++) parent.Send(sent, memory.Fd);
        });
        Assert.Contains("errno 11", error.Message);
        Assert.Contains("not reading", error.Message);

        for (var i = 0; i < sent; i++)
        {
            Assert.True(child.TryReceive(out var token, out var fd));
            Assert.Equal(i, token);
            using var owner = FdChannel.FromFd(fd);
        }
        parent.Send(-1, memory.Fd); // room again
        Assert.Equal(-1, child.Receive(0)?.Token);
    }

    [Fact]
    public void A_disposed_channel_refuses_use_and_disposes_twice_quietly()
    {
        var (parent, child) = FdChannel.CreatePair();
        parent.Dispose();
        child.Dispose();
        child.Dispose();
        Assert.Equal(-1, child.Fd);
        Assert.Throws<ObjectDisposedException>(() => child.Send(1, 0));
        Assert.Throws<ObjectDisposedException>(() => child.TryReceive(out _, out _));
        Assert.Throws<ObjectDisposedException>(() => child.Receive(0));
        Assert.Throws<ObjectDisposedException>(() => child.SetInheritable(true));
    }

    [Fact]
    public void Both_ends_are_close_on_exec_until_made_inheritable()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        Assert.True(RawMessages.IsCloseOnExec(parent.Fd));
        Assert.True(RawMessages.IsCloseOnExec(child.Fd));
        child.SetInheritable(true);
        Assert.False(RawMessages.IsCloseOnExec(child.Fd));
        Assert.True(RawMessages.IsCloseOnExec(parent.Fd));
        child.SetInheritable(false);
        Assert.True(RawMessages.IsCloseOnExec(child.Fd));
    }

    [Fact]
    public void A_child_process_inherits_the_child_end_only_when_asked()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        var socket = RawMessages.Target(child.Fd);
        Assert.StartsWith("socket:[", socket);

        var (_, output, _) = Posix.Shell($"readlink /proc/self/fd/{child.Fd}");
        Assert.DoesNotContain(socket, output);

        child.SetInheritable(true);
        (_, output, _) = Posix.Shell($"readlink /proc/self/fd/{child.Fd}");
        child.SetInheritable(false);
        Assert.Equal(socket, output.Trim());
    }

    [Fact]
    public void A_child_process_writing_to_its_inherited_end_is_heard_and_its_exit_is_the_end()
    {
        var (pair, child) = FdChannel.CreatePair();
        using var parent = pair;
        child.SetInheritable(true);
        // One write of eight bytes is one message with no fd: a real other process, misbehaving.
        // bash, since dash redirects only fds 0 to 9.
        var (exit, _, errors) = Posix.Shell($"exec bash -c 'printf 12345678 >&{child.Fd}'");
        child.Dispose(); // the child process held the only other copy, and it has exited
        Assert.True(exit == 0, errors);

        var error = Assert.Throws<InvalidDataException>(() => parent.Receive(1_000));
        Assert.Contains("carried no fd", error.Message);
        Assert.Null(parent.Receive(1_000));
        Assert.True(parent.PeerClosed);
    }
}
