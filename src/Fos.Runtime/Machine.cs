using System.Diagnostics;
using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Runtime.Processes;
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
    private readonly ProcessPort?[] ports = new ProcessPort?[ushort.MaxValue - CoreId.FirstProcessCore];
    private readonly HashSet<ApplicationProcess> running = [];
    private readonly Lazy<Sandbox> sandbox;
    private int nextSlot = -1;
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
        CoreWakes = [.. cores.Select(c => c.Wake)];
        sandbox = new(() => options.Sandbox == false ? new Sandbox(null, "the sandbox is turned off for this machine") : Sandbox.Probe());
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

    // ---- application processes ---------------------------------------------------------------

    /// <summary>Every core's eventfd, by core number: application processes inherit them to wake a parked core.</summary>
    internal IReadOnlyList<EventFd> CoreWakes { get; }

    /// <summary>The sandbox application processes run in, or why there is none (probed once, on first use).</summary>
    public Sandbox Sandbox => sandbox.Value;

    /// <summary>The application process on <paramref name="core"/>, while it runs.</summary>
    internal ProcessPort? Port(CoreId core) =>
        core.Machine == Options.MachineId && core.IsProcess ? Volatile.Read(ref ports[core.Core - CoreId.FirstProcessCore]) : null;

    /// <summary>Processes that run now (for the layout and tests).</summary>
    public int RunningProcesses
    {
        get { lock (running) return running.Count; }
    }

    private static readonly Lock launching = new();

    /// <summary>Memory a .NET process maps beyond its heap (thread stacks, code, the runtime's own data).</summary>
    private const long ProcessRuntimeHeadroom = 1L << 30;

    /// <summary>
    /// Starts an application process: a channel and a port for it, every core told to read it, then
    /// either a Linux process running the application host on the channel (an assembly: a warm
    /// host kept for its directory if there is one, else one started now), or a thread of this
    /// process running the same host (a program given as code).
    /// </summary>
    internal ProcessHandle StartProcess(RealCore starter, ProcessLaunch launch, CoreId near, Action<ProcessStream, ReadOnlyMemory<byte>> output)
    {
        ObjectDisposedException.ThrowIf(stopped, this);
        if (near.Machine != Options.MachineId || near.IsProcess || near.Core >= CoreCount)
            throw new FosException(FosError.NoSuchCore, $"cannot place a process on {near}: not a core of this machine");
        if (launch.Main is null && launch.AssemblyPath is { } path) ApplicationFile.Check(path);
        else if (launch.Main is null) throw new FosException(FosError.BadRequest, $"{launch.Name}: nothing to run (neither an assembly nor code)");
        var nameServer = starter.Kernel.NameServer ?? throw new FosException(FosError.NoSuchName, "the machine has no name server yet (it is still booting)");
        var slot = TakeSlot();
        var core = CoreId.Process(Options.MachineId, slot);
        var directory = launch.Main is null ? Path.GetDirectoryName(launch.AssemblyPath!)! : null;
        var rest = directory is null ? null : ProgramArguments(launch, near);
        var handover = rest is null ? null : WarmHost.Handover(rest);
        var warm = handover is { Length: <= WarmHost.MaxHandoverBytes } ? TakeWarmHost(directory!) : null;
        var channel = warm?.Channel ?? ProcessChannel.CreateUnassigned(CoreCount, Options.ProcessRingCapacity);
        channel.Assign(core, launch.Pid, nameServer);
        var wake = warm?.Wake ?? EventFd.Create(inheritable: false);
        var (fds, childFds) = warm is null ? FdChannel.CreatePair() : (warm.Fds, null);
        var port = new ProcessPort(channel, wake, fds, CoreCount);
        ApplicationProcess process;
        try
        {
            Volatile.Write(ref ports[slot], port);
            foreach (var c in cores) c.Adopt(port);
            if (launch.Main is { } main) process = new InMachineProcess(this, starter, port, channel, wake, childFds!, launch, main, output);
            else if (warm is not null) process = new LinuxProcess(this, starter, port, channel, warm.Process, output, warm.Ready, handover);
            else
            {
                using (childFds) // the child has its own copy of its end
                    process = new LinuxProcess(this, starter, port, channel,
                        StartHost(channel, wake, childFds!, rest!, directory!), output, ready: null, handover: null);
            }
        }
        catch (Exception ex) when (ex is IOException or System.ComponentModel.Win32Exception)
        {
            RemovePort(port);
            throw new FosException(FosError.ServiceError, $"EAGAIN: cannot start {launch.Name}: {ex.Message}", "EAGAIN");
        }
        port.OnReleased += () =>
        {
            lock (running) running.Remove(process);
        };
        lock (running)
            if (!port.IsReleased) running.Add(process); // a program that ended already is not running
        // The next host for this directory warms once this program has ended, not beside it: on a
        // machine with few CPUs a warming host would slow the program it was kept for.
        if (directory is not null && Options.WarmHosts)
        {
            var started = WantWarmHost(directory);
            _ = process.Ended.ContinueWith(_ => KeepWarmHost(directory, started), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        return process;
    }

    // ---- other machines ----------------------------------------------------------------------

    private Network.TcpLinks? links;

    /// <summary>Where this machine accepts links from others, once its proxy has opened them.</summary>
    public System.Net.IPEndPoint? Listening => links?.Listening;

    /// <summary>Says <paramref name="line"/> in the machine's log.</summary>
    internal void Log(string line)
    {
        if (Options.Log is { } log) log(line);
        else Console.Error.WriteLine($"fos m{Options.MachineId}: {line}");
    }

    /// <summary>The links of this machine's proxy (on <paramref name="core"/>): TCP with mutual TLS, as its identity allows.</summary>
    internal Fos.Kernel.Network.ILinks OpenLinks(RealCore core, Fos.Kernel.Network.ILinkEvents events)
    {
        ObjectDisposedException.ThrowIf(stopped, this);
        var identity = Options.Identity ?? throw new FosException(FosError.BadRequest,
            $"m{Options.MachineId} has no cluster identity: boot it with --listen to make a cluster, or --join to join one");
        if (identity.Machine != Options.MachineId)
            throw new FosException(FosError.BadRequest, $"this machine is m{Options.MachineId} but its certificate says m{identity.Machine}");
        lock (warmHosts)
        {
            if (links is not null) throw new FosException(FosError.BadRequest, $"m{Options.MachineId}'s links are open already (one proxy per machine)");
            try
            {
                links = new Network.TcpLinks(identity, Options.Authority, Options.Listen, core.Inject, events, Log);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                throw new FosException(FosError.BadRequest, $"cannot listen for other machines on {Options.Listen}: {ex.Message}");
            }
        }
        return links;
    }

    // ---- warm hosts --------------------------------------------------------------------------

    private readonly Lock warmHosts = new();
    private WarmHost? warmHost; // at most one, for the directory of the program started last
    private (string Directory, TaskCompletionSource<Task<bool>> Started)? wanted; // the next one, once a program ends

    /// <summary>
    /// The warm host kept for programs in <paramref name="directory"/> (or to be started there once
    /// the program running from it ends), once it is ready; false: none is kept for it, or it
    /// ended. For benchmarks and tests that measure a warm start.
    /// </summary>
    public Task<bool> WarmHostReady(string directory)
    {
        lock (warmHosts)
        {
            if (warmHost is { } warm && warm.Directory == directory) return warm.Ready;
            if (wanted is { } next && next.Directory == directory) return next.Started.Task.Unwrap();
            return Task.FromResult(false);
        }
    }

    /// <summary>The host pid of the warm host kept for <paramref name="directory"/>, if one is.</summary>
    public int? WarmHostPid(string directory)
    {
        lock (warmHosts)
            return warmHost is { } warm && warm.Directory == directory ? warm.HostPid : null;
    }

    /// <summary>Takes the warm host for <paramref name="directory"/> if one is kept and alive; a dead one is let go.</summary>
    private WarmHost? TakeWarmHost(string directory)
    {
        lock (warmHosts)
        {
            if (warmHost is not { } warm || warm.Directory != directory) return null;
            warmHost = null;
            if (warm.Alive) return warm;
            warm.Dispose();
            return null;
        }
    }

    /// <summary>Notes that the next warm host is for <paramref name="directory"/> (a shell runs the same few programs again and again).</summary>
    private TaskCompletionSource<Task<bool>> WantWarmHost(string directory)
    {
        var started = new TaskCompletionSource<Task<bool>>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (warmHosts)
        {
            wanted?.Started.TrySetResult(Task.FromResult(false)); // superseded
            wanted = (directory, started);
        }
        return started;
    }

    /// <summary>
    /// Starts the warm host for <paramref name="directory"/> that <paramref name="started"/> was
    /// promised, replacing one kept for another directory, unless a later program superseded it.
    /// Failures here cost only the next start its warmth, so they are dropped.
    /// </summary>
    private void KeepWarmHost(string directory, TaskCompletionSource<Task<bool>> started)
    {
        lock (warmHosts)
        {
            try
            {
                if (stopped || wanted?.Started != started) return;
                wanted = null;
                if (warmHost is { } kept && kept.Directory == directory && kept.Alive) return;
                warmHost?.Dispose();
                warmHost = null;
                var channel = ProcessChannel.CreateUnassigned(CoreCount, Options.ProcessRingCapacity);
                var wake = EventFd.Create(inheritable: false);
                var (fds, childFds) = FdChannel.CreatePair();
                try
                {
                    using (childFds)
                        warmHost = new WarmHost(directory, channel, wake, fds, StartHost(channel, wake, childFds, ["--warm", "1"], directory));
                }
                catch (Exception ex) when (ex is IOException or System.ComponentModel.Win32Exception or FosException)
                {
                    channel.Dispose();
                    wake.Dispose();
                    fds.Dispose();
                }
            }
            finally
            {
                started.TrySetResult(warmHost is { } host && host.Directory == directory ? host.Ready : Task.FromResult(false));
            }
        }
    }

    /// <summary>What the host is told of its program: where it runs, its limits, its name, its .dll and arguments.</summary>
    private string[] ProgramArguments(ProcessLaunch launch, CoreId near)
    {
        var cpu = PinsCores ? cpus[near.Core % cpus.Count] : -1;
        return ["--cpu", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--spin-us", ((int)SpinBeforePark.TotalMicroseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--memory", (Options.ProcessMemoryLimit > 0 ? Options.ProcessMemoryLimit + ProcessRuntimeHeadroom : 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--name", launch.Name, "--", launch.AssemblyPath!, .. launch.Args];
    }

    /// <summary>
    /// The Linux process of an application host: in the sandbox if there is one, seeing the host's
    /// and the program's directories, inheriting its channel, wake-up fd and fd socket only.
    /// </summary>
    private Process StartHost(ProcessChannel channel, EventFd wake, FdChannel fds, string[] arguments, string programDirectory)
    {
        var host = Options.ApplicationHost ?? Path.Combine(AppContext.BaseDirectory, "Fos.AppHost.dll");
        if (!File.Exists(host)) throw new IOException($"the application host is missing: {host} (rebuild fos)");
        string[] command = [Dotnet, host, "--channel", channel.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--wake", wake.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--fds", fds.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--core-wakes", string.Join(',', CoreWakes.Select(w => w.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            .. arguments];
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_EnableDiagnostics"] = "0", // no debugger or diagnostics socket into the application
            // The application's loop spins on its one CPU, where the runtime's background
            // re-compilation must share it: without these its hot code stayed at the first,
            // unoptimized tier for seconds (a stat from a process cost 3-4x one from a machine
            // core; with them 1.7x, and 1.4x with no tiering at all, which made start-up 40% slower).
            ["DOTNET_TieredPGO"] = "0",
            ["DOTNET_TC_CallCountingDelayMs"] = "0",

        };
        if (Options.ProcessMemoryLimit > 0)
            environment["DOTNET_GCHeapHardLimit"] = Options.ProcessMemoryLimit.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var wrapped = Sandbox.Wrap([Path.GetDirectoryName(host)!, programDirectory], environment, command);
        var start = new ProcessStartInfo(wrapped[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in wrapped.Skip(1)) start.ArgumentList.Add(arg);
        if (!Sandbox.Available)
            foreach (var (key, value) in environment) start.Environment[key] = value;
        // Only this child may inherit its channel and wake-up fd: they are close-on-exec except
        // while it starts, and one start at a time, so no other child can catch them.
        lock (launching)
        {
            channel.SetInheritable(true);
            wake.SetInheritable(true);
            fds.SetInheritable(true);
            try
            {
                return Process.Start(start) ?? throw new IOException("the process did not start");
            }
            finally
            {
                channel.SetInheritable(false);
                wake.SetInheritable(false);
                fds.SetInheritable(false);
            }
        }
    }

    /// <summary>
    /// The dotnet that runs this machine, so an application runs on the same runtime: the process
    /// itself when it is dotnet, else the root above the runtime it loaded (as under an apphost,
    /// such as `dotnet run`), else DOTNET_ROOT.
    /// </summary>
    public static string Dotnet
    {
        get
        {
            var main = Environment.ProcessPath;
            if (main is not null && Path.GetFileNameWithoutExtension(main) == "dotnet") return main;
            // shared/Microsoft.NETCore.App/VERSION/ lies below the root
            var loaded = Path.GetFullPath(Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
            if (File.Exists(loaded)) return loaded;
            var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
            if (root is not null && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
            return File.Exists("/usr/share/dotnet/dotnet") ? "/usr/share/dotnet/dotnet" : "/usr/bin/dotnet";
        }
    }

    private int TakeSlot()
    {
        for (var tries = 0; tries < ports.Length; tries++)
        {
            var slot = (int)((uint)Interlocked.Increment(ref nextSlot) % (uint)ports.Length);
            if (Volatile.Read(ref ports[slot]) is null) return slot;
        }
        throw new FosException(FosError.ServiceError, $"EAGAIN: {ports.Length} processes run on this machine already", "EAGAIN");
    }

    // ---- memory ------------------------------------------------------------------------------

    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, (Grant Memory, CoreId Holder)> grants = new();
    private long lastGrant;

    /// <summary>A grant's memory, unmapped from the machine when the last token that names it is revoked.</summary>
    private sealed class Grant(SharedMemory memory)
    {
        private int references = 1;

        public SharedMemory Memory { get; } = memory;

        public bool Retain()
        {
            while (true)
            {
                var seen = Volatile.Read(ref references);
                if (seen == 0) return false;
                if (Interlocked.CompareExchange(ref references, seen + 1, seen) == seen) return true;
            }
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref references) == 0) Memory.Dispose();
        }
    }

    /// <summary>
    /// Memory for <paramref name="holder"/>: a sealed memfd of its own (Linux has no way to hand a
    /// process part of a larger one, and one fd per grant is what makes "only its own pages" true),
    /// whose fd goes to the holder's process alone, before the grant is answered.
    /// </summary>
    internal long GrantMemory(CoreId holder, long bytes)
    {
        if (bytes is <= 0 or > int.MaxValue)
            throw new FosException(FosError.ServiceError, $"EINVAL: a grant is 1 byte to 2 GiB, not {bytes}", "EINVAL");
        var port = holder.IsProcess ? Port(holder) ?? throw new FosException(FosError.NoSuchCore, $"no process runs on {holder}") : null;
        if (port is null && (holder.Machine != Options.MachineId || holder.Core >= CoreCount))
            throw new FosException(FosError.NoSuchCore, $"{holder} is not a core of this machine");
        var grant = new Grant(SharedMemory.Create($"fos memory for {holder}", bytes));
        try
        {
            return Deliver(grant, holder, port);
        }
        finally
        {
            grant.Release(); // the token holds it now, if it was delivered
        }
    }

    /// <summary>The memory of grant <paramref name="token"/> for <paramref name="holder"/> too, under a token of its own.</summary>
    internal long ShareMemory(long token, CoreId holder)
    {
        var port = holder.IsProcess ? Port(holder) ?? throw new FosException(FosError.NoSuchCore, $"no process runs on {holder}") : null;
        if (port is null && (holder.Machine != Options.MachineId || holder.Core >= CoreCount))
            throw new FosException(FosError.NoSuchCore, $"{holder} is not a core of this machine");
        if (!grants.TryGetValue(token, out var original) || !original.Memory.Retain())
            throw new FosException(FosError.ServiceError, $"EBADF: no memory {token} to share", "EBADF");
        try
        {
            return Deliver(original.Memory, holder, port);
        }
        finally
        {
            original.Memory.Release();
        }
    }

    /// <summary>A new token for <paramref name="grant"/>, its fd sent to the holder's process first; the token holds a reference.</summary>
    private long Deliver(Grant grant, CoreId holder, ProcessPort? port)
    {
        var token = Interlocked.Increment(ref lastGrant);
        try
        {
            port?.Fds.Send(token, grant.Memory.Fd);
        }
        catch (IOException ex)
        {
            throw new FosException(FosError.ServiceError, $"EAGAIN: {holder} takes no memory now ({ex.Message})", "EAGAIN");
        }
        grant.Retain();
        grants[token] = (grant, holder);
        return token;
    }

    internal void RevokeMemory(long token)
    {
        if (grants.TryRemove(token, out var grant)) grant.Memory.Release();
    }

    /// <summary>A machine core's view of memory granted to it (the system's own code).</summary>
    internal Memory<byte> MapMemory(CoreId core, long token, long bytes) =>
        grants.TryGetValue(token, out var grant) && grant.Holder == core && bytes <= grant.Memory.Memory.Length
            ? new MappedMemory(grant.Memory.Memory, (int)bytes).Memory
            : throw new FosException(FosError.ServiceError, $"EBADF: no memory {token} was granted to {core}", "EBADF");

    /// <summary>The process is gone: messages to its core are refused from now on, and every core lets go of its port.</summary>
    internal void RemovePort(ProcessPort port)
    {
        foreach (var (token, grant) in grants)
            if (grant.Holder == port.Core) RevokeMemory(token); // its mappings went with it
        port.Close();
        Interlocked.CompareExchange(ref ports[port.Core.Core - CoreId.FirstProcessCore], null, port);
        foreach (var core in cores) core.Notify();
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
        List<ApplicationProcess> left;
        lock (running) left = [.. running];
        foreach (var process in left) process.Kill(); // applications do not outlive their machine
        links?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5)); // other machines see this one leave
        lock (warmHosts)
        {
            warmHost?.Dispose();
            warmHost = null;
            wanted?.Started.TrySetResult(Task.FromResult(false));
            wanted = null;
        }
        foreach (var core in cores) core.RequestStop();
        var deadline = Stopwatch.GetTimestamp() + (long)(Options.CoreStopTimeout.TotalSeconds * Stopwatch.Frequency);
        var stuck = cores
            .Where(core => !core.Join(TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency))))
            .Select(core => core.Core.ToString())
            .ToList();
        if (stuck.Count == 0)
        {
            // Every core's eventfd is inherited by each application process started: close them,
            // or a process that boots machine after machine would hand its children more each time.
            foreach (var core in cores) core.Wake.Dispose();
            foreach (var token in grants.Keys) RevokeMemory(token);
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
