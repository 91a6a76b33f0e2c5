using Fos.Kernel;
using Fos.Runtime;
using Fos.Services;
using Fos.Simulation;

namespace Fos.Scenarios.Tests;

/// <summary>The two runtimes every scenario runs on: real pinned cores and the simulator.</summary>
public static class Runtimes
{
    public static TheoryData<string> Both => new() { "real", "simulated" };

    /// <summary>A booted system of <paramref name="cores"/> cores with its naming server running.</summary>
    public static async Task<IFosRuntime> Boot(string kind, int cores = 4, ulong seed = 7, string? dataDirectory = null)
    {
        IFosRuntime runtime = kind switch
        {
            "real" => Machine.Start(new MachineOptions { Cores = cores, DataDirectory = dataDirectory }),
            "simulated" => new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = cores }),
            _ => throw new ArgumentException($"unknown runtime {kind}", nameof(kind)),
        };
        await SystemBoot.StartNaming(runtime);
        return runtime;
    }

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
}
