using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

/// <summary>
/// A peer that sends what it should not: each message is refused, every fd it brought is closed
/// (none is left referring to the memfd it carried), and the channel goes on with the next message.
/// </summary>
public class FdChannelHostileTests
{
    public static TheoryData<string, int, int, string> Messages => new()
    {
        // name, data bytes, fds carried, what the refusal says
        { "no-fd", 8, 0, "carried no fd" },
        { "two-fds", 8, 2, "carried 2 fds, not one" },
        { "short-data", 4, 1, "data was 4 bytes, not 8" },
        { "long-data", 16, 1, "data was longer than 8 bytes" },
        { "empty-with-fd", 0, 1, "data was 0 bytes, not 8" },
        { "empty", 0, 0, "data was 0 bytes, not 8" },
        { "too-many-fds", 8, 40, "ancillary data was truncated" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void A_malformed_message_is_refused_and_leaks_no_fd(string name, int dataBytes, int fds, string refusal)
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        var memfd = $"fos-fdchannel-hostile-{name}";
        using var memory = SharedMemory.Create(memfd, 4096);
        Assert.Equal(1, RawMessages.OpenFdsTo(memfd));

        RawMessages.Send(child.Fd, new byte[dataBytes], Enumerable.Repeat(memory.Fd, fds).ToArray());
        child.Send(43, memory.Fd); // a good one after it

        var error = Assert.Throws<InvalidDataException>(() => parent.Receive(1_000));
        Assert.Contains(refusal, error.Message);
        Assert.Equal(1, RawMessages.OpenFdsTo(memfd));
        Assert.False(parent.PeerClosed);

        var next = parent.Receive(1_000);
        Assert.Equal(43, next?.Token);
        using var owner = SharedMemory.Map(next!.Value.Fd, 4096);
        Assert.Equal(2, RawMessages.OpenFdsTo(memfd));
    }

    [Fact]
    public void Ancillary_data_of_another_kind_is_refused_and_the_fd_beside_it_closed()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        const string memfd = "fos-fdchannel-hostile-credentials";
        using var memory = SharedMemory.Create(memfd, 4096);
        // The kernel then adds SCM_CREDENTIALS to each message: a second, unexpected header.
        RawMessages.PassCredentials(parent.Fd);

        child.Send(42, memory.Fd);

        var error = Assert.Throws<InvalidDataException>(() => parent.TryReceive(out _, out _));
        Assert.Contains("level 1 type 2, not SCM_RIGHTS", error.Message);
        Assert.Equal(1, RawMessages.OpenFdsTo(memfd));
    }

    [Fact]
    public void An_empty_message_is_not_taken_for_the_end()
    {
        var pair = FdChannel.CreatePair();
        using var parent = pair.Parent;
        using var child = pair.Child;
        RawMessages.Send(child.Fd, []);

        Assert.Throws<InvalidDataException>(() => parent.TryReceive(out _, out _));
        Assert.False(parent.PeerClosed);
        Assert.False(parent.TryReceive(out _, out _));
        Assert.False(parent.PeerClosed);
    }
}
