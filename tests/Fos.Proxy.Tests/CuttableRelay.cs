using System.Net;
using System.Net.Sockets;

namespace Fos.Proxy.Tests;

/// <summary>
/// A TCP relay on loopback between a machine and the address it dials: bytes pass both ways
/// untouched (TLS runs end to end through it), and <see cref="Cut"/> breaks every connection at
/// once, as a network failure would; later connections pass again.
/// </summary>
internal sealed class CuttableRelay : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint target;
    private readonly List<TcpClient> open = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;

    public CuttableRelay(IPEndPoint target)
    {
        this.target = target;
        listener.Start();
        accepting = Accept();
    }

    public IPEndPoint Address => (IPEndPoint)listener.LocalEndpoint;

    public int Cuts { get; private set; }

    private async Task Accept()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(target, stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }
            lock (open) open.AddRange([inbound, outbound]);
            _ = Pump(inbound, outbound);
            _ = Pump(outbound, inbound);
        }
    }

    private static async Task Pump(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream());
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        from.Dispose();
        to.Dispose();
    }

    /// <summary>Breaks every connection through the relay now.</summary>
    public void Cut()
    {
        lock (open)
        {
            foreach (var client in open) client.Dispose();
            open.Clear();
        }
        Cuts++;
    }

    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        listener.Stop();
        Cut();
        await accepting;
    }
}
