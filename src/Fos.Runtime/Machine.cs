using System.Diagnostics;
using Fos.Kernel;

namespace Fos.Runtime;

/// <summary>
/// A real fos machine: one host process whose fos cores are dedicated threads, linked pairwise by
/// single-producer/single-consumer rings. Boot it, then reach its cores through <see cref="Execute"/>.
/// </summary>
public sealed class Machine : IFosRuntime
{
    private readonly RealCore[] cores;
    private readonly SpscRing?[][] inbound; // inbound[to][from]
    private readonly IReadOnlyList<int> cpus;
    private readonly long bootTimestamp = Stopwatch.GetTimestamp();
    private readonly List<string> faults = [];
    private bool stopped;

    private Machine(MachineOptions options)
    {
        if (options.Cores is < 1 or > 4096)
            throw new ArgumentOutOfRangeException(nameof(options), options.Cores, "a machine has between 1 and 4096 fos cores");
        Options = options;
        CoreCount = options.Cores;
        cpus = Affinity.AllowedCpus();
        Oversubscribed = CoreCount > cpus.Count;
        PinsCores = options.Pin ?? !Oversubscribed;
        SpinBeforePark = options.SpinBeforePark ?? (Oversubscribed ? TimeSpan.Zero : TimeSpan.FromMicroseconds(50));
        inbound = new SpscRing?[CoreCount][];
        for (var to = 0; to < CoreCount; to++)
        {
            inbound[to] = new SpscRing?[CoreCount];
            for (var from = 0; from < CoreCount; from++)
                if (from != to) inbound[to][from] = new SpscRing(options.RingCapacity);
        }
        cores = new RealCore[CoreCount];
        for (var i = 0; i < CoreCount; i++) cores[i] = new RealCore(this, i);
        var directory = cores.ToDictionary(c => c.Core, c => c.Kernel.ControlEndpoint);
        foreach (var core in cores) core.Kernel.Directory = directory;
    }

    /// <summary>Starts every core of a machine and returns once they run.</summary>
    public static Machine Start(MachineOptions options)
    {
        var machine = new Machine(options);
        foreach (var core in machine.cores) core.Start();
        return machine;
    }

    public MachineOptions Options { get; }

    public int CoreCount { get; }

    /// <summary>More fos cores than host CPUs: cores share CPUs and park when idle.</summary>
    public bool Oversubscribed { get; }

    public bool PinsCores { get; }

    public TimeSpan SpinBeforePark { get; }

    public int HostCpus => cpus.Count;

    public string Kind => "real";

    public IReadOnlyList<CoreId> Cores => [.. cores.Select(c => c.Core)];

    /// <summary>The CPU each core is pinned to (null: floating).</summary>
    public IReadOnlyList<int?> PinnedCpus => [.. cores.Select(c => c.PinnedCpu)];

    /// <summary>How often each core has parked (idle past its spin budget).</summary>
    public IReadOnlyList<long> Parks => [.. cores.Select(c => Interlocked.Read(ref c.Parks))];

    /// <summary>Exceptions that escaped code on a core (the core survived each).</summary>
    public IReadOnlyList<string> Faults
    {
        get { lock (faults) return [.. faults]; }
    }

    internal long NowNanoseconds => (long)((Stopwatch.GetTimestamp() - bootTimestamp) * (1e9 / Stopwatch.Frequency));

    internal RealCore Core(int index) => cores[index];

    internal SpscRing Ring(int from, int to) => inbound[to][from]!;

    internal SpscRing?[] InboundRings(int to) => inbound[to];

    internal int? Pin(int index)
    {
        if (!PinsCores) return null;
        var cpu = cpus[index % cpus.Count];
        return Affinity.PinCurrentThread(cpu) ? cpu : null;
    }

    internal void ReportFault(CoreId core, Exception ex)
    {
        lock (faults) faults.Add($"{core}: {ex.GetType().Name}: {ex.Message}");
    }

    public Task<T> Execute<T>(CoreId core, Func<CoreKernel, Task<T>> program, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (core.Machine != Options.MachineId || core.Core >= CoreCount)
            throw new FosException(FosError.NoSuchCore, $"{core} is not a core of this machine (m{Options.MachineId}.c0..c{CoreCount - 1})");
        ObjectDisposedException.ThrowIf(stopped, this);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var target = cores[core.Core];
        target.Inject(() =>
        {
            Task<T> running;
            try
            {
                running = program(target.Kernel);
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
                return;
            }
            running.ContinueWith(t =>
            {
                if (t.IsFaulted) done.TrySetException(t.Exception!.InnerExceptions);
                else if (t.IsCanceled) done.TrySetCanceled();
                else done.TrySetResult(t.Result);
            }, TaskContinuationOptions.ExecuteSynchronously);
        });
        return deadline is { } limit ? done.Task.WaitAsync(limit) : done.Task;
    }

    /// <summary>Stops every core: servers get OnStop, waiting calls fail with <see cref="FosError.ShuttingDown"/>.</summary>
    public ValueTask DisposeAsync()
    {
        if (stopped) return ValueTask.CompletedTask;
        stopped = true;
        foreach (var core in cores) core.Stop();
        return ValueTask.CompletedTask;
    }
}
