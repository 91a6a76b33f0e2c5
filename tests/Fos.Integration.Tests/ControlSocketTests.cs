using System.Net.Sockets;
using System.Text;
using Fos.Cli.Node;

namespace Fos.Integration.Tests;

/// <summary>
/// A node's control socket: where it lives, who may use it, what hostile clients cannot do to the
/// node, and what <c>fos stop</c> promises. Each test keeps its sockets in a runtime directory of
/// its own.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix sockets, modes and users
public sealed class ControlSocketTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = FosCommand.Deadline;
    private readonly string runtime = Path.Combine(Path.GetTempPath(), "fos-run-" + Guid.NewGuid().ToString("N")[..8]);
    private string data = Path.Combine(Path.GetTempPath(), "fos-ctl-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<FosCommand> nodes = [];

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(runtime);
        return Task.CompletedTask;
    }

    private FosCommand.Setup Setup => new() { Environment = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime } };

    private async Task<FosCommand> Boot()
    {
        var node = FosCommand.Start(Setup, "boot", "--headless", "--cores", "2", "--data", data);
        nodes.Add(node);
        await node.WaitForLine("fos is up", Deadline);
        return node;
    }

    private Task<(int ExitCode, IReadOnlyList<string> Stdout, string Stderr)> Shell(string commands, FosCommand.Setup? setup = null) =>
        FosCommand.Run(setup ?? Setup, "shell", "--data", data, "-c", commands);

    [Fact]
    public async Task The_socket_lives_in_a_private_runtime_directory_named_by_the_data_directory()
    {
        data = Path.Combine(Path.GetTempPath(), "fos-deep-" + new string('d', 120)); // too long for a socket in it
        await Boot();
        var socket = Path.Combine(runtime, "fos", NodeSocket.Id(data) + ".sock");
        Assert.Equal(socket, (await File.ReadAllTextAsync(NodeSocket.RecordPath(data))).Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(socket)!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));

        // A client without the runtime directory in its environment finds the node through the record.
        var (code, stdout, stderr) = await Shell("mkdir /deep; ls /", new FosCommand.Setup { Environment = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = null } });
        Assert.True(code == 0, stderr);
        Assert.Contains("deep/", stdout);

        Assert.Equal(0, (await FosCommand.Run(Setup, "stop", "--data", data)).ExitCode);
        Assert.False(File.Exists(socket));
        Assert.False(File.Exists(NodeSocket.RecordPath(data)));
    }

    [Fact]
    public async Task Hostile_clients_cannot_hang_or_exhaust_the_node()
    {
        var node = await Boot();
        using var silent = await RawClient.Connect(data); // connects, is greeted, and never says a word
        Assert.Equal(NodeProtocol.Greeting, await silent.ReadLine());

        // 10 MB without a newline: the node reads one request's worth, says why, and hangs up.
        using (var flood = await RawClient.Connect(data))
        {
            Assert.Equal(NodeProtocol.Greeting, await flood.ReadLine());
            var sending = flood.SendIgnoringHangUp(new byte[10 << 20].Select(_ => (byte)'a').ToArray());
            var answer = await flood.ReadToEnd();
            Assert.Equal([$"! request line longer than {NodeProtocol.MaxRequestBytes} bytes: connection closed"], answer);
            await sending;
        }

        // Garbage: bytes that are not UTF-8, no tab, a relative directory; each gets an answer and the connection goes on.
        using (var garbage = await RawClient.Connect(data))
        {
            Assert.Equal(NodeProtocol.Greeting, await garbage.ReadLine());
            await garbage.Send([0xff, 0xfe, 0x00, (byte)'\t', 0xc3, 0x28, (byte)'\n']);
            await garbage.Send(Encoding.UTF8.GetBytes("no tab here\nrelative\tls /\n\0\0\0\n/\tls /\n"));
            for (var i = 0; i < 4; i++)
            {
                Assert.StartsWith("e bad request", await garbage.ReadLine());
                Assert.Equal("x 2", await garbage.ReadLine());
            }
            Assert.Equal("x 0", (await garbage.ReadAnswer())[^1]); // the good request at the end
            // Input for no program (late, or made up, with bad base64 too) is dropped unanswered.
            await garbage.Send(Encoding.UTF8.GetBytes("i aGk=\ni !!!\nk\nc\n/\tls /\n"));
            Assert.Equal("x 0", (await garbage.ReadAnswer())[^1]);
            await garbage.Close();
        }

        // Gone mid-command, or mid-line.
        using (var quitter = await RawClient.Connect(data))
            await quitter.Send(Encoding.UTF8.GetBytes("/\tmkdir /nobody-listens\n"));
        using (var halfway = await RawClient.Connect(data))
            await halfway.Send(Encoding.UTF8.GetBytes("/\tls"));

        // Many at once: past the limit each is refused with the reason; the silent one still holds its slot.
        var crowd = new List<RawClient>();
        for (var i = 0; i < NodeHost.MaxConnections + 8; i++) crowd.Add(await RawClient.Connect(data));
        var firstLines = await Task.WhenAll(crowd.Select(c => c.ReadLine()));
        Assert.True(firstLines.Count(l => l == NodeProtocol.Greeting) < NodeHost.MaxConnections, string.Join('\n', firstLines));
        Assert.Contains($"! refused: the fos node already serves its maximum of {NodeHost.MaxConnections} connections; close one and try again", firstLines);
        foreach (var client in crowd)
        {
            await client.Close();
            client.Dispose();
        }

        // A well-behaved shell is served as before, and fos stop works with the silent client still connected.
        var (code, stdout, stderr) = await Shell("mkdir /served; ls /");
        Assert.True(code == 0, stderr);
        Assert.Contains("served/", stdout);
        Assert.Equal(0, (await FosCommand.Run(Setup, "stop", "--data", data)).ExitCode);
        Assert.Equal(0, await node.WaitForExit(Deadline));
        Assert.Equal("", node.Stderr);
    }

    [Fact]
    public async Task A_command_longer_than_a_request_may_be_is_refused_in_one_line()
    {
        await Boot();
        var (code, _, stderr) = await Shell("mkdir /" + new string('n', NodeProtocol.MaxRequestBytes));
        Assert.Equal(1, code);
        FosCommand.AssertOneClearLine(stderr, "shell", $"the command is too long: a request may have at most {NodeProtocol.MaxRequestBytes} bytes");
        Assert.Equal(0, (await Shell("ls /")).ExitCode);
    }

    [Fact]
    public async Task Fos_stop_returns_once_the_node_has_stopped_and_its_data_directory_is_free()
    {
        var old = await Boot();
        var (code, stdout, stderr) = await FosCommand.Run(Setup, "stop", "--data", data);
        Assert.True(code == 0, stderr);
        Assert.Equal(["stopping fos", "fos stopped"], stdout);

        // The lock is free at once: a new node boots on the same directory while the old process may still be exiting.
        var next = await Boot();
        Assert.Equal(0, await old.WaitForExit(Deadline));
        Assert.Contains(old.Stdout, l => l.Contains("fos stopped", StringComparison.Ordinal));
        Assert.Equal(0, (await Shell("ls /")).ExitCode);
        Assert.Equal(0, (await FosCommand.Run(Setup, "stop", "--data", data)).ExitCode);
        Assert.Equal(0, await next.WaitForExit(Deadline));
    }

    [Fact]
    public async Task Another_user_is_refused_with_one_line()
    {
        if (!FosCommand.CanRunAsAnotherUser) return; // needs root, to be another user and to open the way to the socket
        await Boot();
        // Open the way so that only the node's own check stands between nobody and the node.
        var socket = (await File.ReadAllTextAsync(NodeSocket.RecordPath(data))).Trim();
        var everyone = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(runtime, File.GetUnixFileMode(runtime) | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(Path.GetDirectoryName(socket)!, File.GetUnixFileMode(Path.GetDirectoryName(socket)!) | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(socket, File.GetUnixFileMode(socket) | everyone);

        var (code, _, stderr) = await Shell("ls /", new FosCommand.Setup { AsUser = FosCommand.Nobody });
        Assert.Equal(1, code);
        FosCommand.AssertOneClearLine(stderr, "shell", $"refused: the fos node runs as uid 0 and accepts only that user and root, not uid {FosCommand.Nobody}");
        Assert.Equal(0, (await Shell("ls /")).ExitCode); // the node's own user still is served
    }

    [Fact]
    public void The_runtime_directory_is_xdg_when_usable_else_one_by_user()
    {
        Assert.Equal(Path.Combine(runtime, "fos"), NodeSocket.RuntimeDirectory(data, runtime, 1000));
        Assert.Equal("/tmp/fos-1000", NodeSocket.RuntimeDirectory(data, null, 1000));
        Assert.Equal("/run/fos", NodeSocket.RuntimeDirectory(data, "", 0));
        Assert.Equal("/tmp/fos-1000", NodeSocket.RuntimeDirectory(data, "relative/dir", 1000));
        Assert.Equal("/tmp/fos-1000", NodeSocket.RuntimeDirectory(data, Path.Combine(runtime, "absent"), 1000));
        var deep = Path.Combine(runtime, new string('r', 100));
        Directory.CreateDirectory(deep);
        Assert.Equal("/run/fos", NodeSocket.RuntimeDirectory(data, deep, 0)); // no room for a socket's name there
        Assert.NotEqual(NodeSocket.Id(data), NodeSocket.Id(data + "2"));
        Assert.Equal(NodeSocket.Id(data), NodeSocket.Id(data + "/./"));
    }

    [Fact]
    public void Only_the_nodes_user_and_root_may_connect()
    {
        Assert.True(NodeSocket.MayConnect(1000, 1000));
        Assert.True(NodeSocket.MayConnect(0, 1000));
        Assert.False(NodeSocket.MayConnect(1001, 1000));
        Assert.False(NodeSocket.MayConnect(1000, 0));
    }

    [Fact]
    public async Task The_peer_of_a_socket_is_seen_as_this_user()
    {
        var path = Path.Combine(runtime, "peer.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        using var accepted = await listener.AcceptAsync();
        Assert.Equal(NodeSocket.EffectiveUid(), NodeSocket.PeerUid(accepted));
    }

    public async Task DisposeAsync()
    {
        foreach (var node in nodes) await node.DisposeAsync();
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        if (Directory.Exists(runtime)) Directory.Delete(runtime, recursive: true);
    }

    /// <summary>A client that speaks raw bytes to a node's socket, as no fos command would.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly Socket socket;
        private readonly NetworkStream stream;
        private readonly StreamReader reader;

        private RawClient(Socket socket)
        {
            this.socket = socket;
            stream = new NetworkStream(socket, ownsSocket: false);
            reader = new StreamReader(stream, Encoding.UTF8);
        }

        public static async Task<RawClient> Connect(string data)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(NodeSocket.Find(data))).WaitAsync(Deadline);
            return new RawClient(socket);
        }

        public Task Send(byte[] bytes) => stream.WriteAsync(bytes).AsTask().WaitAsync(Deadline);

        /// <summary>Sends what the node may refuse halfway: its hanging up is expected.</summary>
        public async Task SendIgnoringHangUp(byte[] bytes)
        {
            try
            {
                await Send(bytes);
            }
            catch (IOException)
            {
                // The node closed the connection mid-send.
            }
        }

        public Task<string?> ReadLine() => reader.ReadLineAsync().WaitAsync(Deadline);

        /// <summary>The lines of one answer, up to its status line.</summary>
        public async Task<List<string>> ReadAnswer()
        {
            var lines = new List<string>();
            while (await ReadLine() is { } line)
            {
                lines.Add(line);
                if (line.StartsWith("x ", StringComparison.Ordinal)) break;
            }
            return lines;
        }

        /// <summary>Every line until the node hangs up (a reset, when it left our bytes unread, counts as hanging up).</summary>
        public async Task<List<string>> ReadToEnd()
        {
            var lines = new List<string>();
            try
            {
                while (await ReadLine() is { } line) lines.Add(line);
            }
            catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                // Whatever the node said before it hung up was read first.
            }
            return lines;
        }

        /// <summary>Says it is done and waits until the node has hung up too (and so freed its slot).</summary>
        public async Task Close()
        {
            try
            {
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // The node hung up first.
            }
            await ReadToEnd();
        }

        public void Dispose()
        {
            reader.Dispose();
            stream.Dispose();
            socket.Dispose();
        }
    }
}
