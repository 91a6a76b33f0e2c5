using System.Globalization;
using System.Text;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Protocols.FileSystem;
using Fos.Protocols.Layout;
using Fos.Protocols.Proxy;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.Processes;
using Fos.Sys;

namespace Fos.Cli.Node;

/// <summary>
/// The fos shell's commands, run inside the node. Each command runs as code on the node's first
/// core, through the system-call library like any application; host files (put, get, run) are
/// read and written here, on the host side. A command writes bytes to its output and lines to
/// its errors and returns its status, as coreutils do: 0, 1 for a failure (one line each), 2 for
/// a command called wrongly, 127 for no such command. The file commands are in ShellFiles.cs,
/// the reading of command lines in ShellWords.cs, paths in ShellPaths.cs, messages in ShellErrors.cs.
/// </summary>
internal sealed partial class Shell(Machine machine, SystemLayout layout)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    /// <summary>Every command: its usage and what it does (the help text is made from this table).</summary>
    private static readonly (string Name, string Usage, string Does)[] Table =
    [
        ("ls", "ls [PATH]...", "list directories (default /); a file is listed by its name"),
        ("cat", "cat PATH...", "write files to the output byte for byte, one after another"),
        ("put", "put HOSTFILE PATH", "copy a host file into fos (a failed put leaves nothing behind)"),
        ("get", "get PATH HOSTFILE", "copy a fos file to the host"),
        ("mkdir", "mkdir [-p] PATH...", "make directories (-p: with their parents; one that exists is fine)"),
        ("rm", "rm [-rf] PATH...", "remove files; -r: directories with all in them; -f: missing is fine"),
        ("rmdir", "rmdir PATH...", "remove empty directories"),
        ("mv", "mv FROM TO | FROM... DIR", "rename, or move into a directory"),
        ("stat", "stat PATH...", "kind, size, inode and version"),
        ("ps", "ps", "every process: fos pid, host pid, name, core, state, messages sent"),
        ("run", "run [--machine M] APP.DLL [ARG]...", "run a fos application (on machine M, else the least busy) and wait for it"),
        ("kill", "kill PID", "end a process"),
        ("names", "names [PREFIX]", "the naming service's names and their members"),
        ("fleets", "fleets", "the system's fleets and their members"),
        ("layout", "layout", "which server runs on which core"),
        ("top", "top", "per-core message rates and servers (live on a terminal: any key ends it)"),
        ("status", "status", "this machine and every machine of its cluster: address, link state, round trip"),
        ("help", "help", "this list"),
    ];

    public static string Help { get; } = string.Join('\n', Table.Select(c => $"{c.Usage,-24}  {c.Does}")) + """


        fos paths start with '/': the shell has no current directory. '.' and '..' are resolved
        as written (/a/../b is /b), and a path that ends in '/' must be a directory. rm -r / is
        refused unless given --no-preserve-root (then it empties the root). Words split as in sh:
        '…' and "…" quote, a backslash escapes the next character, ';' separates commands.
        A failure is one line on stderr and status 1 (2: a command called wrongly).
        """;

    /// <summary>
    /// Runs a command line (commands separated by ';' or newlines) and returns the last one's
    /// status; <paramref name="hostDirectory"/> resolves relative host paths. Output goes to
    /// <paramref name="output"/> as bytes, exactly as the commands make them.
    /// </summary>
    /// <param name="input">The standard input and Ctrl+C for a program the line runs; null: none (its input is empty).</param>
    public async Task<int> Run(string line, string hostDirectory, Stream output, TextWriter error, ProgramInput? input = null)
    {
        var status = 0;
        foreach (var command in Commands(line))
        {
            string[] words;
            try
            {
                words = Words(command);
            }
            catch (FormatException ex)
            {
                await error.WriteLineAsync($"fos: {ex.Message}");
                status = 2;
                continue;
            }
            if (words.Length == 0) continue;
            await using var call = new Call(words[0], hostDirectory, output, error, input);
            status = await RunOne(call, words[1..]);
        }
        return status;
    }

    private async Task<int> RunOne(Call call, string[] args)
    {
        if (!Table.Any(c => c.Name == call.Name))
        {
            await call.Error.WriteLineAsync($"{call.Name}: no such command (type help for the list)");
            return 127;
        }
        try
        {
            return await Dispatch(call, args);
        }
        catch (UsageError ex)
        {
            return await call.Fail($"{ex.Message} (usage: {Table.First(c => c.Name == call.Name).Usage})", status: 2);
        }
        catch (ShellFailure ex)
        {
            return await call.Fail(ex.Message);
        }
        catch (Exception ex) when (ShellErrors.Reason(ex) is { } reason)
        {
            return await call.Fail(reason);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failure nobody foresaw is still one line, and the shell goes on.
            return await call.Fail($"unexpected {ex.GetType().Name}: {ex.Message}");
        }
    }

    private Task<int> Dispatch(Call call, string[] args) => call.Name switch
    {
        "help" => Say(call, Operands(Parse(args), 0, 0), Help),
        "ls" => List(call, Parse(args)),
        "cat" => Cat(call, Operands(Parse(args), 1, int.MaxValue)),
        "put" => Put(call, Operands(Parse(args), 2, 2)),
        "get" => Get(call, Operands(Parse(args), 2, 2)),
        "mkdir" => MakeDirectories(call, Parse(args, "p", ("--parents", "p"))),
        "rm" => Remove(call, Parse(args, "rRf", ("--recursive", "r"), ("--force", "f"), ("--no-preserve-root", "no-preserve-root"), ("--preserve-root", "preserve-root"))),
        "rmdir" => RemoveDirectories(call, Operands(Parse(args), 1, int.MaxValue)),
        "mv" => Move(call, Operands(Parse(args), 2, int.MaxValue)),
        "stat" => Stat(call, Operands(Parse(args), 1, int.MaxValue)),
        "ps" => Processes(call, Operands(Parse(args), 0, 0)),
        "run" => RunProgram(call, args.Length > 0 ? args : throw new UsageError("missing operand")),
        "kill" => Kill(call, Operands(Parse(args), 1, 1)[0]),
        "names" => Names(call, Operands(Parse(args), 0, 1) is [var prefix] ? prefix : "/"),
        "fleets" => Fleets(call, Operands(Parse(args), 0, 0)),
        "layout" => Layout(call, Operands(Parse(args), 0, 0)),
        "top" => Top(call, Operands(Parse(args), 0, 0)),
        "status" => Status(call, Operands(Parse(args), 0, 0)),
        _ => throw new InvalidOperationException($"{call.Name} is in the table but not dispatched"),
    };

    private static async Task<int> Say(Call call, string[] _, string text)
    {
        await call.Out.WriteLineAsync(text);
        return 0;
    }

    /// <summary>A command's flags and operands, as GNU tools take them: flags anywhere before "--", "-rf" is "-r -f".</summary>
    private sealed record Arguments(HashSet<string> Flags, List<string> Operands)
    {
        public bool Has(string flag) => Flags.Contains(flag);
    }

    private static Arguments Parse(string[] args, string shortFlags = "", params (string Long, string Flag)[] longFlags)
    {
        var flags = new HashSet<string>();
        var operands = new List<string>();
        var onlyOperands = false;
        foreach (var arg in args)
        {
            if (onlyOperands || arg.Length < 2 || arg[0] != '-') operands.Add(arg);
            else if (arg == "--") onlyOperands = true;
            else if (arg.StartsWith("--", StringComparison.Ordinal))
                flags.Add(longFlags.FirstOrDefault(l => l.Long == arg).Flag ?? throw new UsageError($"unrecognized option '{arg}'"));
            else
            {
                foreach (var c in arg[1..])
                    flags.Add(shortFlags.Contains(c, StringComparison.Ordinal) ? c.ToString() : throw new UsageError($"invalid option -- '{c}'"));
            }
        }
        return new(flags, operands);
    }

    private static string[] Operands(Arguments args, int min, int max)
    {
        if (args.Operands.Count < min) throw new UsageError(args.Operands.Count == 0 ? "missing operand" : $"missing operand after '{args.Operands[^1]}'");
        if (args.Operands.Count > max) throw new UsageError($"extra operand '{args.Operands[max]}'");
        return [.. args.Operands];
    }

    /// <summary>Runs shell work as code on the first system core, through Fos.Sys.</summary>
    private Task<T> OnFos<T>(Func<Task<T>> work) => machine.Execute(layout.SystemCores[0], _ => work(), Deadline);

    private Task OnFos(Func<Task> work) => OnFos(async () =>
    {
        await work();
        return true;
    });

    private async Task<int> Processes(Call call, string[] _)
    {
        var list = await OnFos(FosProcess.ListAsync);
        await call.Out.WriteLineAsync($"{"PID",6} {"HOSTPID",8}  {"NAME",-16} {"CORE",-7} {"STATE",-8} {"EXIT",4}  CALLS");
        foreach (var p in list)
            await call.Out.WriteLineAsync($"{p.Pid,6} {(p.HostPid == 0 ? "-" : p.HostPid.ToString(CultureInfo.InvariantCulture)),8}  {p.Name,-16} {p.Core,-7} {p.State.ToString().ToLowerInvariant(),-8} {p.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-",4}  {p.SystemCalls}");
        return 0;
    }

    /// <summary>
    /// Runs an application in a process of its own and streams what it writes as it writes it; the
    /// status is the program's (137 when killed, as a shell reports SIGKILL).
    /// </summary>
    private async Task<int> RunProgram(Call call, string[] args)
    {
        var (on, rest) = MachineOption(args);
        var app = Path.GetFullPath(rest[0], call.HostDirectory);
        // A program for another machine is that machine's file: it says when there is none.
        if ((on is null || on == machine.Cores[0].Machine) && !File.Exists(app)) throw new ShellFailure(ShellErrors.Line(null, rest[0], ShellErrors.Strerror(Errno.ENOENT)));
        long pid;
        try
        {
            pid = await OnFos(() => FosProcess.StartAsync(app, rest[1..], machine: on));
        }
        catch (FosIOException ex) when (ex.Errno is Errno.ENOEXEC or Errno.EACCES or Errno.EISDIR)
        {
            // The machine's reason names the file and says what would run.
            throw new ShellFailure(ex.Message[(ex.Errno.ToString().Length + 2)..]);
        }
        var output = await call.Bytes();
        using var stop = new CancellationTokenSource();
        var feeding = Feed(pid, call.Input, stop.Token);
        await using var killing = call.Input?.Interrupted.Register(() => _ = OnFos(() => FosProcess.KillAsync(pid)));
        var from = 0L;
        while (true)
        {
            // Each read waits until the program writes or ends, however long that takes.
            var page = await machine.Execute(layout.SystemCores[0], _ => FosProcess.ReadOutputAsync(pid, from));
            foreach (var chunk in page.Chunks)
            {
                if (chunk.Error) await call.Error.WriteAsync(Encoding.UTF8.GetString(chunk.Bytes));
                else await output.WriteAsync(chunk.Bytes);
            }
            await output.FlushAsync();
            await call.Error.FlushAsync();
            from = page.Next;
            if (page.Exit is not { } exit) continue;
            await stop.CancelAsync();
            await feeding;
            call.Input?.Close(); // input still on its way is dropped, as a pipe's after its reader ended
            return exit.ExitCode;
        }
    }

    /// <summary><c>--machine M</c> (or <c>-m M</c>, <c>--machine=M</c>; M as <c>2</c> or <c>m2</c>) before the program → the machine and the words after it.</summary>
    private static (ushort? Machine, string[] Words) MachineOption(string[] args)
    {
        string? value = null;
        var rest = args;
        if (args.Length > 0 && args[0].StartsWith("--machine=", StringComparison.Ordinal)) (value, rest) = (args[0]["--machine=".Length..], args[1..]);
        else if (args.Length > 0 && args[0] is "--machine" or "-m")
            (value, rest) = args.Length > 1 ? (args[1], args[2..]) : throw new UsageError($"{args[0]} needs a machine (as fos status shows it, e.g. m2)");
        if (rest.Length == 0) throw new UsageError("missing operand");
        if (value is null) return (null, rest);
        var number = value.StartsWith('m') ? value[1..] : value;
        return ushort.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var machine) && machine > 0 ? (machine, rest)
            : throw new UsageError($"'{value}' is not a machine (as fos status shows them: m1, m2, ...)");
    }

    /// <summary>The program's standard input: what the caller gives, as it comes, then its end; without a caller, the end at once.</summary>
    private async Task Feed(long pid, ProgramInput? input, CancellationToken stop)
    {
        try
        {
            while (input is not null && await input.Read(stop) is { } bytes)
                await OnFos(() => FosProcess.WriteInputAsync(pid, bytes));
            await OnFos(() => FosProcess.WriteInputAsync(pid, ReadOnlyMemory<byte>.Empty, close: true));
        }
        catch (Exception ex) when (ex is OperationCanceledException or FosIOException)
        {
            // The program ended (EPIPE) or stopped reading: what it did not take is dropped, as with a pipe.
        }
    }

    private async Task<int> Kill(Call call, string text)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            throw new UsageError($"'{text}' is not a pid (a positive number, as ps shows)");
        await ShellErrors.Doing(null, text, () => OnFos(() => FosProcess.KillAsync(pid)));
        return 0;
    }

    private async Task<int> Names(Call call, string prefix)
    {
        var listing = await OnFos(() => KernelContext.Current.Call<NameListing>(WellKnownNames.NameService, new NameList(prefix)));
        foreach (var record in listing.Names) await call.Out.WriteLineAsync($"{record.Name,-14} v{record.Version,-4} {string.Join(", ", record.Members)}");
        return 0;
    }

    private async Task<int> Fleets(Call call, string[] _)
    {
        var listing = await OnFos(() => KernelContext.Current.Call<NameListing>(WellKnownNames.NameService, new NameList("/sys/")));
        foreach (var record in listing.Names)
            await call.Out.WriteLineAsync($"{record.Name,-12} {record.Members.Length} member{(record.Members.Length == 1 ? "" : "s")}: {string.Join(", ", record.Members.Select(m => m.Address.CoreId))}");
        return 0;
    }

    private async Task<int> Layout(Call call, string[] _)
    {
        var table = await OnFos(() => KernelContext.Current.Call<LayoutCore[]>(WellKnownNames.Layout, new LayoutTable()));
        var rows = await SystemBoot.Layout(machine);
        foreach (var core in table)
        {
            var servers = rows.Where(r => r.Core == core.Core).Select(r => r.Server).ToList();
            await call.Out.WriteLineAsync($"{core.Core,-7} {core.Role,-20} apps {core.Applications}  {string.Join(", ", servers)}");
        }
        return 0;
    }

    /// <summary>This machine, then every machine its proxy knows, as its links see them.</summary>
    private async Task<int> Status(Call call, string[] _)
    {
        var self = machine.Cores[0].Machine;
        var listening = machine.Listening is { } at ? at.ToString() : "-";
        var (links, servers, cores) = await OnFos(async () =>
        {
            ProxyLinks? links = null;
            try
            {
                links = await KernelContext.Current.Call<ProxyLinks>(WellKnownNames.Proxy, new ProxyStatus());
            }
            catch (FosException ex) when (ex.Error == FosError.NoSuchName)
            {
                // Not a cluster.
            }
            return (links, await ServersByMachine(), await CoresByMachine());
        });
        await call.Out.WriteLineAsync($"{"MACHINE",-8} {"ADDRESS",-22} {"STATE",-11} {"RTT",10} {"SENT",10} {"RECEIVED",10} {"RESENT",8} {"CORES",5}  SERVERS");
        await call.Out.WriteLineAsync($"{"m" + self,-8} {listening,-22} {"this",-11} {"-",10} {"-",10} {"-",10} {"-",8} {machine.CoreCount,5}  {servers.GetValueOrDefault(self, "-")}");
        if (links is null)
        {
            await call.Out.WriteLineAsync("this machine is on its own: boot it with --listen to make a cluster, or --join to join one");
            return 0;
        }
        foreach (var link in links.Links)
        {
            var rtt = link.RoundTripNanoseconds == 0 ? "-" : $"{link.RoundTripNanoseconds / 1000.0:0.#} µs";
            var count = cores.TryGetValue(link.Machine, out var n) ? n.ToString(CultureInfo.InvariantCulture) : "-";
            await call.Out.WriteLineAsync(
                $"{"m" + link.Machine,-8} {(link.Address.Length == 0 ? "(inbound)" : link.Address),-22} {link.State,-11} {rtt,10} {link.Sent,10} {link.Received,10} {link.Resent,8} {count,5}  {servers.GetValueOrDefault(link.Machine, "-")}");
        }
        return 0;
    }

    /// <summary>The system's servers each machine runs, by fleet ("fs×2 mem×2 proc name layout proxy"), from the cluster's directory.</summary>
    private static async Task<Dictionary<ushort, string>> ServersByMachine()
    {
        (string Name, string Label)[] fleets =
            [(WellKnownNames.FileSystem, "fs"), (WellKnownNames.Memory, "mem"), (WellKnownNames.Processes, "proc"),
             (WellKnownNames.NameService, "name"), (WellKnownNames.Layout, "layout"), (WellKnownNames.Proxy, "proxy")];
        var byMachine = new SortedDictionary<ushort, List<string>>();
        foreach (var (name, label) in fleets)
        {
            NameRecord record;
            try
            {
                record = await KernelContext.Current.LookupAll(name);
            }
            catch (FosException)
            {
                continue;
            }
            foreach (var group in record.Members.GroupBy(m => m.Address.Machine))
            {
                if (!byMachine.TryGetValue(group.Key, out var labels)) byMachine[group.Key] = labels = [];
                labels.Add(group.Count() == 1 ? label : $"{label}×{group.Count()}");
            }
        }
        return byMachine.ToDictionary(m => m.Key, m => string.Join(' ', m.Value));
    }

    /// <summary>How many cores each machine whose layout answers has.</summary>
    private static async Task<Dictionary<ushort, int>> CoresByMachine()
    {
        var cores = new Dictionary<ushort, int>();
        try
        {
            foreach (var layout in (await KernelContext.Current.LookupAll(WellKnownNames.Layout)).Members)
            {
                try
                {
                    cores[layout.Address.Machine] = (await KernelContext.Current.Call<LayoutCore[]>(layout, new LayoutTable(), TimeSpan.FromSeconds(1))).Length;
                }
                catch (FosException)
                {
                    // Down or cut off: its cores are not known now.
                }
            }
        }
        catch (FosException)
        {
            // No layout service.
        }
        return cores;
    }

    private async Task<int> Top(Call call, string[] _)
    {
        await call.Out.WriteLineAsync($"{"CORE",-7} {"MSG/S",10} {"HANDLED",10}  SERVERS");
        foreach (var row in await SampleTop())
            await call.Out.WriteLineAsync($"{row.Core,-7} {row.MessagesPerSecond,10} {row.Handled,10}  {row.Servers}");
        return 0;
    }

    /// <summary>One row of top: a core, the messages it took per second, and what runs there.</summary>
    public sealed record TopRow(CoreId Core, long MessagesPerSecond, long Handled, string Servers);

    /// <summary>Messages delivered per core over one second, with the servers on each core.</summary>
    public async Task<IReadOnlyList<TopRow>> SampleTop()
    {
        var before = await Delivered();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var after = await Delivered();
        var rows = await SystemBoot.Layout(machine);
        return [.. machine.Cores.Select(core =>
        {
            var here = rows.Where(r => r.Core == core).ToList();
            return new TopRow(core, after[core] - before[core], here.Sum(r => r.MessagesHandled), string.Join(", ", here.Select(r => r.Server)));
        })];
    }

    private async Task<Dictionary<CoreId, long>> Delivered()
    {
        var result = new Dictionary<CoreId, long>();
        foreach (var core in machine.Cores)
            result[core] = await machine.Execute(core, k => Task.FromResult(k.Stats.Delivered), Deadline);
        return result;
    }

    /// <summary>
    /// One command as it runs: its name, its text output (written through to the byte output,
    /// which <see cref="Bytes"/> hands out after flushing the text), and its error lines.
    /// </summary>
    private sealed class Call(string name, string hostDirectory, Stream output, TextWriter error, ProgramInput? input) : IAsyncDisposable
    {
        public string Name { get; } = name;
        public ProgramInput? Input { get; } = input;
        public string HostDirectory { get; } = hostDirectory;
        public TextWriter Error { get; } = error;
        public StreamWriter Out { get; } = new(output, new UTF8Encoding(false), bufferSize: 16 << 10, leaveOpen: true) { NewLine = "\n" };

        /// <summary>The output for bytes, after the text written so far.</summary>
        public async Task<Stream> Bytes()
        {
            await Out.FlushAsync();
            return output;
        }

        /// <summary>Writes "name: line" to the errors; returns <paramref name="status"/>.</summary>
        public async Task<int> Fail(string line, int status = 1)
        {
            await Out.FlushAsync();
            await Error.WriteLineAsync($"{Name}: {line}");
            return status;
        }

        public async ValueTask DisposeAsync()
        {
            await Out.FlushAsync();
            await output.FlushAsync();
            await Out.DisposeAsync();
        }
    }
}
