using System.CommandLine;
using System.Runtime.InteropServices;
using Fos.Cli.Node;
using Fos.Kernel;
using Fos.Runtime;
using Fos.Runtime.Network;
using Fos.Runtime.Storage;
using Fos.Services;
using Spectre.Console;

namespace Fos.Cli;

/// <summary>
/// <c>fos boot</c>: boots a one-machine fos on this host (naming, layout, processes and the file
/// system), shows the layout, and opens the shell; with <c>--headless</c> it stays up without one
/// until <c>fos stop</c> or a signal.
/// </summary>
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
        var data = DataOption.Create();
        var engine = new Option<StoreEngine>("--engine")
        {
            Description = "the storage engine behind the file system",
            DefaultValueFactory = _ => StoreEngine.RocksDb,
        };
        var quota = new Option<long?>("--fs-quota-mb")
        {
            Description = "the most file data each file-system member may hold, in MiB (default: no limit); past it, writes fail with ENOSPC",
        };
        quota.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long?>() is { } q && (q < 1 || q > 1L << 30)) r.AddError("--fs-quota-mb must be between 1 and 1073741824");
        });
        var headless = new Option<bool>("--headless") { Description = "stay up without a shell (for scripts and services): stop with fos stop or SIGTERM" };
        var listen = new Option<string?>("--listen")
        {
            Description = "HOST:PORT where other machines reach this one; without --join, the first boot makes a new cluster here",
        };
        var join = new Option<string?>("--join") { Description = "HOST:PORT of the machine that made a cluster: join it (with --token and --listen)" };
        var token = new Option<string?>("--token") { Description = "the join token (fos cluster token on the machine that made the cluster)" };
        var command = new Command("boot", "Boot fos on this host, show its layout and open its shell")
        {
            cores,
            machine,
            spin,
            data,
            engine,
            quota,
            headless,
            listen,
            join,
            token,
        };
        command.SetAction(result => Run(new MachineOptions
        {
            Cores = result.GetValue(cores),
            MachineId = (ushort)result.GetValue(machine),
            SpinBeforePark = result.GetValue(spin) is { } us ? TimeSpan.FromMicroseconds(us) : null,
            DataDirectory = Path.GetFullPath(result.GetValue(data)!),
            StoreEngine = result.GetValue(engine),
        }, result.GetValue(quota) is { } mb ? mb << 20 : long.MaxValue, result.GetValue(headless),
            (result.GetValue(listen), result.GetValue(join), result.GetValue(token), result.GetResult(machine) is { Implicit: false })));
        return command;
    }

    private static async Task<int> Run(MachineOptions options, long quotaBytes, bool headless,
        (string? Listen, string? Join, string? Token, bool MachineGiven) cluster)
    {
        // SIGTERM stops the node cleanly, even one that is still booting; a second one, while it
        // stops, ends the process at once. Ctrl+C does the same while it boots and when headless;
        // at the shell's prompt it does what it does in bash: it kills the program running, or
        // gives a fresh prompt, and the node stops only on exit, fos stop or SIGTERM.
        var signalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var prompt = new Prompt();
        void OnSignal(PosixSignalContext context) => context.Cancel = signalled.TrySetResult();
        void OnInterrupt(PosixSignalContext context)
        {
            if (!prompt.Open)
            {
                OnSignal(context);
                return;
            }
            context.Cancel = true;
            if (prompt.Running is { } running) running.Interrupt();
            else Console.Write("\nfos> ");
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnInterrupt);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        NodeHost node;
        try
        {
            void Say(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
            var plan = await ClusterSetup.Prepare(options.DataDirectory!, cluster.Listen, cluster.Join, cluster.Token, Say);
            if (plan is not null)
            {
                if (cluster.MachineGiven && options.MachineId != plan.Identity.Machine)
                    throw new ArgumentException($"--machine {options.MachineId}: this data directory is m{plan.Identity.Machine} of its cluster (its certificate says so)");
                options = options with { MachineId = plan.Identity.Machine, Identity = plan.Identity, Authority = plan.Authority, Listen = plan.Listen };
            }
            node = await NodeHost.Start(options, quotaBytes, plan, Say);
        }
        catch (Exception ex) when (ex is ArgumentException or JoinRefusedException)
        {
            await Console.Error.WriteLineAsync($"fos boot: {ex.Message}");
            return 1;
        }
        catch (Exception ex)
        {
            var known = ex is FosException or IOException or UnauthorizedAccessException;
            await Console.Error.WriteLineAsync($"fos boot: {(known ? "" : $"unexpected failure: {ex.GetType().Name}: ")}{ex.Message}");
            return 1;
        }
        await using (node)
        {
            _ = signalled.Task.ContinueWith(_ => node.RequestStop(), TaskScheduler.Default);
            Layout.Print(node.Machine, await SystemBoot.Layout(node.Machine));
            AnsiConsole.MarkupLine($"[green]fos is up[/] on {node.Machine.CoreCount} cores, data in {Markup.Escape(options.DataDirectory!)}.");
            // Said once: whether applications run behind the sandbox's walls, and if not, why.
            var sandbox = node.Machine.Sandbox;
            AnsiConsole.MarkupLine(sandbox.Available
                ? "Applications run sandboxed: each its own process, no host writes, no network, no other processes in sight."
                : $"[yellow]warning:[/] {Markup.Escape(sandbox.Unavailable!)}.");
            if (headless)
            {
                AnsiConsole.MarkupLine("Headless: attach with [bold]fos shell[/], stop with [bold]fos stop[/] or Ctrl+C.");
                await node.StopRequested;
            }
            else
            {
                AnsiConsole.MarkupLine("Type [bold]help[/] for the commands, [bold]exit[/] to stop fos.");
                await Repl(node, prompt);
            }
            AnsiConsole.MarkupLine("stopping fos…");
        }
        AnsiConsole.MarkupLine("fos stopped.");
        return node.Machine.LeftStoresOpen ? 1 : 0;
    }

    /// <summary>The shell on this terminal: a line at a time until exit, end of input, or a stop from elsewhere.</summary>
    private static async Task Repl(NodeHost node, Prompt prompt)
    {
        var interactive = !Console.IsInputRedirected;
        prompt.Open = interactive;
        await using var stdout = Console.OpenStandardOutput(); // bytes as the commands make them: cat of a binary file stays exact
        while (!node.StopRequested.IsCompleted)
        {
            if (interactive) Console.Write("fos> ");
            // Console.In reads synchronously even through ReadLineAsync: read on a thread of its own,
            // so a stop (a signal, fos stop) is seen while the prompt waits.
            var read = Task.Factory.StartNew(Console.In.ReadLine, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (await Task.WhenAny(read, node.StopRequested) != read) return;
            var line = await read;
            if (line is null || line.Trim() is "exit" or "quit" or "stop") return;
            if (interactive && line.Trim() == "top")
            {
                await LiveTop(node);
                continue;
            }
            foreach (var command in Shell.Commands(line))
            {
                // A stop (a signal, fos stop) does not wait for a command that may never end. A program
                // run here reads an empty input (the prompt keeps the terminal); Ctrl+C kills it.
                var input = new ProgramInput();
                input.Close();
                prompt.Running = input;
                var running = node.Shell.Run(command, Environment.CurrentDirectory, stdout, Console.Error, input);
                var finished = await Task.WhenAny(running, node.StopRequested) == running;
                prompt.Running = null;
                if (!finished) return;
            }
        }
    }

    /// <summary>The interactive prompt, as the Ctrl+C handler sees it: whether it is up, and the command running there.</summary>
    private sealed class Prompt
    {
        private volatile bool open;
        private volatile ProgramInput? running;

        public bool Open
        {
            get => open;
            set => open = value;
        }

        public ProgramInput? Running
        {
            get => running;
            set => running = value;
        }
    }

    /// <summary>top on a terminal: the per-core table, refreshed every second until a key is pressed.</summary>
    private static async Task LiveTop(NodeHost node)
    {
        var table = new Table().AddColumns("core", "msg/s", "handled", "servers");
        await AnsiConsole.Live(table).StartAsync(async context =>
        {
            while (!Console.KeyAvailable && !node.StopRequested.IsCompleted)
            {
                var rows = await node.Shell.SampleTop();
                table.Rows.Clear();
                foreach (var row in rows)
                    table.AddRow(row.Core.ToString(), row.MessagesPerSecond.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                        row.Handled.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(row.Servers));
                table.Caption("press any key to stop");
                context.Refresh();
            }
        });
        while (Console.KeyAvailable) Console.ReadKey(intercept: true);
    }
}
