using System.Diagnostics;
using Fos.Kernel;
using Fos.Runtime.Storage;

namespace Fos.Runtime;

/// <summary>
/// A real fos machine: one host process whose fos cores are dedicated threads, linked pairwise by
/// single-producer/single-consumer rings. Boot it, then reach its cores through <see cref="Execute"/>.
/// </summary>
public sealed class Machine : IFosRuntime
{
    private readonly RealCore[] cores;
    private readonly SpscRing?[][] outbound; // outbound[from][to], made on first use by core `from` alone
    private readonly IReadOnlyList<int> cpus;
    private readonly long bootTimestamp = Stopwatch.GetTimestamp();
    private readonly List<string> faults = [];
    private readonly DataDirectoryLock? dataLock;
    private bool stopped;

    private Machine(MachineOptions options)
    {
        if (options.Cores is < 1 or > MaxCores)
            throw new ArgumentOutOfRangeException(nameof(options), options.Cores, $"a machine has between 1 and {MaxCores} fos cores");
        Options = options;
        CoreCount = options.Cores;
        cpus = Affinity.AllowedCpus();
        Oversubscribed = CoreCount > cpus.Count;
        PinsCores = options.Pin ?? !Oversubscribed;
        SpinBeforePark = options.SpinBeforePark ?? (Oversubscribed ? TimeSpan.Zero : TimeSpan.FromMicroseconds(50));
        // Rings are made when a pair of cores first talks: n² rings of 64 KiB each up front would
        // cost a 64-core machine a quarter of a gigabyte for pairs that never exchange a message.
        outbound = new SpscRing?[CoreCount][];
        for (var from = 0; from < CoreCount; from++) outbound[from] = new SpscRing?[CoreCount];
        if (options.DataDirectory is { } data)
        {
            dataLock = DataDirectoryLock.Take(data);
            Stores = new DiskStores(data, options.StoreEngine);
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

    /// <summary>The most fos cores one machine process runs.</summary>
    public const int MaxCores = 1024;

    public MachineOptions Options { get; }

    /// <summary>The services' stores, or null for a machine without a data directory.</summary>
    public DiskStores? Stores { get; }

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

    /// <summary>The ring from one core to another; only core <paramref name="from"/> may call this.</summary>
    internal SpscRing Ring(int from, int to) => outbound[from][to] ?? NewRing(from, to);

    private SpscRing NewRing(int from, int to)
    {
        var ring = new SpscRing(Options.RingCapacity);
        outbound[from][to] = ring;
        cores[to].Adopt(ring);
        return ring;
    }

    /// <summary>How many rings exist, for the layout and tests (pairs that have talked).</summary>
    public int RingCount => outbound.Sum(row => row.Count(r => r is not null));

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

    /// <summary>
    /// True once a stop left the stores open and the data directory locked because a core did not
    /// stop in time (<see cref="MachineOptions.CoreStopTimeout"/>): code on it could still be writing.
    /// </summary>
    public bool LeftStoresOpen { get; private set; }

    /// <summary>
    /// Stops every core: servers get OnStop, waiting calls fail with <see cref="FosError.ShuttingDown"/>.
    /// Then the stores close and the data directory is unlocked, unless a core failed to stop: a
    /// server on it could still be using its store, so the stores and the lock are left to the
    /// process's exit rather than closed under it (said once on stderr and in <see cref="Faults"/>).
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (stopped) return ValueTask.CompletedTask;
        stopped = true;
        foreach (var core in cores) core.RequestStop();
        var deadline = Stopwatch.GetTimestamp() + (long)(Options.CoreStopTimeout.TotalSeconds * Stopwatch.Frequency);
        var stuck = cores
            .Where(core => !core.Join(TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency))))
            .Select(core => core.Core.ToString())
            .ToList();
        if (stuck.Count == 0)
        {
            Stores?.Dispose();
            dataLock?.Dispose();
            return ValueTask.CompletedTask;
        }
        if (Stores is null && dataLock is null) return ValueTask.CompletedTask;
        LeftStoresOpen = true;
        var message = $"core{(stuck.Count == 1 ? "" : "s")} {string.Join(", ", stuck)} did not stop: the stores stay open and the data directory locked until this process exits";
        lock (faults) faults.Add(message);
        Console.Error.WriteLine($"fos: {message}");
        return ValueTask.CompletedTask;
    }
}
