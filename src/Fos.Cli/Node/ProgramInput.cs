using System.Threading.Channels;

namespace Fos.Cli.Node;

/// <summary>
/// What the one who typed a command gives the program it runs: its standard input, as it comes,
/// and Ctrl+C, which kills that program and nothing else. A command run without one gets an empty
/// input, as <c>cmd &lt; /dev/null</c> would.
/// </summary>
internal sealed class ProgramInput
{
    private readonly Channel<byte[]?> input = Channel.CreateUnbounded<byte[]?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource interrupt = new();

    /// <summary>Bytes for the program's standard input.</summary>
    public void Write(byte[] bytes) => input.Writer.TryWrite(bytes);

    /// <summary>End of the program's standard input.</summary>
    public void Close() => input.Writer.TryWrite(null);

    /// <summary>Ctrl+C: the running program is killed.</summary>
    public void Interrupt() => interrupt.Cancel();

    public CancellationToken Interrupted => interrupt.Token;

    /// <summary>The next bytes, or null at the end of the input.</summary>
    public async Task<byte[]?> Read(CancellationToken cancel) => await input.Reader.ReadAsync(cancel);
}
