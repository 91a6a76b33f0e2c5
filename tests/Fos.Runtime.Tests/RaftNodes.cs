using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Fos.Kernel.Naming;
using Fos.Runtime.Network;

namespace Fos.Runtime.Tests;

/// <summary>
/// Directory nodes in the test process, on loopback with free ports and state directories of
/// their own, forwarding to each other directly (no machines, no proxies): each with a replica
/// open on a "core" of its own (a serial loop), which records what it is told in order. Nodes
/// stop and start again on the same port and state.
/// </summary>
internal sealed class RaftNodes : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly string root = Path.Combine(Path.GetTempPath(), $"fos-raft-{Guid.NewGuid():N}");
    private readonly Dictionary<ushort, Node> nodes = [];

    public RaftNodes(ClusterIdentity? founder = null)
    {
        Founder = founder ?? ClusterIdentity.CreateCluster(1);
    }

    /// <summary>The identity of machine 1, whose authority issues the others'.</summary>
    public ClusterIdentity Founder { get; }

    public ConcurrentQueue<string> Log { get; } = new();

    public string Said => string.Join("\n", Log);

    public Node this[ushort machine] => nodes[machine];

    public IEnumerable<Node> Running => nodes.Values.Where(n => n.Directory is not null);

    /// <summary>One machine's node, its replica and what the replica was told.</summary>
    public sealed class Node(RaftNodes nodes, ClusterIdentity identity, IPEndPoint endpoint, string state)
    {
        private readonly List<DirectoryChange> applied = [];
        private SerialCore? core;

        public ClusterIdentity Identity { get; } = identity;

        public ushort Machine => Identity.Machine;

        public IPEndPoint Endpoint { get; } = endpoint;

        public string State { get; } = state;

        public RaftDirectory? Directory { get; private set; }

        public RaftDirectory Raft => Directory ?? throw new InvalidOperationException($"m{Machine} is stopped");

        public IDirectory? Replica { get; private set; }

        /// <summary>What the replica has been told since it last opened, in order.</summary>
        public IReadOnlyList<DirectoryChange> Applied
        {
            get { lock (applied) return [.. applied]; }
        }

        /// <summary>Changes to the options every start of this node makes.</summary>
        public Func<RaftDirectoryOptions, RaftDirectoryOptions>? Tune { get; set; }

        /// <summary>Starts the node; one that joins is told the voters: every running node of its cluster unless <paramref name="voters"/> says.</summary>
        public async Task Start(bool bootstrap, IPEndPoint[]? voters = null)
        {
            var options = new RaftDirectoryOptions
            {
                Identity = Identity,
                Endpoint = Endpoint,
                StateDirectory = State,
                Bootstrap = bootstrap,
                Voters = voters ?? [.. nodes.Running.Where(n => n != this && n.Identity.Authority.Thumbprint == Identity.Authority.Thumbprint).Select(n => n.Endpoint)],
                Log = line => nodes.Log.Enqueue($"m{Machine}: {line}"),
            };
            options = Tune?.Invoke(options) ?? options;
            Directory = await RaftDirectory.Start(options);
            Directory.Forwarder = nodes.Forward;
        }

        /// <summary>Opens the replica on a core of its own; what it is told is recorded from now on.</summary>
        public void Open()
        {
            lock (applied) applied.Clear();
            core = new SerialCore();
            Replica = Raft.Open(new Recorder(applied), core.Post);
        }

        public async Task Stop()
        {
            if (Directory is { } directory) await directory.DisposeAsync();
            Directory = null;
            Replica = null;
            core?.Dispose();
            core = null;
        }
    }

    private sealed class Recorder(List<DirectoryChange> applied) : IDirectoryEvents
    {
        public void Applied(DirectoryChange change)
        {
            lock (applied) applied.Add(change);
        }
    }

    /// <summary>What a core's loop is to a replica: one thing at a time, in the order posted.</summary>
    private sealed class SerialCore : IDisposable
    {
        private readonly Channel<Action> work = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });

        public SerialCore() => _ = Task.Run(Run);

        public void Post(Action action) => work.Writer.TryWrite(action);

        private async Task Run()
        {
            await foreach (var action in work.Reader.ReadAllAsync()) action();
        }

        public void Dispose() => work.Writer.TryComplete();
    }

    /// <summary>Directly to the leader's node: what the fos messages between machines carry in a real cluster.</summary>
    private Task<long> Forward(ushort leader, Fos.Protocols.Naming.IDirectoryRequest request, CancellationToken cancel) =>
        nodes.TryGetValue(leader, out var node) && node.Directory is { } directory
            ? directory.HandleForwarded(request, cancel)
            : throw new Kernel.FosException(Kernel.FosError.MachineDown, $"m{leader} is stopped");

    /// <summary>A node for <paramref name="machine"/>, not started: <paramref name="identity"/>, else a certificate from the founder's authority.</summary>
    public Node Add(ushort machine, ClusterIdentity? identity = null)
    {
        identity ??= machine == Founder.Machine ? Founder : ClusterIdentity.Of(Founder.Authority, Founder.IssueFor(machine));
        var node = new Node(this, identity, new IPEndPoint(IPAddress.Loopback, FreePort()), Path.Combine(root, $"m{machine}"));
        nodes[machine] = node;
        return node;
    }

    /// <summary>The founder (machine 1) bootstrapped and <paramref name="count"/> - 1 more added; every replica open unless <paramref name="open"/> is false.</summary>
    public async Task<RaftNodes> Boot(int count, Func<RaftDirectoryOptions, RaftDirectoryOptions>? tune = null, bool open = true)
    {
        var founder = Add(1);
        founder.Tune = tune;
        await founder.Start(bootstrap: true);
        if (open) founder.Open();
        for (ushort m = 2; m <= count; m++)
        {
            var node = Add(m);
            node.Tune = tune;
            await node.Start(bootstrap: false);
            if (open) node.Open();
            try
            {
                await founder.Raft.AddMachine(m, node.Endpoint);
                await node.Raft.WaitReady(Deadline);
            }
            catch (Kernel.FosException ex)
            {
                throw new InvalidOperationException($"m{m} did not join: {ex.Message}; the nodes said:\n{Said}", ex);
            }
        }
        return this;
    }

    private static int FreePort() => Fos.Tests.Shared.RestartablePorts.Free();

    /// <summary>Waits (with a deadline) until <paramref name="condition"/> holds.</summary>
    public async Task Until(Func<bool> condition, Func<string> explain)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Deadline) throw new TimeoutException($"{explain()}; the nodes said:\n{Said}");
            await Task.Delay(5);
        }
    }

    /// <summary>The node that leads now, once one does.</summary>
    public async Task<Node> Leader()
    {
        Node? leader = null;
        await Until(() => (leader = Running.FirstOrDefault(n => n.Raft.IsLeader)) is not null, () => "no node leads");
        return leader!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in nodes.Values) await node.Stop();
        foreach (var node in nodes.Values)
            if (node.Identity != Founder) node.Identity.Dispose();
        Founder.Dispose();
        try
        {
            System.IO.Directory.Delete(root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
