using Fos.Kernel;
using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

/// <summary>The memory an application process shares with its machine, opened from the process's side.</summary>
public sealed class ProcessChannelTests
{
    [Fact]
    public void A_channel_opens_on_the_other_side_with_what_the_machine_wrote()
    {
        var nameServer = new Endpoint(new Address(1, 0, 1), new Capability(7, 9));
        using var channel = ProcessChannel.Create(CoreId.Process(1, 4), 128, machineCores: 2, ringCapacity: 4096, nameServer);
        using var opened = ProcessChannel.Open(Posix.Dup(channel.Fd));
        Assert.Equal((CoreId.Process(1, 4), 128L, nameServer, 2), (opened.Core, opened.Pid, opened.NameServer, opened.Cores));
        opened.WriteEnd(3, "unhandled Boom");
        Assert.Equal((3, "unhandled Boom"), channel.ReadEnd());
    }

    [Fact]
    public void A_file_that_is_not_a_process_channel_is_refused()
    {
        using var memory = SharedMemory.Create("not a channel", 16 << 10);
        Assert.Throws<InvalidDataException>(() => ProcessChannel.Open(Posix.Dup(memory.Fd)));
        using var tiny = SharedMemory.Create("too small", 4096);
        Assert.Throws<InvalidDataException>(() => ProcessChannel.Open(Posix.Dup(tiny.Fd)));
    }
}
