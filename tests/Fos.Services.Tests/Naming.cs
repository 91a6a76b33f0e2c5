using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Services.Basic;
using Fos.Simulation;

namespace Fos.Services.Tests;

/// <summary>A simulated system with its naming server booted on m1.c0, and helpers to use it from any core.</summary>
internal sealed class Naming : IAsyncDisposable
{
    private Naming(SimulatedSystem system, Endpoint nameServer)
    {
        System = system;
        NameServer = nameServer;
    }

    public SimulatedSystem System { get; }

    public Endpoint NameServer { get; }

    public static async Task<Naming> Boot(int cores = 4, int machines = 1, ulong seed = 5, bool keepLog = false)
    {
        var system = new SimulatedSystem(new SimOptions { Seed = seed, Machines = machines, CoresPerMachine = cores, KeepLog = keepLog });
        var nameServer = await SystemBoot.StartNaming(system);
        return new Naming(system, nameServer);
    }

    public static CoreId Core(int core, int machine = 1) => new((ushort)machine, (ushort)core);

    public CoreKernel Kernel(CoreId core) => System.Kernel(core);

    public Task<T> On<T>(CoreId core, Func<CoreKernel, Task<T>> program) => System.Execute(core, program);

    /// <summary>Starts an echo server on <paramref name="core"/> (no message sent).</summary>
    public Task<Endpoint> Echo(CoreId core) => System.Execute(core, k => Task.FromResult(k.StartServer(EchoServer.Image)));

    public Task<NameRecord> Register(CoreId from, string name, Endpoint member) => On(from, k => k.Register(name, member));

    public Task<NameRecord> Unregister(CoreId from, string name, Endpoint member) => On(from, k => k.Unregister(name, member));

    public Task<NameRecord> LookupAll(CoreId from, string name) => On(from, k => k.LookupAll(name).AsTask());

    public Task<Endpoint> Lookup(CoreId from, string name) => On(from, k => k.Lookup(name).AsTask());

    /// <summary>Sends <paramref name="request"/> straight to the name server's mailbox, as a call.</summary>
    public Task<object?> Raw(CoreId from, object? request) => On(from, k => k.Call(NameServer, request).AsTask());

    /// <summary>Lets every message in flight land (notices to caching kernels included).</summary>
    public void Settle() => System.RunFor(TimeSpan.FromMilliseconds(1));

    public ValueTask DisposeAsync() => System.DisposeAsync();
}
