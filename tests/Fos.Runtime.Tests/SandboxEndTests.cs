using System.Diagnostics;
using Fos.Runtime.Processes;

namespace Fos.Runtime.Tests;

/// <summary>Ending a host ends what it started too, even a process that would outlive it.</summary>
public class SandboxEndTests
{
    [Fact]
    public async Task Ending_a_host_ends_every_process_below_it()
    {
        // A child that does not die with its parent, as bubblewrap's sandboxed child before it has
        // asked to: ended alone, the parent would leave it behind.
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", "sleep 300 & echo $!; wait" }) start.ArgumentList.Add(arg);
        using var host = Process.Start(start)!;
        var child = int.Parse((await host.StandardOutput.ReadLineAsync())!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Alive(child));

        Sandbox.End(host);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.WaitForExitAsync(deadline.Token);
        while (Alive(child)) await Task.Delay(10, deadline.Token);
        Sandbox.End(host); // a host that has ended already is no error
    }

    /// <summary>Whether <paramref name="pid"/> still runs (a zombie, ended but not yet reaped, does not).</summary>
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
