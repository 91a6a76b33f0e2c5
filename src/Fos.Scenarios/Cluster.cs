using Fos.Kernel;
using Fos.Kernel.Processes;
using Fos.Protocols.Processes;
using Fos.Services;
using Fos.Simulation;
using Fos.Sys;

namespace Fos.Scenarios;

/// <summary>
/// Three machines booted as one system, over a network that drops, duplicates and delays frames.
/// Each machine writes files that the others read back by the same path; a program on each machine
/// is waited for from the next one; the proxies carry calls and one-way streams between every pair
/// while m1 and m3 are cut apart for a second and joined again; then m3 dies. Every call is
/// answered, except those to m3 once it is dead, which fail as MachineDown within the time a
/// machine is given; every stream arrives whole, once and in order; after m3's death the others
/// still list their processes and read the files whose shards they own. The seed fixes which
/// frames are hit and so the whole run.
/// </summary>
public static class Cluster
{
    public const int Machines = 3;
    public const int CallsPerPair = 40;
    public const int SendsPerPair = 200;

    public static readonly SimScenario Scenario = new(
        "cluster",
        $"{Machines} machines as one system: files written on each read on the others, a program on each waited for from the next, calls and one-way streams between every pair, 3% of frames dropped, 3% doubled, 10% delayed; m1 and m3 cut apart for 1 s; then m3 dies",
        seed => new SimOptions
        {
            Seed = seed,
            Machines = Machines,
            CoresPerMachine = 2,
            NetworkFaults = new FaultPlan { DropRate = 0.03, DuplicateRate = 0.03, DelayRate = 0.1, MaxExtraDelay = TimeSpan.FromMilliseconds(2) },
        },
        Run);

    private static CoreId Core(int machine, int core) => new((ushort)machine, (ushort)core);

    /// <summary>Writes a file named for its machine, and ends with its machine's number.</summary>
    private static readonly AppProgram Writer = new("writer", async args =>
    {
        await FosFile.WriteAllTextAsync(args[0], args[1]);
        return int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
    });

    private static async Task<string> Run(SimulatedSystem system)
    {
        await SystemBoot.StartCluster(system);
        var (filesRead, processesWaited) = await FilesAndProcesses(system);
        var echo = new Dictionary<int, Endpoint>();
        var sink = new Dictionary<int, Endpoint>();
        var arrived = new Dictionary<int, List<(ushort From, long Value)>>();
        for (var m = 1; m <= Machines; m++)
        {
            var received = arrived[m] = [];
            echo[m] = await system.Execute(Core(m, 1), k => Task.FromResult(k.CreateMailbox(message => ValueTask.FromResult(message.Body))));
            sink[m] = await system.Execute(Core(m, 1), k => Task.FromResult(k.CreateMailbox(message =>
            {
                received.Add((message.From.Machine, (long)message.Body!));
                return ValueTask.FromResult<object?>(null);
            })));
        }
        system.At(TimeSpan.FromMilliseconds(30), () => system.Partition(1, 3));
        system.At(TimeSpan.FromMilliseconds(1030), () => system.Heal(1, 3));

        // Every machine streams to every other and calls it, all at once.
        var answered = 0;
        var work = new List<Task<bool>>();
        for (var from = 1; from <= Machines; from++)
        {
            var source = from;
            work.Add(system.Execute(Core(source, 0), async k =>
            {
                for (var to = 1; to <= Machines; to++)
                {
                    if (to == source) continue;
                    for (var i = 1; i <= SendsPerPair; i++) k.Send(sink[to], (long)i);
                    for (var i = 0; i < CallsPerPair; i++)
                        if (Equals(await k.Call(echo[to], (long)i, TimeSpan.FromSeconds(10)), (long)i)) answered++;
                }
                return true;
            }, TimeSpan.FromSeconds(60)));
        }
        await Task.WhenAll(work);
        system.RunFor(TimeSpan.FromSeconds(1)); // the last resends settle

        var inOrder = 0;
        for (var to = 1; to <= Machines; to++)
            for (var from = 1; from <= Machines; from++)
            {
                if (from == to) continue;
                var stream = arrived[to].Where(a => a.From == from).Select(a => a.Value).ToList();
                if (!stream.SequenceEqual(Enumerable.Range(1, SendsPerPair).Select(i => (long)i)))
                    throw new InvalidOperationException($"m{from} -> m{to}: {stream.Count} of {SendsPerPair} one-way messages arrived, or out of order");
                inOrder++;
            }

        // m3 dies; calls to it fail as MachineDown, in bounded time, and the others serve on.
        system.CrashMachine(3);
        var before = system.Now;
        var down = await system.Execute(Core(1, 0), async k =>
        {
            try
            {
                await k.Call(echo[3], 0L, TimeSpan.FromSeconds(30));
                return "answered";
            }
            catch (FosException ex)
            {
                return ex.Error.ToString();
            }
        }, TimeSpan.FromSeconds(60));
        var noticed = system.Now - before;
        if (down != nameof(FosError.MachineDown) || noticed > TimeSpan.FromSeconds(3))
            throw new InvalidOperationException($"a call to dead m3 ended as {down} after {noticed.TotalSeconds:0.##} s");
        var still = await system.Execute(Core(1, 0), k => k.Call(echo[2], "still", TimeSpan.FromSeconds(10)).AsTask(), TimeSpan.FromSeconds(60));
        var listed = await system.Execute(Core(1, 0), _ => FosProcess.ListAsync(), TimeSpan.FromSeconds(60));
        if (listed.Any(p => p.Core.Machine == 3) || listed.Length != 2)
            throw new InvalidOperationException($"after m3 died, ps on m1 listed {string.Join(", ", listed.Select(p => $"{p.Pid}@{p.Core}"))}");
        var (frames, lost) = system.LinkFrames;
        return $"cluster: {filesRead} files read back on other machines; {processesWaited} programs waited for from another machine; " +
            $"{answered} of {Machines * (Machines - 1) * CallsPerPair} calls answered; {inOrder} streams of {SendsPerPair} arrived whole and in order; " +
            $"{lost} of {frames} frames lost on the way; dead m3 noticed in {noticed.TotalSeconds:0.##} s; m2 answered '{still}' after";
    }

    /// <summary>
    /// Each machine runs a program that writes a file of its own; the next machine waits for that
    /// program (through its own process member, which asks the program's), and every other machine
    /// reads the file back by its path → (files read, programs waited for).
    /// </summary>
    private static async Task<(int FilesRead, int ProcessesWaited)> FilesAndProcesses(SimulatedSystem system)
    {
        var pids = new Dictionary<int, long>();
        for (var m = 1; m <= Machines; m++)
        {
            var machine = m;
            pids[m] = await system.Execute(Core(m, 0), _ => FosProcess.StartAsync(Writer, [$"/from-m{machine}", $"written by a program on m{machine}", $"{machine}"]),
                TimeSpan.FromSeconds(60));
        }
        var waited = 0;
        for (var m = 1; m <= Machines; m++)
        {
            var (program, waiter) = (m, m % Machines + 1);
            var exit = await system.Execute(Core(waiter, 0), _ => FosProcess.WaitAsync(pids[program]), TimeSpan.FromSeconds(60));
            if (exit.State != ProcState.Exited || exit.ExitCode != program)
                throw new InvalidOperationException($"the program on m{program}, waited for from m{waiter}, ended {exit.State} with {exit.ExitCode}");
            waited++;
        }
        var read = 0;
        for (var reader = 1; reader <= Machines; reader++)
            for (var writer = 1; writer <= Machines; writer++)
            {
                if (reader == writer) continue;
                var text = await system.Execute(Core(reader, 0), _ => FosFile.ReadAllTextAsync($"/from-m{writer}"), TimeSpan.FromSeconds(60));
                if (text != $"written by a program on m{writer}")
                    throw new InvalidOperationException($"m{reader} read '{text}' from /from-m{writer}");
                read++;
            }
        return (read, waited);
    }
}
