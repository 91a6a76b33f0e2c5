using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Layout;
using Fos.Protocols.Memory;
using Fos.Protocols.Proxy;
using Fos.Proxy;
using Fos.Services.FileSystem;
using Fos.Services.Layout;
using Fos.Services.Memory;
using Fos.Services.Naming;
using Fos.Services.Processes;

namespace Fos.Services;

/// <summary>Where boot put the system: its cores, the applications' cores, and the services' main mailboxes.</summary>
public sealed record SystemLayout(CoreId[] SystemCores, CoreId[] ApplicationCores, IReadOnlyList<FsMember> FileSystem, Endpoint Processes, Endpoint Layout);

/// <summary>One server in the layout: where it runs and how busy it has been.</summary>
public sealed record LayoutRow(CoreId Core, string Server, Endpoint Endpoint, long MessagesHandled);

/// <summary>Brings up the system services on a runtime's cores, and reports where everything runs.</summary>
public static class SystemBoot
{
    /// <summary>
    /// Starts the naming server on the first core, tells every kernel where it is, and registers it
    /// under <c>/sys/name</c>. Until this returns, name lookups fail with a clear "still booting".
    /// </summary>
    public static async Task<Endpoint> StartNaming(IFosRuntime runtime)
    {
        var first = runtime.Cores[0];
        var nameServer = await runtime.Execute(first, k => Task.FromResult(k.StartServer(NameServer.Image)));
        foreach (var core in runtime.Cores)
            await runtime.Execute(core, k =>
            {
                k.NameServer = nameServer;
                return Task.FromResult(true);
            });
        await runtime.Execute(first, k => k.Register(WellKnownNames.NameService, nameServer));
        return nameServer;
    }

    /// <summary>
    /// Starts a naming server on the first core of every machine of <paramref name="runtime"/>
    /// (each holds its machine's replica of the cluster's directory), points every core of each
    /// machine at its own, and registers them all under <c>/sys/name</c>: a name registered on any
    /// machine is found from every machine.
    /// </summary>
    public static async Task<IReadOnlyDictionary<ushort, Endpoint>> StartClusterNaming(IFosRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var machines = runtime.Cores.Where(c => !c.IsProcess).GroupBy(c => c.Machine).ToDictionary(g => g.Key, g => g.Order().ToArray());
        var servers = new Dictionary<ushort, Endpoint>();
        foreach (var (machine, cores) in machines.OrderBy(m => m.Key))
            servers[machine] = await StartMachineNaming(runtime, cores, register: false);
        foreach (var (machine, server) in servers)
            await runtime.Execute(machines[machine][0], k => k.Register(WellKnownNames.NameService, server));
        return servers;
    }

    /// <summary>
    /// A machine's naming server (its replica of the directory) on its first core, every core of it
    /// pointed there. <paramref name="withdrawEarlier"/>: the directory may still hold names of this
    /// machine's servers from before it restarted, and they go first.
    /// </summary>
    private static async Task<Endpoint> StartMachineNaming(IFosRuntime runtime, CoreId[] cores, bool register = true, bool withdrawEarlier = false)
    {
        var server = await runtime.Execute(cores[0], k => Task.FromResult(k.StartServer(NameServer.Image)));
        if (withdrawEarlier) await WithdrawEarlier(runtime, cores[0], server);
        foreach (var core in cores)
            await runtime.Execute(core, k =>
            {
                k.NameServer = server;
                return Task.FromResult(true);
            });
        if (register) await runtime.Execute(cores[0], k => k.Register(WellKnownNames.NameService, server));
        return server;
    }

    /// <summary>
    /// Starts a file-system member on each of <paramref name="cores"/>, gives member i the shards
    /// s with s mod n = i, and registers their public mailboxes under <c>/sys/fs</c> and their peer
    /// mailboxes under <c>/sys/fleet/fs</c>, which only the system's own servers may look up.
    /// </summary>
    public static async Task<FsMember[]> StartFileSystem(IFosRuntime runtime, IReadOnlyList<CoreId> cores, long quotaBytesPerMember = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(cores);
        if (cores.Count == 0) throw new ArgumentException($"the {WellKnownNames.FileSystem} fleet needs at least one member", nameof(cores));
        var owners = Enumerable.Range(0, FsStore.Shards).Select(s => s % cores.Count).ToArray();
        var members = new FsMember[cores.Count];
        for (var i = 0; i < cores.Count; i++)
            members[i] = await runtime.Execute(cores[i], k => Task.FromResult(FileSystemServer.Start(k)));
        for (var i = 0; i < members.Length; i++)
        {
            var (member, configure) = (members[i], new FsConfigure(i, members, [.. owners], quotaBytesPerMember));
            await runtime.Execute(cores[i], k => k.Call(member.Peer, configure).AsTask());
        }
        for (var i = 0; i < members.Length; i++)
        {
            var member = members[i];
            await runtime.Execute(cores[i], async k =>
            {
                await k.Register(WellKnownNames.FileSystemFleet, member.Peer);
                return await k.Register(WellKnownNames.FileSystem, member.Public);
            });
        }
        return members;
    }

    /// <summary>
    /// Starts a memory member on each of <paramref name="cores"/>, splits <paramref name="pages"/>
    /// page numbers among them by range, and registers them all under <c>/sys/mem</c>.
    /// </summary>
    public static Task<Endpoint[]> StartMemory(IFosRuntime runtime, IReadOnlyList<CoreId> cores, long pages) =>
        StartFleet(runtime, cores, MemoryServer.Image, WellKnownNames.Memory, (i, members) =>
        {
            var (first, last) = (pages * i / members.Length, pages * (i + 1) / members.Length);
            return new MemConfigure(i, members, first, last - first);
        });

    /// <summary>
    /// A fleet: a member of <paramref name="image"/> on each core, each told who the members are
    /// (<paramref name="configure"/> makes member i's message), then all registered under <paramref name="name"/>.
    /// </summary>
    private static async Task<Endpoint[]> StartFleet(IFosRuntime runtime, IReadOnlyList<CoreId> cores, ServerImage image, string name,
        Func<int, Endpoint[], object> configure)
    {
        ArgumentNullException.ThrowIfNull(cores);
        if (cores.Count == 0) throw new ArgumentException($"the {name} fleet needs at least one member", nameof(cores));
        var members = new Endpoint[cores.Count];
        for (var i = 0; i < cores.Count; i++)
            members[i] = await runtime.Execute(cores[i], k => Task.FromResult(k.StartServer(image)));
        for (var i = 0; i < members.Length; i++)
        {
            var (member, message) = (members[i], configure(i, members));
            await runtime.Execute(cores[i], k => k.Call(member, message).AsTask());
        }
        for (var i = 0; i < members.Length; i++)
        {
            var member = members[i];
            await runtime.Execute(cores[i], k => k.Register(name, member));
        }
        return members;
    }

    /// <summary>
    /// Starts a proxy on the first core of each machine of <paramref name="runtime"/> (the
    /// simulator's several machines), tells each where the others are (<paramref name="address"/>
    /// gives a machine's; the simulator's network needs none), and registers them all under
    /// <c>/sys/proxy</c>. From then on a message to another machine goes through the two machines' proxies.
    /// </summary>
    public static async Task<IReadOnlyDictionary<ushort, ProxyEndpoints>> StartProxies(IFosRuntime runtime, Func<ushort, string>? address = null,
        ProxyTimings? timings = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var machines = runtime.Cores.Where(c => !c.IsProcess).Select(c => c.Machine).Distinct().Order().ToArray();
        var proxies = new Dictionary<ushort, ProxyEndpoints>();
        foreach (var machine in machines) proxies[machine] = await StartProxy(runtime, machine, timings);
        foreach (var (machine, proxy) in proxies)
            await ConnectProxy(runtime, proxy, [.. machines.Where(m => m != machine).Select(m => new ProxyPeer(m, address?.Invoke(m) ?? $"m{m}"))]);
        foreach (var proxy in proxies.Values)
            await runtime.Execute(proxy.Public.Address.CoreId, k => k.Register(WellKnownNames.Proxy, proxy.Public));
        return proxies;
    }

    /// <summary>
    /// Starts <paramref name="machine"/>'s proxy on its first core, its links opened, and points
    /// every core of that machine at it: a message to another machine goes through it from now on.
    /// </summary>
    public static async Task<ProxyEndpoints> StartProxy(IFosRuntime runtime, ushort machine, ProxyTimings? timings = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var cores = runtime.Cores.Where(c => c.Machine == machine && !c.IsProcess).Order().ToArray();
        if (cores.Length == 0) throw new ArgumentException($"m{machine} has no cores here", nameof(machine));
        var proxy = await runtime.Execute(cores[0], k => Task.FromResult(ProxyServer.Start(k, timings)));
        foreach (var core in cores)
            await runtime.Execute(core, k =>
            {
                k.Proxy = proxy.Outbound;
                return Task.FromResult(true);
            });
        return proxy;
    }

    /// <summary>Tells a proxy which machines to reach, and where.</summary>
    public static Task ConnectProxy(IFosRuntime runtime, ProxyEndpoints proxy, ProxyPeer[] peers)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(proxy);
        return runtime.Execute(proxy.Admin.Address.CoreId, k => k.Call(proxy.Admin, new ProxyConnect(peers)).AsTask());
    }

    /// <summary>The memory fleet's pool: 64 Ki pages of 4 KiB, 256 MiB.</summary>
    public const long DefaultMemoryPages = 64 * 1024;

    /// <summary>
    /// Boots the whole system on a runtime: naming, layout and the process service on the first
    /// core, file-system members on every system core, and the rest of the cores left to
    /// applications. Half the cores (at least one) are system cores; with one core, everything
    /// shares it.
    /// </summary>
    public static async Task<SystemLayout> StartSystem(IFosRuntime runtime, long fileSystemQuotaPerMember = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var (systemCores, applicationCores) = Split(runtime.Cores);
        await StartNaming(runtime);
        var (layout, processes) = await StartMachineServers(runtime, systemCores, applicationCores);
        var fileSystem = await StartFileSystem(runtime, systemCores, fileSystemQuotaPerMember);
        await StartMemory(runtime, systemCores, DefaultMemoryPages);
        return new SystemLayout(systemCores, applicationCores, fileSystem, processes, layout);
    }

    /// <summary>
    /// Boots one system over every machine of <paramref name="runtime"/> (the simulator's several
    /// machines): on each machine a proxy, a naming replica, a layout and a process member; the
    /// file-system and memory fleets with members on every machine's system cores, the shards and
    /// pages spread over all of them. The layout returned is the first machine's, with every
    /// machine's cores.
    /// </summary>
    public static async Task<SystemLayout> StartCluster(IFosRuntime runtime, long fileSystemQuotaPerMember = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        await StartClusterNaming(runtime);
        await StartProxies(runtime);
        var (systemCores, applicationCores) = (new List<CoreId>(), new List<CoreId>());
        var servers = new List<(Endpoint Layout, Endpoint Processes)>();
        foreach (var machine in runtime.Cores.Where(c => !c.IsProcess).GroupBy(c => c.Machine).OrderBy(g => g.Key))
        {
            var (system, applications) = Split([.. machine.Order()]);
            servers.Add(await StartMachineServers(runtime, system, applications));
            systemCores.AddRange(system);
            applicationCores.AddRange(applications);
        }
        var fileSystem = await StartFileSystem(runtime, systemCores, fileSystemQuotaPerMember);
        await StartMemory(runtime, systemCores, DefaultMemoryPages);
        return new SystemLayout([.. systemCores], [.. applicationCores], fileSystem, servers[0].Processes, servers[0].Layout);
    }

    /// <summary>
    /// Brings a machine that joins a running cluster into its system: a naming replica, its layout
    /// and process member, and members of the file-system and memory fleets on its system cores,
    /// which take their share of the shards from the members already there. The proxy and the
    /// cluster's directory must be up, so that the fleets are found by name.
    /// </summary>
    public static async Task<SystemLayout> JoinSystem(IFosRuntime runtime, ushort machine)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var cores = runtime.Cores.Where(c => c.Machine == machine && !c.IsProcess).Order().ToArray();
        if (cores.Length == 0) throw new ArgumentException($"m{machine} has no cores here", nameof(machine));
        var (systemCores, applicationCores) = Split(cores);
        var first = cores[0];
        await StartMachineNaming(runtime, cores, withdrawEarlier: true);
        var (layout, processes) = await StartMachineServers(runtime, systemCores, applicationCores);
        var fleet = await LiveMember(runtime, first, machine, WellKnownNames.FileSystemFleet, new FsFleetState())
            ?? throw new FosException(FosError.NoSuchName, $"the cluster has no file system to join: no member under {WellKnownNames.FileSystemFleet} answers");
        var memory = await LiveMember(runtime, first, machine, WellKnownNames.Memory, new MemFleetState());
        foreach (var core in systemCores)
        {
            await FsFleet.AddMember(runtime, core, first, fleet);
            await MemFleet.AddMember(runtime, core, first, memory);
        }
        var view = await FsFleet.State(runtime, first, fleet);
        return new SystemLayout(systemCores, applicationCores, [.. view.Members.Where(m => m.Public.Address.Machine == machine)], processes, layout);
    }

    /// <summary>
    /// Brings a machine of a cluster back into its system after a restart: a naming replica (its
    /// names from before the restart withdrawn first), its layout and process member, and its
    /// file-system members in their old places (<paramref name="fileSystemMembers"/>: the fleet
    /// indices whose stores this machine holds), each opening its store. If members on other
    /// machines serve, they learn of the new ones as of replacements; if none does (the whole
    /// cluster is coming back), the members start from the fleet their stores last knew, and the
    /// shards of machines not yet back fail with a clear error until those return.
    /// </summary>
    public static async Task<SystemLayout> RejoinSystem(IFosRuntime runtime, ushort machine, IReadOnlyList<int> fileSystemMembers,
        long fileSystemQuotaPerMember = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(fileSystemMembers);
        var cores = runtime.Cores.Where(c => c.Machine == machine && !c.IsProcess).Order().ToArray();
        if (cores.Length == 0) throw new ArgumentException($"m{machine} has no cores here", nameof(machine));
        if (fileSystemMembers.Count == 0) return await JoinSystem(runtime, machine);
        var (systemCores, applicationCores) = Split(cores);
        var first = cores[0];
        await StartMachineNaming(runtime, cores, withdrawEarlier: true);
        var (layout, processes) = await StartMachineServers(runtime, systemCores, applicationCores);
        var placed = fileSystemMembers.Select((index, i) => (Index: index, Core: systemCores[i % systemCores.Length])).ToArray();
        var fileSystem = new List<FsMember>();
        if (await LiveMember(runtime, first, machine, WellKnownNames.FileSystemFleet, new FsFleetState()) is { } fleet)
        {
            foreach (var (index, core) in placed) fileSystem.Add(await FsFleet.Replace(runtime, index, core, fleet));
        }
        else
        {
            var started = new List<(int Index, CoreId Core, FsMember Member)>();
            foreach (var (index, core) in placed) started.Add((index, core, await runtime.Execute(core, k => Task.FromResult(FileSystemServer.Start(k)))));
            var stored = await runtime.Execute(first, k => k.Call(started[0].Member.Peer, new FsStoredFleet(started[0].Index, fileSystemQuotaPerMember)).AsTask()) as FsFleetView
                ?? throw new FosException(FosError.BadRequest, $"the store of file-system member {started[0].Index} holds no fleet to come back to");
            var members = stored.Members.ToArray();
            foreach (var (index, _, member) in started)
                members[index] = index < members.Length ? member : throw new FosException(FosError.BadRequest, $"file-system member {index} is not in the fleet its stores knew");
            foreach (var (index, core, member) in started)
            {
                // Each member trusts its own store for which shards are its (a move cut short by the stop is settled by what each kept).
                var own = index == started[0].Index ? stored
                    : await runtime.Execute(core, k => k.Call(member.Peer, new FsStoredFleet(index, fileSystemQuotaPerMember)).AsTask()) as FsFleetView ?? stored;
                await runtime.Execute(core, k => k.Call(member.Peer, new FsConfigure(index, members, own.ShardOwners, fileSystemQuotaPerMember)).AsTask());
            }
            foreach (var (_, core, member) in started)
            {
                await runtime.Execute(core, async k =>
                {
                    await k.Register(WellKnownNames.FileSystemFleet, member.Peer);
                    return await k.Register(WellKnownNames.FileSystem, member.Public);
                });
                fileSystem.Add(member);
            }
        }
        if (await LiveMember(runtime, first, machine, WellKnownNames.Memory, new MemFleetState()) is { } memory)
            foreach (var core in systemCores) await MemFleet.AddMember(runtime, core, first, memory);
        else await StartMemory(runtime, systemCores, DefaultMemoryPages);
        return new SystemLayout(systemCores, applicationCores, fileSystem, processes, layout);
    }

    /// <summary>A member of <paramref name="fleet"/> on another machine that answers <paramref name="probe"/> now, or null.</summary>
    private static async Task<Endpoint?> LiveMember(IFosRuntime runtime, CoreId from, ushort self, string fleet, object probe)
    {
        return await runtime.Execute(from, async k =>
        {
            NameRecord record;
            try
            {
                record = await k.LookupAll(fleet);
            }
            catch (FosException)
            {
                return (Endpoint?)null;
            }
            foreach (var member in record.Members.Where(m => m.Address.Machine != self))
            {
                try
                {
                    await k.Call(member, probe, TimeSpan.FromSeconds(2));
                    return member;
                }
                catch (FosException)
                {
                    // Down, or from before its machine restarted: the next.
                }
            }
            return null;
        });
    }

    /// <summary>How long a machine that boots into a cluster keeps trying to reach the directory's majority for its first change.</summary>
    private static readonly TimeSpan DirectoryPatience = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Withdraws the names this machine's servers had before it restarted. The directory may be
    /// between leaders as machines come back (an election, a link being remade): tried again until
    /// it commits, for a while.
    /// </summary>
    private static Task WithdrawEarlier(IFosRuntime runtime, CoreId core, Endpoint server) =>
        runtime.Execute(core, async k =>
        {
            var deadline = k.Now + DirectoryPatience;
            while (true)
            {
                try
                {
                    return await k.Call(server, new NameWithdrawMachine(core.Machine), TimeSpan.FromSeconds(30));
                }
                catch (FosException ex) when (ex.Error == FosError.MachineDown && k.Now < deadline)
                {
                    // No leader with a majority yet: the directory's own wait bounded that attempt; the next one starts at once.
                }
            }
        });

    /// <summary>Half a machine's cores (at least one) serve the system; the rest run applications. One core does both.</summary>
    private static (CoreId[] System, CoreId[] Applications) Split(IReadOnlyList<CoreId> cores)
    {
        var systemCount = cores.Count == 1 ? 1 : Math.Max(1, cores.Count / 2);
        return ([.. cores.Take(systemCount)], [.. cores.Skip(systemCount)]);
    }

    /// <summary>A machine's layout (its own cores) and process member, both on its first core and registered.</summary>
    private static async Task<(Endpoint Layout, Endpoint Processes)> StartMachineServers(IFosRuntime runtime, CoreId[] systemCores, CoreId[] applicationCores)
    {
        var first = systemCores[0];
        var layout = await runtime.Execute(first, k => Task.FromResult(k.StartServer(LayoutServer.Image)));
        await runtime.Execute(first, k => k.Call(layout, new LayoutConfigure(systemCores, applicationCores)).AsTask());
        await runtime.Execute(first, k => k.Register(WellKnownNames.Layout, layout));
        var processes = await runtime.Execute(first, k => Task.FromResult(k.StartServer(ProcessServer.Image)));
        await runtime.Execute(first, k => k.Register(WellKnownNames.Processes, processes));
        return (layout, processes);
    }

    /// <summary>Every server on every core, core by core.</summary>
    public static async Task<IReadOnlyList<LayoutRow>> Layout(IFosRuntime runtime)
    {
        var rows = new List<LayoutRow>();
        foreach (var core in runtime.Cores)
        {
            var servers = await runtime.Execute(core, k => Task.FromResult(k.Servers));
            rows.AddRange(servers.Select(s => new LayoutRow(core, s.Name, s.Endpoint, s.MessagesHandled)));
        }
        return rows;
    }
}
