using System.Net.Sockets;
using System.Text;
using Fos.Runtime;
using Fos.Services;

namespace Fos.Cli.Node;

/// <summary>
/// A running fos node: a machine with the whole system booted on it, and a local socket in its
/// data directory (<c>DATA/fos.sock</c>) through which <c>fos shell</c>, <c>fos run</c> and
/// <c>fos stop</c> reach it. Each connection sends command lines and gets each one's output and
/// status back (<see cref="NodeProtocol"/>).
/// </summary>
internal sealed class NodeHost : IAsyncDisposable
{
    private readonly Socket listener;
    private readonly TaskCompletionSource stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource closing = new();
    private readonly Task serving;

    private NodeHost(Machine machine, SystemLayout layout, string socketPath, Socket listener)
    {
        Machine = machine;
        Layout = layout;
        SocketPath = socketPath;
        this.listener = listener;
        Shell = new Shell(machine, layout);
        serving = Serve();
    }

    public Machine Machine { get; }
    public SystemLayout Layout { get; }
    public Shell Shell { get; }
    public string SocketPath { get; }

    /// <summary>Completes when someone asked the node to stop (fos stop, or a signal).</summary>
    public Task StopRequested => stopRequested.Task;

    public void RequestStop() => stopRequested.TrySetResult();

    /// <summary>Boots a machine on <paramref name="options"/> (whose data directory must be free) and opens the socket.</summary>
    public static async Task<NodeHost> Start(MachineOptions options, long fileSystemQuotaPerMember = long.MaxValue)
    {
        var data = options.DataDirectory ?? throw new ArgumentException("a node needs a data directory", nameof(options));
        var machine = Machine.Start(options); // takes the data directory's lock, or says who holds it
        try
        {
            var layout = await SystemBoot.StartSystem(machine, fileSystemQuotaPerMember);
            var socketPath = NodeProtocol.SocketPath(data);
            File.Delete(socketPath); // left by a node that was killed; we hold the lock, so it is not in use
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(16);
            return new NodeHost(machine, layout, socketPath, listener);
        }
        catch
        {
            await machine.DisposeAsync();
            throw;
        }
    }

    private async Task Serve()
    {
        while (!closing.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(closing.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Converse(client);
        }
    }

    private async Task Converse(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = false, NewLine = "\n" };
        try
        {
            while (await reader.ReadLineAsync(closing.Token) is { } line)
            {
                if (!NodeProtocol.TryParseRequest(line, out var cwd, out var command))
                {
                    await NodeProtocol.WriteResult(writer, "", "bad request: expected CWD<TAB>COMMAND\n", 2);
                    continue;
                }
                if (command.Trim() == "stop")
                {
                    await NodeProtocol.WriteResult(writer, "stopping fos\n", "", 0);
                    RequestStop();
                    return;
                }
                await using var output = new NodeProtocol.OutputFrames(writer);
                var error = new StringWriter();
                var status = await Shell.Run(command, cwd, output, error);
                await NodeProtocol.WriteEnd(writer, error.ToString(), status);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            // The shell went away, or the node is stopping.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await closing.CancelAsync();
        listener.Dispose();
        await serving;
        File.Delete(SocketPath);
        await Machine.DisposeAsync();
        closing.Dispose();
    }
}
