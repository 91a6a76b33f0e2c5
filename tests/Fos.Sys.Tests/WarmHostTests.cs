using System.Diagnostics;
using System.Text;
using Fos.Protocols.Processes;
using Fos.Runtime;
using Fos.Services;

namespace Fos.Sys.Tests;

/// <summary>
/// The warm host a machine keeps for the directory of the program it started last: the next
/// program from there runs in it exactly as in a host started for it (its arguments, input, output
/// and exit status), a program from elsewhere never does, and a warm host that died or a machine
/// that stops leaves nothing behind.
/// </summary>
public sealed class WarmHostTests : TestSystems
{
    private static string Hostile => HostileApp.Path;
    private static string Directory => System.IO.Path.GetDirectoryName(Hostile)!;

    private async Task<(Machine Machine, SystemLayout Layout)> Boot()
    {
        var machine = Machine.Start(new MachineOptions { Cores = 3, DataDirectory = Data, ProcessMemoryLimit = 256L << 20 });
        return (machine, await SystemBoot.StartSystem(machine));
    }

    private static Task<T> OnSystem<T>(Machine machine, SystemLayout layout, Func<Task<T>> work) =>
        machine.Execute(layout.SystemCores[0], _ => work(), TimeSpan.FromSeconds(60));

    private static Task<ProcExit> Run(Machine machine, SystemLayout layout, params string[] args) =>
        OnSystem(machine, layout, async () => await FosProcess.WaitAsync(await FosProcess.StartAsync(Hostile, args)));

    /// <summary>Runs the hostile program's cat from <paramref name="program"/> with <paramref name="input"/>: its row while it ran, and how it ended.</summary>
    private static Task<(ProcInfo Row, ProcExit Exit)> Cat(Machine machine, SystemLayout layout, string program, string input) =>
        OnSystem(machine, layout, async () =>
        {
            var cat = await FosProcess.StartAsync(program, ["cat"]);
            var row = (await FosProcess.ListAsync()).Single(p => p.Pid == cat);
            await FosProcess.WriteInputAsync(cat, Encoding.UTF8.GetBytes(input), close: true);
            return (row, await FosProcess.WaitAsync(cat));
        });

    private static async Task<int> WarmHostFor(Machine machine, string directory)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.True(await machine.WarmHostReady(directory).WaitAsync(deadline.Token), "a warm host is kept for the directory");
        return machine.WarmHostPid(directory) ?? throw new InvalidOperationException("no warm host's pid");
    }

    [Fact]
    public async Task The_next_program_from_a_directory_runs_in_its_warm_host_as_it_would_in_a_cold_one()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;
        Assert.Equal((ProcState.Exited, 0), ((await Run(machine, layout, "args")).State, 0)); // cold: leaves a host warm
        var warm = await WarmHostFor(machine, Directory);

        // Arguments that a careless handover would split, drop or take for its own options.
        string[] odd = ["two words", "", "--", "--warm", "1", "ünï\tcödé", "-- name x"];
        var echoed = await Run(machine, layout, ["args", .. odd]);
        Assert.Equal((ProcState.Exited, 0), (echoed.State, echoed.ExitCode));
        Assert.Equal(string.Concat(odd.Select(a => $"[{a}]\n")), echoed.Output.ReplaceLineEndings("\n"));

        var next = await WarmHostFor(machine, Directory);
        Assert.NotEqual(warm, next); // each host runs one program: another warmed for the next
        var (row, exit) = await Cat(machine, layout, Hostile, "first\nsecond\n");
        Assert.Equal(next, row.HostPid);
        Assert.Equal(("first\nsecond\n", 0), (exit.Output.ReplaceLineEndings("\n"), exit.ExitCode));

        var failed = await Run(machine, layout, "exit", "7");
        Assert.Equal((ProcState.Exited, 7), (failed.State, failed.ExitCode));
    }

    [Fact]
    public async Task A_warm_host_that_died_is_not_used_and_the_program_starts_cold()
    {
        var (machine, layout) = await Boot();
        await using var _ = machine;
        await Run(machine, layout, "args");
        var warm = await WarmHostFor(machine, Directory);
        using (var host = Process.GetProcessById(warm))
        {
            host.Kill();
            await host.WaitForExitAsync();
        }
        var (row, exit) = await Cat(machine, layout, Hostile, "still here\n");
        Assert.NotEqual(warm, row.HostPid);
        Assert.Equal(("still here\n", 0), (exit.Output.ReplaceLineEndings("\n"), exit.ExitCode));
    }

    [Fact]
    public async Task A_program_from_another_directory_never_runs_in_the_warm_host_and_a_stop_ends_it()
    {
        var (machine, layout) = await Boot();
        var stopped = false;
        try
        {
            await Run(machine, layout, "args");
            var warm = await WarmHostFor(machine, Directory);

            // The same program from another directory: the warm host's walls do not show it that one.
            var elsewhere = System.IO.Path.Combine(Data, "elsewhere");
            System.IO.Directory.CreateDirectory(elsewhere);
            foreach (var file in System.IO.Directory.GetFiles(Directory)) File.Copy(file, System.IO.Path.Combine(elsewhere, System.IO.Path.GetFileName(file)));
            var copy = System.IO.Path.Combine(elsewhere, System.IO.Path.GetFileName(Hostile));
            var (row, exit) = await Cat(machine, layout, copy, "x\n");
            Assert.NotEqual(warm, row.HostPid);
            Assert.Equal(("x\n", 0), (exit.Output.ReplaceLineEndings("\n"), exit.ExitCode));

            // The kept host moved to the directory of the program started last; the old one ended.
            var moved = await WarmHostFor(machine, elsewhere);
            Assert.Null(machine.WarmHostPid(Directory));
            await Gone(warm);

            await machine.DisposeAsync();
            stopped = true;
            await Gone(moved);
        }
        finally
        {
            if (!stopped) await machine.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_machine_that_stops_while_a_warm_host_is_starting_leaves_none_of_its_processes()
    {
        // The stop catches the host as it starts: bubblewrap's sandboxed child waits for its parent
        // to set up its user namespace before anything can end it with its parent, so ending only
        // the parent there would leave that child waiting for ever.
        for (var round = 0; round < 3; round++)
        {
            var (machine, layout) = await Boot();
            var tree = new HashSet<int>();
            try
            {
                await Run(machine, layout, "args"); // its end starts the next warm host
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                int? host;
                while ((host = machine.WarmHostPid(Directory)) is null) await Task.Delay(1, deadline.Token);
                tree.Add(host.Value);
                foreach (var pid in Descendants(host.Value)) tree.Add(pid);
            }
            finally
            {
                await machine.DisposeAsync();
            }
            foreach (var pid in tree) await Gone(pid);
        }
    }

    /// <summary>The processes below <paramref name="pid"/> as Linux lists them now.</summary>
    private static IEnumerable<int> Descendants(int pid)
    {
        string children;
        try
        {
            children = File.ReadAllText($"/proc/{pid}/task/{pid}/children");
        }
        catch (IOException)
        {
            yield break; // it ended
        }
        foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse))
        {
            yield return child;
            foreach (var below in Descendants(child)) yield return below;
        }
    }

    /// <summary>Waits until host process <paramref name="pid"/> has exited and been reaped.</summary>
    private static async Task Gone(int pid)
    {
        Process host;
        try
        {
            host = Process.GetProcessById(pid);
        }
        catch (ArgumentException)
        {
            return; // gone already
        }
        using (host)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.WaitForExitAsync(deadline.Token);
        }
    }
}
