namespace Fos.Integration.Tests;

/// <summary>`fos status` as the cluster tests read it: one machine's line, waited for.</summary>
internal static class ClusterStatus
{
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
