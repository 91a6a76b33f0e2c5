using Fos.Kernel;
using Fos.Runtime;
using Fos.Services;
using Fos.Simulation;

namespace Fos.Sys.Tests;

/// <summary>
/// What the library's tests share: the two runtimes by name, and a data directory of their own
/// for the real one, removed when the test ends. A test class derives from this and boots what
/// it needs on <see cref="Create"/>'s bare system.
/// </summary>
public abstract class TestSystems : IDisposable
{
    protected readonly string Data = Path.Combine(Path.GetTempPath(), "fos-sys-" + Guid.NewGuid().ToString("N"));

    public static TheoryData<string> Both => new() { "real", "simulated" };

    /// <summary>The two runtimes, and three simulated machines booted as one system (their proxies, a naming replica on each).</summary>
    public static TheoryData<string> AndCluster => new() { "real", "simulated", Cluster };

    public const string Cluster = "simulated-cluster";

    /// <summary>A system of <paramref name="cores"/> cores (a cluster: that many on each of three machines) with nothing running yet.</summary>
    protected IFosRuntime Create(string kind, int cores, ulong seed) => kind switch
    {
        "real" => Machine.Start(new MachineOptions { Cores = cores, DataDirectory = Data }),
        "simulated" => new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = cores }),
        Cluster => new SimulatedSystem(new SimOptions { Seed = seed, Machines = 3, CoresPerMachine = cores }),
        _ => throw new ArgumentException($"unknown runtime {kind}", nameof(kind)),
    };

    /// <summary>The whole system: on one machine, or over every machine of a cluster.</summary>
    protected static Task<SystemLayout> StartSystem(string kind, IFosRuntime system) =>
        kind == Cluster ? SystemBoot.StartCluster(system) : SystemBoot.StartSystem(system);

    /// <summary>Naming on every machine (and the proxies between them, in a cluster).</summary>
    protected static async Task StartNaming(string kind, IFosRuntime system)
    {
        if (kind != Cluster)
        {
            await SystemBoot.StartNaming(system);
            return;
        }
        await SystemBoot.StartClusterNaming(system);
        await SystemBoot.StartProxies(system);
    }

    public void Dispose()
    {
        if (Directory.Exists(Data)) Directory.Delete(Data, recursive: true);
        GC.SuppressFinalize(this);
    }
}
