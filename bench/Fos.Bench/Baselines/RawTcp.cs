using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fos.Bench.Baselines;

/// <summary>
/// Baseline <c>raw-tcp</c>: what the host's TCP on loopback does with no fos, no TLS and no
/// framing beyond the bytes: a request and its response of the same size, one at a time, between
/// two threads with blocking sockets (the floor for a remote call); and a stream of 64-byte frames
/// written through a 64 KiB buffer and counted on the other side (the floor for one-way messages).
/// </summary>
internal static class RawTcp
{
    public const string Id = "raw-tcp";

    /// <summary>Time for <paramref name="count"/> round trips of <paramref name="size"/>-byte messages.</summary>
    public static Task<TimeSpan> PingPong(long count, int size) => Task.Run(() =>
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = new Thread(() =>
        {
            using var peer = listener.AcceptSocket();
            peer.NoDelay = true;
            var buffer = new byte[size];
            for (var i = 0L; i < count; i++)
            {
                Receive(peer, buffer);
                peer.Send(buffer);
            }
        }) { IsBackground = true };
        server.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        var message = new byte[size];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0L; i < count; i++)
        {
            client.Send(message);
            Receive(client, message);
        }
        var elapsed = Stopwatch.GetElapsedTime(start);
        server.Join();
        return elapsed;
    });

    /// <summary>Time for <paramref name="count"/> 64-byte frames to be written and all of them read.</summary>
    public static Task<TimeSpan> Stream(long count) => Task.Run(() =>
    {
        const int frame = 64;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var total = count * frame;
        var reader = new Thread(() =>
        {
            using var peer = listener.AcceptSocket();
            var buffer = new byte[64 << 10];
            for (var read = 0L; read < total;)
            {
                var got = peer.Receive(buffer);
                if (got == 0) break;
                read += got;
            }
        }) { IsBackground = true };
        reader.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        var start = Stopwatch.GetTimestamp();
        using (var stream = new BufferedStream(new NetworkStream(client), 64 << 10))
        {
            var one = new byte[frame];
            for (var i = 0L; i < count; i++) stream.Write(one);
            stream.Flush();
        }
        reader.Join();
        return Stopwatch.GetElapsedTime(start);
    });

    private static void Receive(Socket socket, byte[] buffer)
    {
        for (var got = 0; got < buffer.Length;)
        {
            var read = socket.Receive(buffer, got, buffer.Length - got, SocketFlags.None);
            if (read == 0) throw new IOException("the other side closed the connection");
            got += read;
        }
    }
}
