using Fos.Kernel;
using Fos.Runtime;
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

    /// <summary>A system of <paramref name="cores"/> cores with nothing running yet.</summary>
    protected IFosRuntime Create(string kind, int cores, ulong seed) => kind switch
    {
        "real" => Machine.Start(new MachineOptions { Cores = cores, DataDirectory = Data }),
        "simulated" => new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = cores }),
        _ => throw new ArgumentException($"unknown runtime {kind}", nameof(kind)),
    };

    public void Dispose()
    {
        if (Directory.Exists(Data)) Directory.Delete(Data, recursive: true);
        GC.SuppressFinalize(this);
    }
}
