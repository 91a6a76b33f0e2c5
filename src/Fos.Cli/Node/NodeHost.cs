using System.Net;
using System.Net.Sockets;
using System.Text;
using Fos.Kernel.Naming;
using Fos.Runtime;
using Fos.Runtime.Network;
using Fos.Services;

namespace Fos.Cli.Node;

/// <summary>
/// A running fos node: a machine with the whole system booted on it, and a control socket (see
/// <see cref="NodeSocket"/> for where) through which <c>fos shell</c>, <c>fos run</c> and
/// <c>fos stop</c> reach it. Each connection sends command lines and gets each one's output and
/// status back (<see cref="NodeProtocol"/>). Only the node's own user and root may connect, at most
/// <see cref="MaxConnections"/> at a time, and a connection holds at most one request line's worth
/// of the node's memory whatever its client sends.
/// </summary>
internal sealed class NodeHost : IAsyncDisposable
{
    /// <summary>The most connections a node serves at once; one more is refused with a reason.</summary>
    public const int MaxConnections = 32;

    /// <summary>Connections the kernel queues for the node to accept: more than it serves, so a burst is refused with a reason rather than by the kernel.</summary>
    private const int Backlog = 4 * MaxConnections;

    /// <summary>How long a stopped node waits for its connections to take their last answers before it drops them.</summary>
    private static readonly TimeSpan Farewell = TimeSpan.FromSeconds(5);

    private static readonly UTF8Encoding Utf8 = new(false);

    private readonly Socket listener;
    private readonly TaskCompletionSource stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string?> stopped = new(TaskCreationOptions.RunContinuationsAsynchronously); // null, or what went wrong
    private readonly CancellationTokenSource closing = new(); // no more requests: reads end
    private readonly CancellationTokenSource abandon = new(); // no more answers: writes end
    private readonly Dictionary<Socket, Task> connections = [];
    private readonly uint uid = NodeSocket.EffectiveUid();
    private readonly Task serving;
    private RaftDirectory? directory; // disposed after the machine, whose name server uses it
    private int active;

    private NodeHost(Machine machine, SystemLayout layout, string dataDirectory, string socketPath, Socket listener)
    {
        Machine = machine;
        Layout = layout;
        DataDirectory = dataDirectory;
        SocketPath = socketPath;
        this.listener = listener;
        Shell = new Shell(machine, layout);
        serving = Serve();
    }

    public Machine Machine { get; }
    public SystemLayout Layout { get; }
    public Shell Shell { get; }
    public string DataDirectory { get; }
    public string SocketPath { get; }

    /// <summary>Completes when someone asked the node to stop (fos stop, or a signal).</summary>
    public Task StopRequested => stopRequested.Task;

    public void RequestStop() => stopRequested.TrySetResult();

    /// <summary>
    /// Boots a machine on <paramref name="options"/> (whose data directory must be free) and opens the
    /// socket; with <paramref name="cluster"/>, as a machine of that cluster (see <see cref="BootCluster"/>).
    /// Every way this can fail is a <see cref="Kernel.FosException"/> or an <see cref="IOException"/>
    /// whose message is one line.
    /// </summary>
    public static async Task<NodeHost> Start(MachineOptions options, long fileSystemQuotaPerMember = long.MaxValue, ClusterPlan? cluster = null,
        Action<string>? say = null)
    {
        var data = options.DataDirectory ?? throw new ArgumentException("a node needs a data directory", nameof(options));
        say ??= _ => { };
        var directory = cluster is null ? null : await StartDirectory(data, cluster, options.Log);
        // A machine admitted from now on (the links take joins as soon as the machine listens) becomes a voter of the directory.
        if (directory is not null && cluster?.Authority is { } authority)
            authority.Admitted += member => _ = AddToDirectory(directory, member, options.Log ?? say);
        Machine machine;
        try
        {
            machine = Machine.Start(options with { Directory = directory }); // takes the data directory's lock, or says who holds it
        }
        catch
        {
            if (directory is not null) await directory.DisposeAsync();
            throw;
        }
        string? socketPath = null;
        Socket? listener = null;
        try
        {
            // The socket before the system: a place that cannot hold one fails the boot at once.
            socketPath = NodeSocket.Prepare(data);
            listener = NodeSocket.Listen(socketPath, Backlog);
            await File.WriteAllTextAsync(NodeSocket.RecordPath(data), socketPath + "\n");
            var layout = cluster is null || directory is null
                ? await SystemBoot.StartSystem(machine, fileSystemQuotaPerMember)
                : await BootCluster(machine, data, cluster, directory, fileSystemQuotaPerMember, say);
            return new NodeHost(machine, layout, data, socketPath, listener) { directory = directory };
        }
        catch
        {
            if (listener is not null)
            {
                listener.Dispose();
                NodeSocket.Remove(data, socketPath);
            }
            await machine.DisposeAsync();
            if (directory is not null) await directory.DisposeAsync();
            throw;
        }
    }

    /// <summary>How long a machine of a cluster waits at boot for the cluster's directory (a majority of its machines) before it gives up.</summary>
    private static readonly TimeSpan DirectoryWait = TimeSpan.FromMinutes(2);

    /// <summary>This machine's node of the cluster's directory, kept in DATA/directory, listening on the port after the links'.</summary>
    private static async Task<RaftDirectory> StartDirectory(string data, ClusterPlan cluster, Action<string>? log)
    {
        var links = cluster.Listen ?? throw new ArgumentException("a machine of a cluster needs --listen HOST:PORT (its directory listens on PORT+1)");
        var voters = new List<IPEndPoint>();
        foreach (var member in cluster.Members.Where(m => m.Machine != cluster.Identity.Machine && m.Address.Length > 0))
            voters.Add(ClusterPlan.DirectoryEndpoint(await ClusterSetup.Endpoint(member.Address)));
        return await RaftDirectory.Start(new RaftDirectoryOptions
        {
            Identity = cluster.Identity,
            Endpoint = ClusterPlan.DirectoryEndpoint(links),
            StateDirectory = Path.Combine(data, "directory"),
            Bootstrap = cluster.Founding,
            Voters = voters,
            Log = log,
        });
    }

    /// <summary>
    /// The system on a machine of a cluster: its proxy reaching every machine it knows, its node of
    /// the directory ready (a majority of the cluster's machines up), then the services — the whole
    /// system on the machine that makes the cluster; on a machine that joins, members of the
    /// cluster's fleets; on a machine that restarts, its file-system members back in their places.
    /// </summary>
    private static async Task<SystemLayout> BootCluster(Machine machine, string data, ClusterPlan cluster, RaftDirectory directory, long quota,
        Action<string> say)
    {
        var self = cluster.Identity.Machine;
        await DirectoryMessages.Attach(machine, directory);
        var proxy = await SystemBoot.StartProxy(machine, self);
        await SystemBoot.ConnectProxy(machine, proxy,
            [.. cluster.Members.Where(m => m.Machine != self).Select(m => new Fos.Protocols.Proxy.ProxyPeer(m.Machine, m.Address))]);
        if (!cluster.Founding) say("waiting for the cluster's directory (a majority of its machines must be up)…");
        await directory.WaitReady(DirectoryWait);
        if (cluster.Authority is { } authority)
        {
            // Machines admitted before that are not voters yet (this machine stopped before it added them) are added now.
            var voters = directory.Voters.Select(v => v.ToString()).ToHashSet();
            foreach (var member in authority.Members.All.Where(m => m.Machine != self && m.Address.Length > 0))
                if (!IPEndPoint.TryParse(member.Address, out var links) || !voters.Contains(ClusterPlan.DirectoryEndpoint(links).ToString()))
                    _ = AddToDirectory(directory, member, machine.Options.Log ?? say); // adding a voter again does nothing
        }
        var stored = FileSystemMembers(data);
        var layout = cluster.Founding ? await SystemBoot.StartSystem(machine, quota)
            : stored.Count > 0 ? await SystemBoot.RejoinSystem(machine, self, stored, quota)
            : await SystemBoot.JoinSystem(machine, self);
        await machine.Execute(machine.Cores[0], k => k.Register(WellKnownNames.Proxy, proxy.Public));
        return layout;
    }

    /// <summary>The file-system members whose stores this data directory holds (DATA/stores/fs/member-N).</summary>
    private static List<int> FileSystemMembers(string data)
    {
        var root = Path.Combine(data, "stores", "fs");
        if (!System.IO.Directory.Exists(root)) return [];
        return [.. System.IO.Directory.GetDirectories(root, "member-*")
            .Select(d => int.TryParse(Path.GetFileName(d)["member-".Length..], out var n) ? n : -1)
            .Where(n => n >= 0).Order()];
    }

    /// <summary>A machine admitted here becomes a voter of the directory once its node is up: tried until it is, for a while.</summary>
    private static async Task AddToDirectory(RaftDirectory directory, ClusterMember member, Action<string> log)
    {
        var deadline = DateTime.UtcNow + DirectoryWait;
        while (true)
        {
            try
            {
                var links = await ClusterSetup.Endpoint(member.Address);
                await directory.AddMachine(member.Machine, ClusterPlan.DirectoryEndpoint(links));
                log($"m{member.Machine} at {member.Address} is a voter of the cluster's directory");
                return;
            }
            catch (Exception ex) when (ex is Kernel.FosException or ArgumentException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                if (DateTime.UtcNow > deadline || ex is ObjectDisposedException)
                {
                    log($"m{member.Machine} could not be made a voter of the cluster's directory: {ex.Message}");
                    return;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250)); // its node is still starting: a retry with a pause, not a wait for work of this process
            }
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
            lock (connections) connections[client] = Converse(client);
        }
    }

    private async Task Converse(Socket client)
    {
        await Task.Yield(); // off the accept loop
        var counted = Interlocked.Increment(ref active);
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: false);
            if (Refusal(client, counted) is { } refusal)
            {
                await Send(stream, NodeProtocol.Refusal(refusal) + "\n");
                return;
            }
            await Send(stream, NodeProtocol.Greeting + "\n");
            var reader = new NodeProtocol.RequestReader(stream);
            Task<(NodeProtocol.Read Kind, string Line)>? pending = null;
            while (true)
            {
                var (kind, line) = await (pending ?? reader.ReadLine(closing.Token));
                pending = null;
                if (kind == NodeProtocol.Read.End) return;
                if (kind == NodeProtocol.Read.TooLong)
                {
                    await Send(stream, NodeProtocol.Refusal($"request line longer than {NodeProtocol.MaxRequestBytes} bytes: connection closed") + "\n");
                    return;
                }
                if (kind == NodeProtocol.Read.Line && NodeProtocol.IsInput(line)) continue; // input that came after its program ended
                if (kind == NodeProtocol.Read.NotText || !NodeProtocol.TryParseRequest(line, out var cwd, out var command))
                {
                    await Send(stream, NodeProtocol.Result("", "bad request: expected CWD<TAB>COMMAND in UTF-8\n", 2));
                    continue;
                }
                if (command.Trim() == "stop")
                {
                    // The answer comes once the machine has stopped and the data directory is free.
                    await Send(stream, "o stopping fos\n");
                    RequestStop();
                    var trouble = await stopped.Task;
                    await Send(stream, trouble is null ? NodeProtocol.Result("fos stopped\n", "", 0) : NodeProtocol.Result("", trouble + "\n", 1));
                    return;
                }
                var error = new StringWriter();
                int status;
                var input = new ProgramInput();
                await using (var output = new NodeProtocol.OutputFrames(stream))
                {
                    var running = Shell.Run(command, cwd, output, error, input);
                    // While it runs, the client's lines are its program's input and its Ctrl+C.
                    while (!running.IsCompleted)
                    {
                        pending ??= reader.ReadLine(closing.Token);
                        if (await Task.WhenAny(running, pending) == running) break;
                        var (inputKind, inputLine) = await pending;
                        pending = null;
                        if (inputKind != NodeProtocol.Read.Line)
                        {
                            input.Interrupt(); // the client is gone: its program goes with it, as on a hang-up
                            pending = Task.FromResult((inputKind, inputLine));
                            break;
                        }
                        await Task.WhenAny(NodeProtocol.ApplyInput(inputLine, input), running); // held back while the program is behind, never past its end
                    }
                    status = await running;
                }
                await Send(stream, NodeProtocol.Result("", error.ToString(), status));
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The client went away (perhaps mid-command), or the node is stopping.
        }
        catch (Exception ex)
        {
            // Not foreseen, and no reason to take the node down: one line, and the other connections go on.
            await Console.Error.WriteLineAsync($"fos: a connection failed: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            // The slot is free before the client can see the connection end.
            Interlocked.Decrement(ref active);
            lock (connections) connections.Remove(client);
            client.Dispose();
        }
    }

    /// <summary>Why this connection is refused, or null to serve it.</summary>
    private string? Refusal(Socket client, int counted)
    {
        if (NodeSocket.PeerUid(client) is { } peer && !NodeSocket.MayConnect(peer, uid))
            return $"refused: the fos node runs as uid {uid} and accepts only that user and root, not uid {peer}";
        if (counted > MaxConnections)
            return $"refused: the fos node already serves its maximum of {MaxConnections} connections; close one and try again";
        return null;
    }

    private Task Send(NetworkStream stream, string text) => stream.WriteAsync(Utf8.GetBytes(text), abandon.Token).AsTask();

    /// <summary>
    /// Stops the node: no new connections or requests, the socket removed, the machine stopped (its
    /// stores closed and the data directory unlocked), then the waiting <c>stop</c> requests answered.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await closing.CancelAsync();
        listener.Dispose();
        await serving;
        NodeSocket.Remove(DataDirectory, SocketPath);
        string? trouble = null;
        try
        {
            if (directory is not null) await Leave();
            try
            {
                await Machine.DisposeAsync();
            }
            finally
            {
                if (directory is not null) await directory.DisposeAsync();
            }
            if (Machine.LeftStoresOpen) trouble = "a core did not stop in time: its stores stay open and the data directory locked until the node's process exits";
        }
        catch (Exception ex)
        {
            trouble = $"the machine did not stop cleanly: {ex.Message}";
            throw;
        }
        finally
        {
            stopped.TrySetResult(trouble);
            await Farewells();
            closing.Dispose();
            abandon.Dispose();
        }
    }

    /// <summary>A machine of a cluster that stops leaves cleanly: its names are withdrawn everywhere first, so nobody is sent to its servers.</summary>
    private async Task Leave()
    {
        var self = Machine.Cores[0];
        try
        {
            await Machine.Execute(self, k => Kernel.KernelExtensions.Call<Kernel.Ack>(k, WellKnownNames.NameService, new NameWithdrawMachine(self.Machine), TimeSpan.FromSeconds(5)));
        }
        catch (Exception ex) when (ex is Kernel.FosException or TimeoutException)
        {
            // No majority to tell: the others withdraw its names when they see it down.
        }
    }

    /// <summary>Lets connections finish their last answers for a while, then drops whatever is left.</summary>
    private async Task Farewells()
    {
        Task[] left;
        lock (connections) left = [.. connections.Values];
        try
        {
            await Task.WhenAll(left).WaitAsync(Farewell);
        }
        catch (TimeoutException)
        {
            await abandon.CancelAsync();
            lock (connections)
                foreach (var client in connections.Keys) client.Dispose();
            await Task.WhenAll(left);
        }
    }
}
