using Fos.Runtime;
using Fos.Services;

namespace Fos.Bench;

/// <summary>What the scenarios share: the machine they run on, and turning chunk samples into reported figures.</summary>
internal static class Scenarios
{
    /// <summary>Far beyond any chunk: a fos chunk that takes this long has hung, and says so.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <paramref name="body"/> on a booted two-core machine (naming up) and stops it after.
    /// A core that hung cannot be stopped (stopping joins its thread), so on a timeout the machine
    /// is left behind (its threads are background threads) and the timeout is reported instead.
    /// </summary>
    public static async Task<T> OnMachine<T>(Action<string>? progress, Func<Machine, Task<T>> body, MachineOptions? options = null)
    {
        progress?.Invoke("booting a 2-core machine");
        var machine = Machine.Start(options ?? new MachineOptions { Cores = 2 });
        var hung = false;
        try
        {
            await SystemBoot.StartNaming(machine);
            var result = await body(machine);
            if (machine.Faults.Count > 0)
                throw new InvalidOperationException($"fos cores faulted during the benchmark: {string.Join("; ", machine.Faults)}");
            return result;
        }
        catch (TimeoutException ex)
        {
            hung = true;
            throw new TimeoutException($"a fos core did not finish a benchmark chunk within {Deadline.TotalSeconds:0} s; it is stuck", ex);
        }
        finally
        {
            if (!hung) await machine.DisposeAsync();
        }
    }

    /// <summary>Median nanoseconds per operation.</summary>
    public static double Nanoseconds(double[] secondsPerOp) => Interleaved.Median(secondsPerOp.Select(s => s * 1e9));

    /// <summary>Median operations per second.</summary>
    public static double PerSecond(double[] secondsPerOp) => Interleaved.Median(secondsPerOp.Select(s => 1 / s));
}
