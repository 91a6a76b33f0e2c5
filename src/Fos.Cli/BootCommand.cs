using System.CommandLine;
using System.Runtime.InteropServices;
using Fos.Runtime;
using Fos.Services;
using Spectre.Console;

namespace Fos.Cli;

/// <summary><c>fos boot</c>: starts a machine with its naming server, shows the layout, and stays up until stopped.</summary>
internal static class BootCommand
{
    public static Command Create()
    {
        var cores = new Option<int>("--cores")
        {
            Description = "fos cores to run (may exceed the host's CPUs: cores then share CPUs and park when idle)",
            DefaultValueFactory = _ => Math.Max(2, Environment.ProcessorCount),
        };
        cores.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 4096) r.AddError("--cores must be between 1 and 4096");
        });
        var machine = new Option<int>("--machine")
        {
            Description = "this machine's number in the cluster (the m of m1.c3.b7)",
            DefaultValueFactory = _ => 1,
        };
        machine.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > ushort.MaxValue) r.AddError("--machine must be between 1 and 65535");
        });
        var command = new Command("boot", "Boot a fos machine on this host, print its layout, and stay up until stopped (Ctrl+C)")
        {
            cores,
            machine,
        };
        command.SetAction((result, cancel) => Run(result.GetValue(cores), (ushort)result.GetValue(machine), cancel));
        return command;
    }

    private static async Task<int> Run(int cores, ushort machineId, CancellationToken cancel)
    {
        var machine = Machine.Start(new MachineOptions { Cores = cores, MachineId = machineId });
        await using (machine)
        {
            await SystemBoot.StartNaming(machine);
            Layout.Print(machine, await SystemBoot.Layout(machine));
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stopped.TrySetResult();
            });
            using var registration = cancel.Register(() => stopped.TrySetResult());
            AnsiConsole.MarkupLine($"[green]fos is up[/] on {cores} cores. Press Ctrl+C to stop.");
            await stopped.Task;
            AnsiConsole.MarkupLine("stopping fos…");
        }
        AnsiConsole.MarkupLine("fos stopped.");
        return 0;
    }
}
