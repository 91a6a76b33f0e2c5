using System.Threading.Channels;

namespace Fos.Cli.Node;

/// <summary>
/// What the one who typed a command gives the program it runs: its standard input, as it comes,
/// and Ctrl+C, which kills that program and nothing else. A command run without one gets an empty
/// input, as <c>cmd &lt; /dev/null</c> would.
/// </summary>
internal sealed class ProgramInput
{
    // Bounded: a client that sends faster than its program reads is held back (its lines wait in the socket).
    private readonly Channel<byte[]> input = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(16) { SingleReader = true });
    private readonly CancellationTokenSource interrupt = new();

    /// <summary>Bytes for the program's standard input; waits while the program is behind (dropped after the end).</summary>
    public async Task Write(byte[] bytes)
    {
        try
        {
            await input.Writer.WriteAsync(bytes);
        }
        catch (ChannelClosedException)
        {
            // After the end of the input, as a pipe whose writer closed it.
        }
    }

    /// <summary>End of the program's standard input.</summary>
    public void Close() => input.Writer.TryComplete();

    /// <summary>Ctrl+C: the running program is killed.</summary>
    public void Interrupt() => interrupt.Cancel();

    public CancellationToken Interrupted => interrupt.Token;

    /// <summary>The next bytes, or null at the end of the input.</summary>
    public async Task<byte[]?> Read(CancellationToken cancel)
    {
        while (await input.Reader.WaitToReadAsync(cancel))
            if (input.Reader.TryRead(out var bytes)) return bytes;
        return null;
    }
}
