using System.Net;
using System.Net.Sockets;

namespace Fos.Tests.Shared;

/// <summary>
/// Loopback ports for servers a test stops and starts again on the same port. They come from
/// below the host's ephemeral range (Linux hands out 32768–60999 for outgoing connections): a port
/// from that range, free when the test began, can become the local end of some connection while
/// its server is down, and the restart then finds it in use.
/// </summary>
internal static class RestartablePorts
{
    private const int First = 20_000;
    private const int Last = 32_000; // below the ephemeral range

    /// <summary>A free port whose next <paramref name="count"/> - 1 ports are free too.</summary>
    public static int Free(int count = 1)
    {
        while (true)
        {
            var port = Random.Shared.Next(First, Last - count);
            var probes = new List<TcpListener>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    var probe = new TcpListener(IPAddress.Loopback, port + i);
                    probes.Add(probe);
                    probe.Start();
                }
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
            finally
            {
                foreach (var probe in probes) probe.Stop();
            }
        }
    }
}
