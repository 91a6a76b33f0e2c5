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
            if (r.GetValueOrDefault<int>() is < 1 or > Machine.MaxCores) r.AddError($"--cores must be between 1 and {Machine.MaxCores}");
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
        var spin = new Option<double?>("--spin-us")
        {
            Description = "microseconds an idle core polls before it parks (default 50; 0 when oversubscribed)",
        };
        spin.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } v && (v < 0 || v > 1_000_000 || double.IsNaN(v)))
                r.AddError("--spin-us must be between 0 and 1000000");
        });
        var command = new Command("boot", "Boot a fos machine on this host, print its layout, and stay up until stopped (Ctrl+C)")
        {
            cores,
            machine,
            spin,
        };
        command.SetAction((result, cancel) => Run(new MachineOptions
        {
            Cores = result.GetValue(cores),
            MachineId = (ushort)result.GetValue(machine),
            SpinBeforePark = result.GetValue(spin) is { } us ? TimeSpan.FromMicroseconds(us) : null,
        }, cancel));
        return command;
    }

    private static async Task<int> Run(MachineOptions options, CancellationToken cancel)
    {
        var machine = Machine.Start(options);
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
            AnsiConsole.MarkupLine($"[green]fos is up[/] on {machine.CoreCount} cores. Press Ctrl+C to stop.");
            await stopped.Task;
            AnsiConsole.MarkupLine("stopping fos…");
        }
        AnsiConsole.MarkupLine("fos stopped.");
        return 0;
    }
}
