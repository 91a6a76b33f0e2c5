using System.Net.Sockets;
using System.Text;

namespace Fos.Cli.Node;

/// <summary>
/// The line protocol on a node's socket. A request is one line: the client's working directory, a
/// tab, and a command line. The answer is lines of output, then lines of error ("e TEXT"), then
/// one "x STATUS". Output comes as it is made, in "d BASE64" lines that carry its bytes exactly
/// (at most <see cref="FrameBytes"/> a line), or as "o TEXT" lines of text that each end with a
/// newline. Lines are UTF-8; a tab or newline never appears inside one.
/// </summary>
internal static class NodeProtocol
{
    public static string SocketPath(string dataDirectory) => Path.Combine(dataDirectory, "fos.sock");

    /// <summary>Where a node keeps its data unless told: $FOS_DATA, else ~/.local/share/fos.</summary>
    public static string DefaultDataDirectory =>
        Environment.GetEnvironmentVariable("FOS_DATA") is { Length: > 0 } env ? env
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "fos");

    public static bool TryParseRequest(string line, out string cwd, out string command)
    {
        var tab = line.IndexOf('\t', StringComparison.Ordinal);
        cwd = tab > 0 ? line[..tab] : "";
        command = tab > 0 ? line[(tab + 1)..] : "";
        return tab > 0 && Path.IsPathRooted(cwd);
    }

    /// <summary>The most output bytes one "d" line carries (a multiple of 3, so its base64 has no padding inside).</summary>
    public const int FrameBytes = 48 << 10;

    public static async Task WriteResult(StreamWriter writer, string output, string error, int status)
    {
        foreach (var line in Lines(output)) await writer.WriteLineAsync("o " + line);
        await WriteEnd(writer, error, status);
    }

    /// <summary>The end of an answer whose output went before it: the errors, then the status.</summary>
    public static async Task WriteEnd(StreamWriter writer, string error, int status)
    {
        foreach (var line in Lines(error)) await writer.WriteLineAsync("e " + line);
        await writer.WriteLineAsync($"x {status}");
        await writer.FlushAsync();
    }

    /// <summary>The node's side of an answer's output: what is written here goes to the client in "d" lines as it comes.</summary>
    public sealed class OutputFrames(StreamWriter writer) : Stream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            for (var at = 0; at < buffer.Length; at += FrameBytes)
            {
                var frame = buffer[at..Math.Min(buffer.Length, at + FrameBytes)];
                await writer.WriteLineAsync(("d " + Convert.ToBase64String(frame.Span)).AsMemory(), cancellationToken);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => writer.FlushAsync(cancellationToken);

        public override void Flush() => writer.Flush();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static IEnumerable<string> Lines(string text)
    {
        if (text.Length == 0) yield break;
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var count = lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++) yield return lines[i];
    }

    /// <summary>A shell's side of the socket.</summary>
    public sealed class Client : IDisposable
    {
        private readonly Socket socket;
        private readonly StreamReader reader;
        private readonly StreamWriter writer;

        private Client(Socket socket)
        {
            this.socket = socket;
            var stream = new NetworkStream(socket, ownsSocket: true);
            reader = new StreamReader(stream, Encoding.UTF8);
            writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
        }

        /// <summary>Connects to the node of <paramref name="dataDirectory"/>, or says plainly that none runs there.</summary>
        public static async Task<Client> Connect(string dataDirectory)
        {
            var path = SocketPath(dataDirectory);
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
                return new Client(socket);
            }
            catch (SocketException)
            {
                socket.Dispose();
                throw new IOException($"no fos node is running with data directory {dataDirectory}: start one with `fos boot --data {dataDirectory}`");
            }
        }

        /// <summary>Runs one command line on the node; its output bytes and its errors go out as they are read.</summary>
        public async Task<int> Run(string command, Stream output, TextWriter error)
        {
            if (command.Contains('\n', StringComparison.Ordinal)) throw new ArgumentException("one command per line", nameof(command));
            await writer.WriteLineAsync($"{Environment.CurrentDirectory}\t{command}");
            await writer.FlushAsync();
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("d ", StringComparison.Ordinal)) await output.WriteAsync(Convert.FromBase64String(line[2..]));
                else if (line.StartsWith("o ", StringComparison.Ordinal)) await output.WriteAsync(Encoding.UTF8.GetBytes(line[2..] + "\n"));
                else if (line.StartsWith("e ", StringComparison.Ordinal))
                {
                    await output.FlushAsync();
                    await error.WriteLineAsync(line[2..]);
                }
                else if (line.StartsWith("x ", StringComparison.Ordinal) && int.TryParse(line[2..], out var status))
                {
                    await output.FlushAsync();
                    return status;
                }
            }
            throw new IOException("the fos node closed the connection before answering (it may have stopped)");
        }

        public void Dispose()
        {
            reader.Dispose();
            writer.Dispose();
            socket.Dispose();
        }
    }
}
