using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Protocols.Processes;
using Fos.Protocols.FileSystem;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.Processes;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Sys.Tests;

/// <summary>Programs as processes, on both runtimes and on a simulated cluster: placement, exit codes, output, failures, kill.</summary>
public sealed class ProcessTests : TestSystems
{

    private async Task<(IFosRuntime System, SystemLayout Layout)> Boot(string kind)
    {
        var system = Create(kind, cores: 4, seed: 9);
        return (system, await StartSystem(kind, system));
    }

    private static Task<T> Shell<T>(IFosRuntime system, Func<Task<T>> program) =>
        system.Execute(system.Cores[0], _ => program(), TimeSpan.FromSeconds(60));

    private static readonly AppProgram Writer = new("writer", async args =>
    {
        await FosFile.WriteAllTextAsync(args[0], args[1]);
        FosProcess.Out.WriteLine($"wrote {args[1].Length} characters to {args[0]} as pid {FosProcess.Id}");
        return 3;
    });

    private static readonly AppProgram Thrower = new("thrower", async _ =>
    {
        await FosFile.StatAsync("/");
        throw new InvalidOperationException("something broke");
    });

    private static readonly AppProgram Spinner = new("spinner", async _ =>
    {
        var held = await FosPosix.Open("/held", new FsOpenFlags(Create: true, Write: true));
        await FosFile.WriteAllTextAsync("/held.handle", $"{held.Handle.Inode} {held.Handle.Id}"); // so the test can look at it
        while (true) await FosFile.StatAsync("/held"); // every call is a point where a kill lands; it never closes /held
    });

    // Calls a mailbox that never answers, and says how long its call took to time out.
    private static readonly AppProgram Impatient = new("impatient", async args =>
    {
        var kernel = KernelContext.Current;
        var silent = await kernel.Lookup(args[0]);
        var timeout = TimeSpan.FromMilliseconds(int.Parse(args[1]));
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await kernel.Call(silent, null, timeout);
            return 2;
        }
        catch (FosException ex) when (ex.Error == FosError.Timeout)
        {
            FosProcess.Out.Write(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return 0;
        }
    });

    [Theory]
    [InlineData(1)]
    [InlineData(30)]
    public async Task A_program_s_call_that_nobody_answers_times_out_no_earlier_than_asked(int milliseconds)
    {
        // A process's core, like the machine's, reads no clock per call: the deadline counts from
        // its loop's next clock read, so it may come late but never early.
        var (system, _) = await Boot("real");
        await using var _ = system;
        var exit = await Shell(system, async () =>
        {
            var kernel = KernelContext.Current;
            var silent = kernel.CreateMailbox(_ => new ValueTask<object?>(new TaskCompletionSource<object?>().Task));
            await kernel.Register("/test/silent", silent);
            return await FosProcess.WaitAsync(await FosProcess.StartAsync(Impatient, ["/test/silent", milliseconds.ToString()]));
        });
        Assert.True(exit.ExitCode == 0, $"exit {exit.ExitCode}: {exit.Output} {exit.Error}");
        var waited = double.Parse(exit.Output, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(waited >= milliseconds, $"a {milliseconds} ms call from a process timed out after {waited} ms");
        Assert.True(waited < milliseconds + 1000, $"a {milliseconds} ms call from a process timed out only after {waited} ms");
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task A_program_runs_on_an_application_core_and_its_exit_code_and_output_come_back(string kind)
    {
        var (system, layout) = await Boot(kind);
        await using var _ = system;
        var (exit, text, list) = await Shell(system, async () =>
        {
            var pid = await FosProcess.StartAsync(Writer, ["/hello.txt", "hello from a process"]);
            var exit = await FosProcess.WaitAsync(pid);
            return (exit, await FosFile.ReadAllTextAsync("/hello.txt"), await FosProcess.ListAsync());
        });
        Assert.Equal((ProcState.Exited, 3), (exit.State, exit.ExitCode));
        Assert.Matches(@"^wrote 20 characters to /hello.txt as pid \d+\n$", exit.Output.ReplaceLineEndings("\n"));
        Assert.Equal("hello from a process", text);
        var row = Assert.Single(list);
        Assert.Contains(row.Core, layout.ApplicationCores);
        Assert.DoesNotContain(row.Core, layout.SystemCores);
        Assert.True(row.SystemCalls > 0);
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task A_program_that_throws_ends_failed_with_its_error_and_the_system_goes_on(string kind)
    {
        var (system, _) = await Boot(kind);
        await using var __ = system;
        var (failed, next) = await Shell(system, async () =>
        {
            var failed = await FosProcess.WaitAsync(await FosProcess.StartAsync(Thrower));
            var next = await FosProcess.WaitAsync(await FosProcess.StartAsync(Writer, ["/after.txt", "still fine"]));
            return (failed, next);
        });
        Assert.Equal((ProcState.Failed, 1), (failed.State, failed.ExitCode));
        Assert.Contains("InvalidOperationException: something broke", failed.Error);
        Assert.Equal(ProcState.Exited, next.State);
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task A_killed_program_ends_killed_and_its_open_files_are_closed(string kind)
    {
        var (system, layout) = await Boot(kind);
        await using var __ = system;
        var (killed, list, stolen, openBefore, openAfter) = await Shell(system, async () =>
        {
            var kernel = KernelContext.Current;
            async Task<int> OpenHandles()
            {
                var open = 0;
                foreach (var member in layout.FileSystem) open += (await kernel.Call<FsMemberCounters>(member.Peer, new FsMemberStats())).OpenHandles;
                return open;
            }
            var pid = await FosProcess.StartAsync(Spinner);
            while ((await FosProcess.ListAsync()).Single(p => p.Pid == pid).SystemCalls < 5) await FosFile.StatAsync("/");
            var numbers = (await FosFile.ReadAllTextAsync("/held.handle")).Split(' ').Select(long.Parse).ToArray();
            var handle = new FsOpened(new FsHandle(numbers[0], numbers[1]), await FosFile.StatAsync("/held"), await FosNames.LookupAsync("/sys/fs"));
            Errno? stolen = null;
            try
            {
                await FosPosix.FStat(handle); // another process's handle is not this one's to use
            }
            catch (FosIOException ex)
            {
                stolen = ex.Errno;
            }
            var openBefore = await OpenHandles();
            await FosProcess.KillAsync(pid);
            var exit = await FosProcess.WaitAsync(pid);
            return (exit, await FosProcess.ListAsync(), stolen, openBefore, await OpenHandles());
        });
        Assert.Equal((ProcState.Killed, 137), (killed.State, killed.ExitCode));
        Assert.Equal(ProcState.Killed, Assert.Single(list).State);
        Assert.Equal(Errno.EBADF, stolen);
        Assert.Equal(1, openBefore);
        Assert.Equal(0, openAfter); // the fleet closed the handle the killed program held
    }

    [Theory]
    [MemberData(nameof(Both))] // in a cluster a program given as code stays on its machine: ClusterSystemTests places programs across machines
    public async Task Programs_started_together_spread_over_the_application_cores(string kind)
    {
        var (system, layout) = await Boot(kind);
        await using var _ = system;
        var cores = await Shell(system, async () =>
        {
            var pids = new List<long>();
            for (var i = 0; i < layout.ApplicationCores.Length; i++)
                pids.Add(await FosProcess.StartAsync(Writer, [$"/f{i}", "x"]));
            foreach (var pid in pids) await FosProcess.WaitAsync(pid);
            return (await FosProcess.ListAsync()).Select(p => p.Core).ToList();
        });
        Assert.Equal(layout.ApplicationCores.Order(), cores.Order());
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task A_buffer_shared_with_another_process_is_the_same_memory_not_a_copy(string kind)
    {
        var (system, _) = await Boot(kind);
        await using var __ = system;
        var receiver = new AppProgram("receiver", async _ =>
        {
            var box = FosNames.OpenMailbox(m =>
            {
                var shared = (long[])m.Body!;
                var memory = FosMemory.MapShared(shared[0], shared[1]);
                var text = System.Text.Encoding.UTF8.GetString(memory.Span[..5]);
                memory.Span[0] = (byte)'J'; // seen by the sender: the same pages
                return ValueTask.FromResult<object?>(text);
            });
            await FosNames.RegisterAsync("/user/receiver", box);
            FosProcess.Out.WriteLine("ready");
            await new TaskCompletionSource().Task; // serves until killed
            return 0;
        });
        var sender = new AppProgram("sender", async _ =>
        {
            var buffer = await FosMemory.AllocateAsync(4096);
            "hello"u8.CopyTo(buffer.Memory.Span);
            var peer = await FosNames.LookupAsync("/user/receiver");
            var token = await buffer.ShareWithAsync(peer.Address.CoreId);
            var seen = await FosNames.CallAsync<string>(peer, new long[] { token, 4096 });
            FosProcess.Out.Write($"{seen} {(char)buffer.Memory.Span[0]}");
            await buffer.FreeAsync();
            return 0;
        });
        var (output, used) = await Shell(system, async () =>
        {
            var server = await FosProcess.StartAsync(receiver);
            await FosProcess.ReadOutputAsync(server, 0); // "ready"
            var exit = await FosProcess.WaitAsync(await FosProcess.StartAsync(sender));
            await FosProcess.KillAsync(server);
            await FosProcess.WaitAsync(server);
            return (exit.Output, (await FosMemory.UsageAsync()).Sum(u => u.AllocatedPages));
        });
        Assert.Equal("hello J", output);
        Assert.Equal(0, used);
    }

    [Fact]
    public async Task Careless_requests_to_the_process_service_get_their_errno_and_change_nothing()
    {
        var system = new SimulatedSystem(new SimOptions { Seed = 12, CoresPerMachine = 3 });
        await using var _ = system;
        await SystemBoot.StartSystem(system);
        var quiet = new AppProgram("quiet", _ => Task.FromResult(0));
        var codes = await system.Execute(system.Cores[0], async _ =>
        {
            var seen = new List<string?>();
            async Task Expect(Func<Task> call)
            {
                try
                {
                    await call();
                    seen.Add("accepted");
                }
                catch (FosIOException ex)
                {
                    seen.Add(ex.Errno.ToString());
                }
                catch (FosException ex)
                {
                    seen.Add(ex.Code ?? ex.Error.ToString());
                }
            }
            var pid = await FosProcess.StartAsync(quiet);
            await FosProcess.WaitAsync(pid);
            await Expect(() => FosProcess.ReadOutputAsync(pid, -1));                      // a position before the start
            await Expect(() => FosProcess.WriteInputAsync(pid, new byte[] { 1 }));        // input for a process that ended
            await Expect(() => FosProcess.StartAsync(""));                                // no program at all
            await Expect(() => FosProcess.ReadOutputAsync(64 * 4242, 0));                 // a process that never was
            seen.Add((await FosProcess.ListAsync()).Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return seen;
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(["EINVAL", "EPIPE", "BadRequest", "ESRCH", "1"], codes);
    }

    [Fact]
    public async Task The_process_table_and_each_process_output_stay_bounded()
    {
        var system = new SimulatedSystem(new SimOptions { Seed = 3, CoresPerMachine = 3 });
        await using var _ = system;
        await SystemBoot.StartSystem(system);
        var chatty = new AppProgram("chatty", _ =>
        {
            var line = new string('x', 1023);
            for (var i = 0; i < 3 * 1024; i++) FosProcess.Out.WriteLine(line); // 3 MiB
            return Task.FromResult(0);
        });
        var quiet = new AppProgram("quiet", _ => Task.FromResult(0));
        var (exit, page, listed) = await system.Execute(system.Cores[0], async _ =>
        {
            var pid = await FosProcess.StartAsync(chatty);
            var exit = await FosProcess.WaitAsync(pid);
            var page = await FosProcess.ReadOutputAsync(pid, 0);
            for (var i = 0; i < ProcLimits.KeptEnded + 20; i++) await FosProcess.WaitAsync(await FosProcess.StartAsync(quiet));
            return (exit, page, (await FosProcess.ListAsync()).Length);
        }, TimeSpan.FromMinutes(10));
        Assert.Equal(ProcLimits.KeptOutput, exit.Output.Length); // the last 1 MiB of what it wrote
        Assert.Equal(3L << 20, page.Next);
        Assert.Equal(2L << 20, page.Lost); // a reader from the start is told what it missed
        Assert.Equal(ProcLimits.KeptEnded, listed); // the oldest ended processes are forgotten
    }

    [Fact]
    public async Task Processes_in_the_simulator_run_the_same_way_for_the_same_seed()
    {
        async Task<(string Digest, string Output)> Once(ulong seed)
        {
            var system = new SimulatedSystem(new SimOptions { Seed = seed, CoresPerMachine = 4, Faults = new FaultPlan { DelayRate = 0.2, MaxExtraDelay = TimeSpan.FromMicroseconds(50) } });
            await using var _ = system;
            await SystemBoot.StartSystem(system);
            var output = await system.Execute(system.Cores[0], async _ =>
            {
                var pids = new List<long>();
                for (var i = 0; i < 3; i++) pids.Add(await FosProcess.StartAsync(Writer, [$"/w{i}", new string('x', i + 1)]));
                pids.Add(await FosProcess.StartAsync(Thrower));
                var text = new System.Text.StringBuilder();
                foreach (var pid in pids) text.Append((await FosProcess.WaitAsync(pid)).Output);
                return text.ToString();
            }, TimeSpan.FromSeconds(60));
            return (system.TraceDigest, output);
        }
        var (first, again, other) = (await Once(5), await Once(5), await Once(6));
        Assert.Equal(first, again);
        Assert.NotEqual(first.Digest, other.Digest);
    }

    [Theory]
    [MemberData(nameof(AndCluster))]
    public async Task Waiting_for_or_killing_a_process_that_never_was_is_ESRCH(string kind)
    {
        var (system, _) = await Boot(kind);
        await using var __ = system;
        var errors = await Shell(system, async () =>
        {
            var seen = new List<Errno>();
            foreach (var call in new Func<Task>[] { () => FosProcess.WaitAsync(424242), () => FosProcess.KillAsync(64 * 999) })
            {
                try
                {
                    await call();
                }
                catch (FosIOException ex)
                {
                    seen.Add(ex.Errno);
                }
            }
            return seen;
        });
        Assert.Equal([Errno.ESRCH, Errno.ESRCH], errors);
    }
}

/// <summary>Applications make services of their own with names and messages.</summary>
public class NamesTests
{
    [Fact]
    public async Task A_program_serves_a_name_and_another_calls_its_nearest_member()
    {
        await using var system = new SimulatedSystem(new SimOptions { Seed = 6, CoresPerMachine = 4 });
        await SystemBoot.StartSystem(system);
        var answers = await system.Execute(system.Cores[0], async _ =>
        {
            var server = new AppProgram("upper-server", async _ =>
            {
                var box = FosNames.OpenMailbox(m => ValueTask.FromResult<object?>(((string)m.Body!).ToUpperInvariant()));
                await FosNames.RegisterAsync("/user/upper", box); // an application's names live under /user/
                FosProcess.Out.WriteLine("serving");
                while (true) await FosFile.StatAsync("/"); // stays up until killed
            });
            var pid = await FosProcess.StartAsync(server);
            await FosProcess.ReadOutputAsync(pid, 0); // "serving", or its end
            var reply = await FosNames.CallAsync<string>("/user/upper", "hello fleet");
            var names = (await FosNames.ListAsync("/user/")).Select(n => n.Name).ToList();
            await FosProcess.KillAsync(pid);
            await FosProcess.WaitAsync(pid);
            var after = (await FosNames.ListAsync("/user/")).Length; // a dead process's names are withdrawn
            return (reply, names, after);
        }, TimeSpan.FromSeconds(30));
        Assert.Equal("HELLO FLEET", answers.reply);
        Assert.Equal(["/user/upper"], answers.names);
        Assert.Equal(0, answers.after);
    }
}
