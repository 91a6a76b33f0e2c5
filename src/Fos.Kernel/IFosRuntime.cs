namespace Fos.Kernel;

/// <summary>
/// A running fos system seen from outside its cores: the real runtime (pinned threads) or the
/// simulator (virtual time). Tests, the boot sequence and the <c>fos</c> command drive either
/// through this, which is how one scenario runs on both.
/// </summary>
public interface IFosRuntime : IAsyncDisposable
{
    /// <summary>Every core of the system, in order.</summary>
    IReadOnlyList<CoreId> Cores { get; }

    /// <summary>Which runtime this is ("real" or "simulated"), for layouts and reports.</summary>
    string Kind { get; }

    /// <summary>
    /// Runs <paramref name="program"/> on a core's loop, as that core's code, and returns its result.
    /// <paramref name="deadline"/> is wall-clock time on real cores and virtual time in the simulator.
    /// </summary>
    Task<T> Execute<T>(CoreId core, Func<CoreKernel, Task<T>> program, TimeSpan? deadline = null);
}
