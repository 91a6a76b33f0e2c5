using System.Net.Sockets;
using System.Text;

namespace Fos.Cli.Node;

/// <summary>
/// The line protocol on a node's socket (<see cref="NodeSocket"/> says where it is). On connecting,
/// the node greets with "+ fos", or refuses with "! REASON" and closes. A request is one line of at
/// most <see cref="MaxRequestBytes"/> bytes: the client's working directory, a tab, and a command
/// line. The answer is output as it is made, in "d BASE64" lines that carry its bytes exactly (at
/// most <see cref="FrameBytes"/> a line) or "o TEXT" lines of text that each end with a newline,
/// then lines of error ("e TEXT"), then one "x STATUS"; "! REASON" instead ends the connection (a
/// request too long, say). Lines are UTF-8; a tab or newline never appears inside one. The answer
/// to "stop" comes once the node has stopped. While a command runs, the client may send its
/// program's standard input as "i BASE64" lines, its end as "c", and Ctrl+C as "k" (the program
/// is killed); a client that goes away mid-command takes its program with it.
/// </summary>
internal static class NodeProtocol
{
    /// <summary>The longest request line a node reads; a longer one ends the connection.</summary>
    public const int MaxRequestBytes = 64 * 1024;

    public const string Greeting = "+ fos";

    public static string Refusal(string reason) => "! " + reason;

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

    /// <summary>Whether a line is a running program's input, its end or Ctrl+C rather than a request.</summary>
    public static bool IsInput(string line) => line is "c" or "k" || line.StartsWith("i ", StringComparison.Ordinal);

    /// <summary>A line the client sent while its command runs: input, its end, or Ctrl+C (anything else is ignored).</summary>
    public static async Task ApplyInput(string line, ProgramInput input)
    {
        if (line == "c") input.Close();
        else if (line == "k") input.Interrupt();
        else if (line.StartsWith("i ", StringComparison.Ordinal))
        {
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(line[2..]);
            }
            catch (FormatException)
            {
                return; // not base64: not input from a fos client; dropped
            }
            await input.Write(bytes); // waits while the program is behind: the client's next lines wait in the socket
        }
    }

    /// <summary>An answer as the node sends it, in one piece.</summary>
    public static string Result(string output, string error, int status)
    {
        var answer = new StringBuilder();
        foreach (var line in Lines(output)) answer.Append("o ").Append(line).Append('\n');
        foreach (var line in Lines(error)) answer.Append("e ").Append(line).Append('\n');
        return answer.Append("x ").Append(status).Append('\n').ToString();
    }

    /// <summary>The most input bytes one "i" line carries: its base64 stays well inside a request line.</summary>
    public const int InputBytes = 32 << 10;

    /// <summary>The most output bytes one "d" line carries (a multiple of 3, so its base64 has no padding inside).</summary>
    public const int FrameBytes = 48 << 10;

    /// <summary>The node's side of an answer's output: what is written here goes to the client in "d" lines as it comes.</summary>
    public sealed class OutputFrames(Stream connection) : Stream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            for (var at = 0; at < buffer.Length; at += FrameBytes)
            {
                var frame = buffer[at..Math.Min(buffer.Length, at + FrameBytes)];
                await connection.WriteAsync(Encoding.ASCII.GetBytes("d " + Convert.ToBase64String(frame.Span) + "\n"), cancellationToken);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => connection.FlushAsync(cancellationToken);

        public override void Flush() => connection.Flush();

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

    /// <summary>What the node read from a connection: a request line, or why there is none.</summary>
    public enum Read
    {
        Line,
        End,
        TooLong,
        NotText,
    }

    /// <summary>
    /// The node's side: reads request lines of at most <see cref="MaxRequestBytes"/> bytes, holding
    /// no more than that per connection whatever the client sends.
    /// </summary>
    public sealed class RequestReader(Stream stream)
    {
        private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        private readonly byte[] buffer = new byte[MaxRequestBytes];
        private int start;
        private int end;

        public async Task<(Read Kind, string Line)> ReadLine(CancellationToken cancel)
        {
            var searched = start;
            while (true)
            {
                var newline = Array.IndexOf(buffer, (byte)'\n', searched, end - searched);
                if (newline >= 0)
                {
                    var line = buffer.AsSpan(start, newline - start);
                    start = newline + 1;
                    try
                    {
                        return (Read.Line, Strict.GetString(line));
                    }
                    catch (DecoderFallbackException)
                    {
                        return (Read.NotText, "");
                    }
                }
                if (end - start >= MaxRequestBytes) return (Read.TooLong, "");
                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
                searched = end;
                var read = await stream.ReadAsync(buffer.AsMemory(end), cancel);
                if (read == 0) return (Read.End, "");
                end += read;
            }
        }
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

        /// <summary>Connects to the node of <paramref name="dataDirectory"/>, or says plainly that none runs there or why it refused.</summary>
        public static async Task<Client> Connect(string dataDirectory)
        {
            var path = NodeSocket.Find(dataDirectory);
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TryAgain or SocketError.WouldBlock)
            {
                socket.Dispose();
                throw new IOException($"the fos node with data directory {dataDirectory} has more connections waiting than it takes; try again");
            }
            catch (Exception ex) when (ex is SocketException or ArgumentException)
            {
                socket.Dispose();
                throw new IOException($"no fos node is running with data directory {dataDirectory}: start one with `fos boot --data {dataDirectory}`");
            }
            var client = new Client(socket);
            try
            {
                var greeting = await client.reader.ReadLineAsync();
                if (greeting == Greeting) return client;
                throw new IOException(greeting is not null && greeting.StartsWith("! ", StringComparison.Ordinal)
                    ? greeting[2..]
                    : "the fos node closed the connection without greeting (it may be stopping)");
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Runs one command line on the node; its output bytes and its errors go out as they are read.
        /// With <paramref name="input"/>, what it holds is the program's standard input (sent as it is
        /// read, then its end); <paramref name="interrupt"/> (Ctrl+C) kills the program.
        /// </summary>
        public async Task<int> Run(string command, Stream output, TextWriter error, Stream? input = null, CancellationToken interrupt = default)
        {
            if (command.Contains('\n', StringComparison.Ordinal)) throw new ArgumentException("one command per line", nameof(command));
            var request = $"{Environment.CurrentDirectory}\t{command}";
            if (Encoding.UTF8.GetByteCount(request) >= MaxRequestBytes)
                throw new IOException($"the command is too long: a request may have at most {MaxRequestBytes} bytes");
            await writer.WriteLineAsync(request);
            await writer.FlushAsync();
            using var done = new CancellationTokenSource();
            var sending = input is null ? Task.CompletedTask : SendInput(input, done.Token);
            await using var killing = interrupt.Register(() => _ = Say("k"));
            try
            {
                return await Answer(output, error);
            }
            finally
            {
                // Not awaited: a read of a terminal does not stop for a cancellation, and the
                // program it was for has ended.
                await done.CancelAsync();
                _ = sending;
            }
        }

        private readonly SemaphoreSlim sayLock = new(1, 1);

        private async Task Say(string line)
        {
            await sayLock.WaitAsync();
            try
            {
                await writer.WriteLineAsync(line);
                await writer.FlushAsync();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // The node went away; the answer loop says so.
            }
            finally
            {
                sayLock.Release();
            }
        }

        private async Task SendInput(Stream input, CancellationToken done)
        {
            var buffer = new byte[InputBytes];
            try
            {
                int read;
                while ((read = await input.ReadAsync(buffer, done)) > 0)
                    await Say("i " + Convert.ToBase64String(buffer, 0, read));
                await Say("c");
            }
            catch (OperationCanceledException)
            {
                // The command ended before its input did.
            }
        }

        private async Task<int> Answer(Stream output, TextWriter error)
        {
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
                else if (line.StartsWith("! ", StringComparison.Ordinal)) throw new IOException(line[2..]);
            }
            throw new IOException("the fos node closed the connection before answering (it may have stopped)");
        }

        public void Dispose()
        {
            // An input line still being written finishes first (the sender is abandoned, not awaited).
            var idle = sayLock.Wait(TimeSpan.FromSeconds(1));
            reader.Dispose();
            if (idle) writer.Dispose();
            socket.Dispose();
        }
    }
}
