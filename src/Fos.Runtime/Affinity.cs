using System.Runtime.InteropServices;

namespace Fos.Runtime;

/// <summary>Linux CPU affinity (sched_setaffinity/sched_getaffinity) for the calling thread.</summary>
public static partial class Affinity
{
    private const int MaskWords = 16; // 1024 CPUs

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nint size, ulong[] mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_getaffinity(int pid, nint size, ulong[] mask);

    /// <summary>The CPUs this process may run on, in order.</summary>
    public static IReadOnlyList<int> AllowedCpus()
    {
        if (!OperatingSystem.IsLinux()) return [.. Enumerable.Range(0, Environment.ProcessorCount)];
        var mask = new ulong[MaskWords];
        if (sched_getaffinity(0, MaskWords * sizeof(ulong), mask) != 0)
            return [.. Enumerable.Range(0, Environment.ProcessorCount)];
        var cpus = new List<int>();
        for (var cpu = 0; cpu < MaskWords * 64; cpu++)
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0) cpus.Add(cpu);
        return cpus;
    }

    /// <summary>Pins the calling thread to one CPU; false if the host refused.</summary>
    public static bool PinCurrentThread(int cpu)
    {
        if (!OperatingSystem.IsLinux()) return false;
        var mask = new ulong[MaskWords];
        mask[cpu / 64] = 1UL << (cpu % 64);
        return sched_setaffinity(0, MaskWords * sizeof(ulong), mask) == 0;
    }
}
