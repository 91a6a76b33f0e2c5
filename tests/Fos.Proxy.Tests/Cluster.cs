using Fos.Kernel;
using Fos.Proxy;
using Fos.Services;
using Fos.Simulation;

namespace Fos.Proxy.Tests;

/// <summary>
/// A simulated cluster for the proxy's tests: machines of two cores each, a proxy on every
/// machine's first core, and on every machine's second core an echo server (answers what it is
/// sent) and a sink (keeps what it is sent, in arrival order).
/// </summary>
internal sealed class Cluster
{
    private Cluster(SimulatedSystem system, IReadOnlyDictionary<ushort, ProxyEndpoints> proxies)
    {
        System = system;
        Proxies = proxies;
    }

    public SimulatedSystem System { get; }

    public IReadOnlyDictionary<ushort, ProxyEndpoints> Proxies { get; }

    public Dictionary<ushort, Endpoint> Echo { get; } = [];

    public Dictionary<ushort, Endpoint> Sink { get; } = [];

    /// <summary>What each machine's sink received, in order.</summary>
    public Dictionary<ushort, List<(Address From, object? Body)>> Sunk { get; } = [];

    public static CoreId Core(ushort machine, ushort core) => new(machine, core);

    /// <param name="namingOnEveryMachine">A naming server on every machine, each a replica of the cluster's directory (else one, on m1).</param>
    public static async Task<Cluster> Boot(int machines = 2, ulong seed = 1, FaultPlan? faults = null, ProxyTimings? timings = null, bool namingOnEveryMachine = false)
    {
        var system = new SimulatedSystem(new SimOptions { Seed = seed, Machines = machines, CoresPerMachine = 2, NetworkFaults = faults ?? FaultPlan.None });
        if (namingOnEveryMachine) await SystemBoot.StartClusterNaming(system);
        else await SystemBoot.StartNaming(system);
        var proxies = await SystemBoot.StartProxies(system, timings: timings);
        var cluster = new Cluster(system, proxies);
        for (ushort m = 1; m <= machines; m++)
        {
            var received = cluster.Sunk[m] = [];
            var machine = m;
            cluster.Echo[m] = await system.Execute(Core(m, 1), k => Task.FromResult(k.CreateMailbox(message => ValueTask.FromResult(message.Body))));
            cluster.Sink[m] = await system.Execute(Core(m, 1), k => Task.FromResult(k.CreateMailbox(message =>
            {
                received.Add((message.From, message.Body));
                return ValueTask.FromResult<object?>(null);
            })));
        }
        system.RunFor(TimeSpan.FromMilliseconds(50)); // the links come up
        return cluster;
    }

    public Task<T> On<T>(CoreId core, Func<CoreKernel, Task<T>> work, TimeSpan? deadline = null) =>
        System.Execute(core, work, deadline ?? TimeSpan.FromSeconds(60));
}
