using System.Diagnostics;
using Xunit.Abstractions;

namespace Fos.Integration.Tests;

/// <summary>
/// Two machines as two hosts: each fos node in a network namespace of its own, joined by a veth
/// pair, so that cutting the link (<c>ip link set down</c>) is a real network failure, not a
/// process ending. Each sees the other down, and up again once the link is back. Needs root and
/// <c>ip netns</c>; where they are missing the test says why and does nothing.
/// </summary>
public sealed class NetworkNamespaceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string tag = Guid.NewGuid().ToString("N")[..6];
    private readonly string first = Path.Combine(Path.GetTempPath(), "fos-ns1-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string second = Path.Combine(Path.GetTempPath(), "fos-ns2-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<FosCommand> nodes = [];
    private bool made;

    private string Ns1 => $"fos{tag}a";
    private string Ns2 => $"fos{tag}b";
    private string Veth1 => $"fv{tag}a";
    private string Veth2 => $"fv{tag}b";

    public Task InitializeAsync() => Task.CompletedTask;

    private static async Task<(int Code, string Output)> Sh(string command)
    {
        var start = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var text = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, text.Trim());
    }

    /// <summary>Two namespaces, a veth pair between them (10.77.x.1 and .2), loopback up in each; false (said why) where the host cannot.</summary>
    private async Task<bool> MakeHosts()
    {
        var (code, said) = await Sh(string.Join(" && ",
            $"ip netns add {Ns1}", $"ip netns add {Ns2}",
            $"ip link add {Veth1} type veth peer name {Veth2}",
            $"ip link set {Veth1} netns {Ns1}", $"ip link set {Veth2} netns {Ns2}",
            $"ip -n {Ns1} addr add 10.77.{Subnet}.1/24 dev {Veth1}", $"ip -n {Ns2} addr add 10.77.{Subnet}.2/24 dev {Veth2}",
            $"ip -n {Ns1} link set {Veth1} up", $"ip -n {Ns2} link set {Veth2} up",
            $"ip -n {Ns1} link set lo up", $"ip -n {Ns2} link set lo up"));
        made = true;
        if (code == 0) return true;
        output.WriteLine($"skipped: this host cannot make network namespaces ({said})");
        return false;
    }

    private int Subnet => Convert.ToInt32(tag[..2], 16);

    private async Task<FosCommand> Boot(string ns, params string[] args)
    {
        var node = FosCommand.Start(new FosCommand.Setup { Within = ["ip", "netns", "exec", ns] }, ["boot", "--headless", "--cores", "2", .. args]);
        nodes.Add(node);
        await node.WaitForLine("fos is up", FosCommand.Deadline);
        return node;
    }

    [Fact]
    public async Task A_cut_network_shows_each_machine_down_to_the_other_and_healing_brings_it_back()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip"))
        {
            output.WriteLine("skipped: network namespaces need root and ip (iproute2)");
            return;
        }
        if (!await MakeHosts()) return;
        var (a, b) = ($"10.77.{Subnet}.1:7100", $"10.77.{Subnet}.2:7100");
        await Boot(Ns1, "--data", first, "--listen", a);
        var (_, token, _) = await FosCommand.Run("cluster", "token", "--data", first);
        await Boot(Ns2, "--data", second, "--listen", b, "--join", a, "--token", token.Single());
        await ClusterStatus.Until(first, "m2", "up");
        await ClusterStatus.Until(second, "m1", "up");

        Assert.Equal(0, (await Sh($"ip -n {Ns1} link set {Veth1} down")).Code); // the cable is cut: no FIN, no RST, nothing
        var one = await ClusterStatus.Until(first, "m2", "down");
        var two = await ClusterStatus.Until(second, "m1", "down");
        output.WriteLine($"seen down after {one.TotalSeconds:0.#} s and {two.TotalSeconds:0.#} s");

        Assert.Equal(0, (await Sh($"ip -n {Ns1} link set {Veth1} up")).Code);
        await ClusterStatus.Until(first, "m2", "up");
        await ClusterStatus.Until(second, "m1", "up");
    }

    public async Task DisposeAsync()
    {
        foreach (var node in nodes) await node.DisposeAsync();
        if (made) await Sh($"ip netns del {Ns1}; ip netns del {Ns2}; ip link del {Veth1} 2>/dev/null; true");
        foreach (var data in new[] { first, second })
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
