using System.Net;
using System.Net.Sockets;

namespace Fos.Integration.Tests;

/// <summary>`fos status` as the cluster tests read it: one machine's line, waited for; and addresses for machines to listen on.</summary>
internal static class ClusterStatus
{
    /// <summary>A loopback address whose port and the next (the machine's directory's) are free, and stay usable across restarts.</summary>
    public static string FreeAddress() => $"127.0.0.1:{Fos.Tests.Shared.RestartablePorts.Free(2)}";

    /// <summary>Polls `fos status` until the line for <paramref name="machine"/> shows <paramref name="state"/>; returns how long that took.</summary>
    public static async Task<TimeSpan> Until(string data, string machine, string state)
    {
        var started = DateTime.UtcNow;
        IReadOnlyList<string> last = [];
        while (DateTime.UtcNow - started < FosCommand.Deadline)
        {
            var (_, stdout, _) = await FosCommand.Run("status", "--data", data);
            last = stdout;
            if (stdout.Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var m, _, var s, ..] && m == machine && s == state))
                return DateTime.UtcNow - started;
            await Task.Delay(100); // a poll of a node's status, not a wait for this process's own work
        }
        throw new TimeoutException($"{machine} never showed {state}; fos status said:\n{string.Join('\n', last)}");
    }
}
