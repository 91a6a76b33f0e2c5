using System.Net.Sockets;
using System.Text;

namespace Fos.Cli.Node;

/// <summary>
/// The line protocol on a node's socket. A request is one line: the client's working directory, a
/// tab, and a command line. The answer is lines of output ("o TEXT"), lines of error ("e TEXT"),
/// then one "x STATUS". Text is UTF-8; a tab or newline never appears inside a line.
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

    public static async Task WriteResult(StreamWriter writer, string output, string error, int status)
    {
        foreach (var line in Lines(output)) await writer.WriteLineAsync("o " + line);
        foreach (var line in Lines(error)) await writer.WriteLineAsync("e " + line);
        await writer.WriteLineAsync($"x {status}");
        await writer.FlushAsync();
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

        /// <summary>Runs one command line on the node; output and errors go to the writers as they are read.</summary>
        public async Task<int> Run(string command, TextWriter output, TextWriter error)
        {
            if (command.Contains('\n', StringComparison.Ordinal)) throw new ArgumentException("one command per line", nameof(command));
            await writer.WriteLineAsync($"{Environment.CurrentDirectory}\t{command}");
            await writer.FlushAsync();
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("o ", StringComparison.Ordinal)) await output.WriteLineAsync(line[2..]);
                else if (line.StartsWith("e ", StringComparison.Ordinal)) await error.WriteLineAsync(line[2..]);
                else if (line.StartsWith("x ", StringComparison.Ordinal) && int.TryParse(line[2..], out var status)) return status;
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
