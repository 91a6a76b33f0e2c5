using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Protocols.Processes;
using Fos.Kernel.Naming;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.Processes;

namespace Fos.Sys.Tests;

/// <summary>
/// Applications as what an attacker or a careless program writes (tests/Apps/hostile): each one
/// runs in a Linux process of its own and is contained, refused or killed, and the machine goes on
/// serving everyone else correctly.
/// </summary>
public sealed class HostileApplicationTests : TestSystems
{
    private static string Hostile => HostileApp.Path;

    private async Task<(Machine Machine, SystemLayout Layout)> Boot(long memoryLimit = 0)
    {
        var machine = Machine.Start(new MachineOptions { Cores = 3, DataDirectory = Data, ProcessMemoryLimit = memoryLimit == 0 ? 256L << 20 : memoryLimit });
        return (machine, await SystemBoot.StartSystem(machine));
    }

    private static Task<T> OnSystem<T>(Machine machine, SystemLayout layout, Func<Task<T>> work) =>
        machine.Execute(layout.SystemCores[0], _ => work(), TimeSpan.FromSeconds(60));

    private static Task<ProcExit> Run(Machine machine, SystemLayout layout, params string[] args) =>
        OnSystem(machine, layout, async () => await FosProcess.WaitAsync(await FosProcess.StartAsync(Hostile, args)));

    [Fact]
    public async Task Every_way_a_program_can_end_is_contained_and_the_machine_serves_on()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;

        var exit = await Run(machine, layout, "exit", "7");
        Assert.Equal((ProcState.Exited, 7), (exit.State, exit.ExitCode));

        var failFast = await Run(machine, layout, "failfast");
        Assert.Equal(ProcState.Failed, failFast.State);
        Assert.Contains("SIGABRT", failFast.Error);

        var poolThrow = await Run(machine, layout, "pool-throw");
        Assert.Equal(ProcState.Failed, poolThrow.State);
        Assert.Contains("thrown on a pool thread", poolThrow.Error);

        var stack = await Run(machine, layout, "stack");
        Assert.Equal(ProcState.Failed, stack.State);
        Assert.Contains("Stack overflow", stack.Error);

        var allocate = await Run(machine, layout, "allocate");
        Assert.Equal(ProcState.Failed, allocate.State);

        var native = await Run(machine, layout, "native-allocate");
        Assert.Equal(ProcState.Failed, native.State);
        Assert.Contains("OutOfMemoryException", native.Error);

        var corrupt = await Run(machine, layout, "corrupt-ring");
        Assert.Equal(ProcState.Failed, corrupt.State);
        Assert.Contains("ended by the machine", corrupt.Error);

        var segfault = await Run(machine, layout, "segfault");
        Assert.Equal(ProcState.Failed, segfault.State);

        var memory = await Run(machine, layout, "memory");
        Assert.Equal("mapped, written and freed: True\n", memory.Output.ReplaceLineEndings("\n"));
        Assert.Equal(0, await OnSystem(machine, layout, async () => (await FosMemory.UsageAsync()).Sum(u => u.AllocatedPages)));

        await StillServes(machine, layout);
        Assert.Empty(machine.Faults);
    }

    [Fact]
    public async Task A_crash_in_the_middle_of_a_file_write_leaves_the_file_system_consistent()
    {
        var (machine, layout) = await Boot();
        await using (machine)
        {
            var crashed = await Run(machine, layout, "write-then-crash", "/half");
            Assert.Equal(ProcState.Failed, crashed.State);
            var size = await OnSystem(machine, layout, async () => (await FosFile.StatAsync("/half")).Size);
            Assert.True(size >= 256 << 10, $"the synced half is there ({size} bytes)");
            await StillServes(machine, layout);
        }
        // Stopped: every store checked offline, as fos fsck does.
        using var disk = new Fos.Runtime.Storage.DiskStores(Data, Fos.Runtime.Storage.StoreEngine.RocksDb);
        var stores = Directory.GetDirectories(Path.Combine(Data, "stores", "fs"), "member-*").Order(StringComparer.Ordinal)
            .Select(d => disk.Open("fs/" + Path.GetFileName(d))).ToList();
        try
        {
            Assert.Empty(new Fos.Services.FileSystem.FsChecker(stores).Check().Problems);
        }
        finally
        {
            foreach (var store in stores) store.Dispose();
        }
    }

    [Fact]
    public async Task A_program_may_not_touch_what_is_not_its_own()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;

        foreach (var mode in new[] { "register-sys", "withdraw", "unserializable" })
        {
            var refused = await Run(machine, layout, mode, layout.SystemCores[0].ToString());
            Assert.True(refused.ExitCode == 3, $"{mode}: {refused.Output}{refused.Error}");
            Assert.StartsWith("refused:", refused.Output);
        }
        var garbage = await Run(machine, layout, "garbage-body");
        Assert.Equal(("refused a garbage body and still served: True\n", 0), (garbage.Output.ReplaceLineEndings("\n"), garbage.ExitCode));
        Assert.Equal(1, await machine.Execute(layout.SystemCores[0], k => Task.FromResult(k.Stats.RefusedUndecodable))); // counted where it arrived
        var admin = await Run(machine, layout, "admin");
        Assert.Equal("refused 10 of 10\n", admin.Output.ReplaceLineEndings("\n"));
        var many = await Run(machine, layout, "register-many", "300");
        Assert.Equal("registered 256, refused 44\n", many.Output.ReplaceLineEndings("\n"));
        var left = await OnSystem(machine, layout, () => FosNames.ListAsync("/user/many/"));
        Assert.Empty(left); // withdrawn when it ended
        var (holder, others) = await OnSystem(machine, layout, async () =>
        {
            var holder = await FosMemory.AllocateAsync(1 << 20); // memory granted to this core: not the process's to map
            var others = await FosProcess.WaitAsync(await FosProcess.StartAsync(Hostile, ["map-others"]));
            await holder.FreeAsync();
            return (holder.Token, others);
        });
        Assert.True(holder <= 50);
        Assert.Equal("refused 50 of 50\n", others.Output.ReplaceLineEndings("\n"));
        var stop = await Run(machine, layout, "stop");
        Assert.Equal(3, stop.ExitCode);
        var forge = await Run(machine, layout, "forge");
        Assert.Equal("forgery ignored\n", forge.Output.ReplaceLineEndings("\n"));

        var names = await OnSystem(machine, layout, () => FosNames.LookupAllAsync(WellKnownNames.FileSystem));
        Assert.All(names.Members, m => Assert.False(m.Address.CoreId.IsProcess));
        await StillServes(machine, layout);
    }

    [Fact]
    public async Task A_sandboxed_program_cannot_write_host_files_or_reach_the_network()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;
        if (!machine.Sandbox.Available)
        {
            // A host without the sandbox runs applications without it, and says so.
            Assert.Contains("sandbox", machine.Sandbox.Unavailable);
            return;
        }
        var target = Path.Combine(Data, "written-by-an-application");
        var write = await Run(machine, layout, "write-host", target);
        Assert.Equal(3, write.ExitCode);
        Assert.False(File.Exists(target));

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var socket = await Run(machine, layout, "socket", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(3, socket.ExitCode);
        Assert.False(listener.Pending());
    }

    [Fact]
    public async Task Kill_ends_a_spinning_program_at_once_and_withdraws_its_names()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;
        var (killedIn, exit, spinnerRow, registered, after) = await OnSystem(machine, layout, async () =>
        {
            var spinner = await FosProcess.StartAsync(Hostile, ["spin"]);
            var named = await FosProcess.StartAsync(Hostile, ["register-user"]);
            await FosProcess.ReadOutputAsync(spinner, 0); // it spins once it said so
            await FosProcess.ReadOutputAsync(named, 0);
            var registered = (await FosNames.LookupAllAsync("/user/hostile")).Members.Length;
            var row = (await FosProcess.ListAsync()).Single(p => p.Pid == spinner);
            var clock = Stopwatch.StartNew();
            await FosProcess.KillAsync(spinner);
            var killedIn = clock.Elapsed;
            await FosProcess.KillAsync(named);
            await FosProcess.WaitAsync(named); // wait answers once what it held is reclaimed
            var after = (await FosNames.LookupAllAsync("/user/hostile")).Members.Length;
            return (killedIn, await FosProcess.WaitAsync(spinner), row, registered, after);
        });
        Assert.Equal((ProcState.Killed, 137), (exit.State, exit.ExitCode));
        Assert.True(killedIn < TimeSpan.FromMilliseconds(100), $"kill took {killedIn.TotalMilliseconds:0.#} ms");
        Assert.True(spinnerRow.HostPid > 0);
        Assert.True(spinnerRow.ProcessCore.IsProcess);
        Assert.Equal((1, 0), (registered, after));
        Assert.False(Process.GetProcesses().Any(p => p.Id == spinnerRow.HostPid), "the host process is gone");
        Assert.Equal(0, machine.RunningProcesses);
    }

    [Fact]
    public async Task Output_streams_as_it_is_written_and_input_is_forwarded()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;
        var (first, whole, echoed) = await OnSystem(machine, layout, async () =>
        {
            var slow = await FosProcess.StartAsync(Hostile, ["print-slowly", "3", "300"]);
            var first = await FosProcess.ReadOutputAsync(slow, 0);
            var whole = await FosProcess.WaitAsync(slow);
            var cat = await FosProcess.StartAsync(Hostile, ["cat"]);
            await FosProcess.WriteInputAsync(cat, Encoding.UTF8.GetBytes("a\nb\n"), close: true);
            return (first, whole, await FosProcess.WaitAsync(cat));
        });
        Assert.Null(first.Exit); // the first line came while the program still ran
        Assert.StartsWith("line 1", Encoding.UTF8.GetString(first.Chunks[0].Bytes));
        Assert.Equal("line 1\nline 2\nline 3\n", whole.Output.ReplaceLineEndings("\n"));
        Assert.Equal(("a\nb\n", 0), (echoed.Output.ReplaceLineEndings("\n"), echoed.ExitCode));
    }

    [Fact]
    public async Task A_program_that_cannot_start_is_refused_with_its_reason()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;
        var text = Path.Combine(Data, "not-a-program.dll");
        await File.WriteAllTextAsync(text, "plain text");
        var missing = await FosTestErrors(machine, layout, Path.Combine(Data, "missing.dll"));
        var notNet = await FosTestErrors(machine, layout, text);
        Assert.StartsWith("ENOENT", missing);
        Assert.StartsWith("ENOEXEC", notNet);
        await StillServes(machine, layout);
    }

    private static Task<string> FosTestErrors(Machine machine, SystemLayout layout, string path) =>
        OnSystem(machine, layout, async () =>
        {
            try
            {
                await FosProcess.StartAsync(path);
                return "started";
            }
            catch (FosIOException ex)
            {
                return ex.Message;
            }
        });

    /// <summary>After whatever came before, a well-behaved program still runs and its files work.</summary>
    private static async Task StillServes(Machine machine, SystemLayout layout)
    {
        var (exit, text) = await OnSystem(machine, layout, async () =>
        {
            await FosFile.WriteAllTextAsync("/still.txt", "still serving");
            var pid = await FosProcess.StartAsync(Hostile, ["cat"]);
            await FosProcess.WriteInputAsync(pid, Encoding.UTF8.GetBytes("ok\n"), close: true);
            return (await FosProcess.WaitAsync(pid), await FosFile.ReadAllTextAsync("/still.txt"));
        });
        Assert.Equal(("ok\n", 0, "still serving"), (exit.Output.ReplaceLineEndings("\n"), exit.ExitCode, text));
    }
}
