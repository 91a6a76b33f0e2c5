using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Fos.Kernel;
using Fos.Kernel.Network;

namespace Fos.Runtime.Network;

/// <summary>
/// A real machine's links to other machines: TCP with mutual TLS 1.3, one connection per pair of
/// machines, made by the machine with the higher number (a newer machine reaches the older ones,
/// whose addresses it was given when it joined; they accept it on their authority's word),
/// remade with backoff (0.1 s doubling to 1 s: a machine that restarts is reached again within a
/// second) while the link is wanted. A connection counts only once both sides showed a certificate from this cluster's authority and the one dialled is the
/// machine it was dialled as; anything else is refused, said in the machine's log, and dropped.
/// A connection that shows no certificate is a machine asking to join (<see cref="JoinProtocol"/>).
/// Everything the proxy hears (links up and down, frames) is handed to it on its core.
/// </summary>
internal sealed class TcpLinks : ILinks, IAsyncDisposable
{
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The proxy's core writes to its links itself: a peer that takes nothing for this long loses its link rather than stall the core.</summary>
    private static readonly TimeSpan StalledPeer = TimeSpan.FromSeconds(2);

    private readonly ClusterIdentity identity;
    private readonly ClusterAuthority? authority;
    private readonly Action<Action> onProxyCore;
    private readonly ILinkEvents events;
    private readonly Action<string> log;
    private readonly Lock gate = new();
    private readonly Dictionary<ushort, Wanted> wanted = [];
    private readonly Dictionary<ushort, LinkConnection> connections = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly TcpListener? listener;
    private readonly Task accepting = Task.CompletedTask;

    private sealed class Wanted(string address)
    {
        public string Address { get; set; } = address;
        public CancellationTokenSource Stop { get; } = new();
    }

    public TcpLinks(ClusterIdentity identity, ClusterAuthority? authority, IPEndPoint? listen, Action<Action> onProxyCore, ILinkEvents events, Action<string> log)
    {
        this.identity = identity;
        this.authority = authority;
        this.onProxyCore = onProxyCore;
        this.events = events;
        this.log = log;
        if (listen is not null)
        {
            listener = new TcpListener(listen);
            listener.Start();
            accepting = Accept(listener);
        }
    }

    public ushort Machine => identity.Machine;

    public int MaxFrame => LinkConnection.MaxFrame;

    /// <summary>Where this machine accepts links (its port resolved, if it asked for any).</summary>
    public IPEndPoint? Listening => (IPEndPoint?)listener?.LocalEndpoint;

    public void Connect(ushort peer, string address)
    {
        Wanted want;
        lock (gate)
        {
            if (wanted.TryGetValue(peer, out var known))
            {
                known.Address = address;
                return;
            }
            wanted[peer] = want = new Wanted(address);
        }
        // On the pool, not the proxy's core: connecting, the TLS handshake and every await after
        // them would otherwise come back to the core (its loop is the synchronization context).
        if (identity.Machine > peer) _ = Task.Run(() => Dial(peer, want));
    }

    public void Forget(ushort peer)
    {
        LinkConnection? connection;
        lock (gate)
        {
            if (wanted.Remove(peer, out var want)) want.Stop.Cancel();
            connections.Remove(peer, out connection);
        }
        connection?.Close("the link was closed");
    }

    public bool Send(ushort peer, ReadOnlySpan<byte> frame)
    {
        LinkConnection? connection;
        lock (gate)
        {
            connections.TryGetValue(peer, out connection);
            if (connection is not null) unflushed.Add(connection);
        }
        return connection is not null && connection.Send(frame);
    }

    private readonly HashSet<LinkConnection> unflushed = [];

    public void Flush()
    {
        LinkConnection[] due;
        lock (gate)
        {
            if (unflushed.Count == 0) return;
            due = [.. unflushed];
            unflushed.Clear();
        }
        foreach (var connection in due) connection.Flush();
    }

    // ---- dialling ----------------------------------------------------------------------------

    private async Task Dial(ushort peer, Wanted want)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        string? lastProblem = null;
        while (!want.Stop.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            try
            {
                var (stream, socket) = await Handshake(peer, want.Address, want.Stop.Token);
                backoff = TimeSpan.FromMilliseconds(100);
                lastProblem = null;
                await Serve(peer, stream, socket, want);
            }
            catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException or OperationCanceledException or FosException or FormatException)
            {
                if (want.Stop.IsCancellationRequested || stopping.IsCancellationRequested) return;
                var problem = $"cannot reach m{peer} at {want.Address}: {ex.Message}";
                if (problem != lastProblem) log(problem); // said once, not on every retry
                lastProblem = problem;
            }
            try
            {
                await Task.Delay(backoff, want.Stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    private async Task<(SslStream Stream, Socket Socket)> Handshake(ushort peer, string address, CancellationToken cancel)
    {
        var (host, port) = Address(address);
        var client = new TcpClient { NoDelay = true, SendTimeout = (int)StalledPeer.TotalMilliseconds };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel, stopping.Token);
        deadline.CancelAfter(HandshakeTimeout);
        string? refused = null;
        try
        {
            await client.ConnectAsync(host, port, deadline.Token);
            var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = $"fos machine {peer}",
                ClientCertificates = [identity.Certificate],
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (!identity.TryValidate(certificate, out var machine, out var why)) refused = why;
                    else if (machine != peer) refused = $"the machine at {address} is m{machine}, not m{peer}";
                    return refused is null;
                },
            }, deadline.Token);
            return (tls, client.Client);
        }
        catch (AuthenticationException ex)
        {
            client.Dispose();
            throw new AuthenticationException(refused is not null ? $"refused it: {refused}"
                : $"TLS failed: {ex.Message}{(ex.InnerException is { } inner ? $" ({inner.Message})" : "")}", ex);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static (string Host, int Port) Address(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new FormatException($"'{address}' is not HOST:PORT");
        return (address[..colon].Trim('[', ']'), port);
    }

    // ---- accepting ---------------------------------------------------------------------------

    private async Task Accept(TcpListener server)
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await server.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Admit(client);
        }
    }

    private string? lastRefusal;

    /// <summary>Says why a connection was refused, once for each reason and host (a peer retries every few seconds).</summary>
    private void Refused(string line)
    {
        lock (gate)
        {
            if (line == lastRefusal) return;
            lastRefusal = line;
        }
        log(line);
    }

    /// <summary>A connection from another machine: it must prove it is one of this cluster's before anything else.</summary>
    private async Task Admit(TcpClient client)
    {
        client.NoDelay = true;
        client.SendTimeout = (int)StalledPeer.TotalMilliseconds;
        var remote = (client.Client.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "?";
        var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        ushort peer = 0;
        string? refused = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            deadline.CancelAfter(HandshakeTimeout);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = identity.Certificate,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null) return true; // a machine asking to join: it has no certificate yet
                    if (!identity.TryValidate(certificate, out peer, out var why)) refused = why;
                    return refused is null;
                },
            }, deadline.Token);
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException or SocketException)
        {
            Refused($"refused a link from {remote}: {refused ?? ex.Message}");
            await tls.DisposeAsync();
            return;
        }
        if (tls.RemoteCertificate is null)
        {
            await JoinProtocol.Admit(tls, authority, identity, remote, log, stopping.Token);
            await tls.DisposeAsync();
            return;
        }
        if (peer <= identity.Machine)
        {
            Refused($"refused a link from m{peer} at {remote}: {(peer == identity.Machine ? "it claims this machine's own number" : "the higher-numbered machine dials, not the other")}");
            await tls.DisposeAsync();
            return;
        }
        Wanted? want;
        lock (gate)
        {
            // A machine of this cluster this one was not told of (it joined since): its certificate is its word.
            if (!wanted.TryGetValue(peer, out want)) wanted[peer] = want = new Wanted("");
        }
        try
        {
            await Serve(peer, tls, client.Client, want);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
    }

    // ---- a live link -------------------------------------------------------------------------

    /// <summary>Runs a link until it breaks: the proxy hears it is up, its frames, and that it is down.</summary>
    private async Task Serve(ushort peer, Stream stream, Socket socket, Wanted want)
    {
        var connection = new LinkConnection(peer, stream, socket);
        LinkConnection? replaced;
        lock (gate)
        {
            if (want.Stop.IsCancellationRequested || stopping.IsCancellationRequested)
            {
                connection.Close("not wanted any more");
                return;
            }
            connections.Remove(peer, out replaced);
            connections[peer] = connection;
        }
        replaced?.Close("replaced by a newer link");
        onProxyCore(() => events.LinkUp(peer));
        await connection.Run(frames => onProxyCore(() =>
        {
            foreach (var frame in frames) events.Received(peer, frame);
        }));
        bool wasCurrent;
        lock (gate)
        {
            wasCurrent = connections.TryGetValue(peer, out var current) && current == connection;
            if (wasCurrent) connections.Remove(peer);
        }
        var why = connection.Ended ?? "closed";
        if (wasCurrent)
        {
            // A link replaced by a newer one is not news: the newer one is up.
            if (!stopping.IsCancellationRequested && !want.Stop.IsCancellationRequested) log($"link to m{peer} lost: {why}");
            onProxyCore(() => events.LinkDown(peer, why));
        }
        await connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        listener?.Stop();
        List<LinkConnection> open;
        lock (gate)
        {
            foreach (var want in wanted.Values) want.Stop.Cancel();
            open = [.. connections.Values];
            connections.Clear();
        }
        foreach (var connection in open) connection.Close("the machine stopped");
        await accepting;
    }
}
