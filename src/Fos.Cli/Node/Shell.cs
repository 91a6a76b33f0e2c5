using System.Globalization;
using System.Text;
using Fos.Kernel;
using Fos.Kernel.Naming;
using Fos.Runtime;
using Fos.Services;
using Fos.Services.FileSystem;
using Fos.Services.Layout;
using Fos.Services.Processes;
using Fos.Sys;

namespace Fos.Cli.Node;

/// <summary>
/// The fos shell's commands, run inside the node. Each command runs as code on the node's first
/// core, through the system-call library like any application; host files (put, get, run) are
/// read and written here, on the host side. A command prints to <paramref name="output"/> and
/// <paramref name="error"/> and returns its status; a wrong command prints one line and returns 1.
/// </summary>
internal sealed class Shell(Machine machine, SystemLayout layout)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(10);

    public const string Help = """
        ls [PATH]             list a directory (default /)
        cat PATH              print a file
        put HOSTFILE PATH     copy a file from the host into fos
        get PATH HOSTFILE     copy a file from fos to the host
        mkdir PATH            make a directory and its parents
        rm [-r] PATH          remove a file, or a directory (-r: with everything in it)
        mv FROM TO            rename a file or directory
        stat PATH             kind, size, inode and version
        ps                    every process: pid, name, core, state, system calls
        run APP.DLL [ARGS]    run a fos application and wait for it
        kill PID              end a process
        names [PREFIX]        the naming service's names and their members
        fleets                the system's fleets and their members
        layout                which server runs on which core
        top                   per-core message rates and servers (live on a terminal: any key ends it)
        help                  this list
        """;

    /// <summary>Runs one command line; <paramref name="hostDirectory"/> resolves relative host paths.</summary>
    public async Task<int> Run(string line, string hostDirectory, TextWriter output, TextWriter error)
    {
        string[] words;
        try
        {
            words = Words(line);
        }
        catch (FormatException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }
        if (words.Length == 0) return 0;
        try
        {
            return await Dispatch(words[0], words[1..], hostDirectory, output, error);
        }
        catch (Exception ex) when (ex is FosIOException or FosException or IOException or UnauthorizedAccessException
            or BadImageFormatException or ArgumentException or TimeoutException)
        {
            await error.WriteLineAsync($"{words[0]}: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failure nobody foresaw is still one line, and the shell goes on.
            await error.WriteLineAsync($"{words[0]}: unexpected {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
    }

    private async Task<int> Dispatch(string command, string[] args, string cwd, TextWriter output, TextWriter error)
    {
        switch (command)
        {
            case "help":
                await output.WriteLineAsync(Help);
                return 0;
            case "ls":
            {
                var path = Arg(args, 0, "/", max: 1);
                var entries = await OnFos(() => FosDirectory.EntriesAsync(path));
                foreach (var e in entries) await output.WriteLineAsync(e.Kind == FsNodeKind.Directory ? e.Name + "/" : e.Name);
                return 0;
            }
            case "cat":
            {
                var bytes = await OnFos(() => FosFile.ReadAllBytesAsync(Need(args, 0, "cat PATH", max: 1)));
                await output.WriteAsync(Encoding.UTF8.GetString(bytes));
                return 0;
            }
            case "put":
            {
                var host = Path.GetFullPath(Need(args, 0, "put HOSTFILE PATH", max: 2), cwd);
                var target = Need(args, 1, "put HOSTFILE PATH", max: 2);
                var bytes = await File.ReadAllBytesAsync(host);
                await OnFos(async () =>
                {
                    await FosFile.WriteAllBytesAsync(target, bytes);
                    return true;
                });
                await output.WriteLineAsync($"{bytes.Length} bytes to {target}");
                return 0;
            }
            case "get":
            {
                var source = Need(args, 0, "get PATH HOSTFILE", max: 2);
                var host = Path.GetFullPath(Need(args, 1, "get PATH HOSTFILE", max: 2), cwd);
                var bytes = await OnFos(() => FosFile.ReadAllBytesAsync(source));
                await File.WriteAllBytesAsync(host, bytes);
                await output.WriteLineAsync($"{bytes.Length} bytes to {host}");
                return 0;
            }
            case "mkdir":
            {
                var path = Need(args, 0, "mkdir PATH", max: 1);
                await OnFos(async () =>
                {
                    await FosDirectory.CreateDirectoryAsync(path);
                    return true;
                });
                return 0;
            }
            case "rm":
            {
                var recursive = args.Length > 0 && args[0] == "-r";
                var path = Need(recursive ? args[1..] : args, 0, "rm [-r] PATH", max: 1);
                await OnFos(async () =>
                {
                    var stat = await FosPosix.Stat(path);
                    if (stat.Kind == FsNodeKind.Directory) await FosDirectory.DeleteAsync(path, recursive);
                    else await FosPosix.Unlink(path);
                    return true;
                });
                return 0;
            }
            case "mv":
            {
                var from = Need(args, 0, "mv FROM TO", max: 2);
                var to = Need(args, 1, "mv FROM TO", max: 2);
                await OnFos(async () =>
                {
                    await FosPosix.Rename(from, to);
                    return true;
                });
                return 0;
            }
            case "stat":
            {
                var a = await OnFos(() => FosPosix.Stat(Need(args, 0, "stat PATH", max: 1)));
                await output.WriteLineAsync($"{(a.Kind == FsNodeKind.Directory ? "directory" : "file")}  size {a.Size}  inode {a.Inode}  version {a.Version}");
                return 0;
            }
            case "ps":
            {
                NoArgs(args, "ps");
                var list = await OnFos(FosProcess.ListAsync);
                await output.WriteLineAsync($"{"PID",6}  {"NAME",-16} {"CORE",-7} {"STATE",-8} {"EXIT",4}  CALLS");
                foreach (var p in list)
                    await output.WriteLineAsync($"{p.Pid,6}  {p.Name,-16} {p.Core,-7} {p.State.ToString().ToLowerInvariant(),-8} {p.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-",4}  {p.SystemCalls}");
                return 0;
            }
            case "run":
            {
                var app = Path.GetFullPath(Need(args, 0, "run APP.DLL [ARGS]", max: int.MaxValue), cwd);
                var program = AssemblyPrograms.Load(app);
                var exit = await OnFos(async () => await FosProcess.WaitAsync(await FosProcess.StartAsync(program, args[1..])));
                await output.WriteAsync(exit.Output);
                await error.WriteAsync(exit.Error);
                return exit.ExitCode;
            }
            case "kill":
            {
                var text = Need(args, 0, "kill PID", max: 1);
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                    throw new ArgumentException($"'{text}' is not a pid (a positive number, as ps shows)");
                await OnFos(async () =>
                {
                    await FosProcess.KillAsync(pid);
                    return true;
                });
                return 0;
            }
            case "names":
            {
                var prefix = Arg(args, 0, "/", max: 1);
                var listing = await OnFos(() => KernelContext.Current.Call<NameListing>(WellKnownNames.NameService, new NameList(prefix)));
                foreach (var record in listing.Names) await output.WriteLineAsync($"{record.Name,-14} v{record.Version,-4} {string.Join(", ", record.Members)}");
                return 0;
            }
            case "fleets":
            {
                NoArgs(args, "fleets");
                var listing = await OnFos(() => KernelContext.Current.Call<NameListing>(WellKnownNames.NameService, new NameList("/sys/")));
                foreach (var record in listing.Names)
                    await output.WriteLineAsync($"{record.Name,-12} {record.Members.Length} member{(record.Members.Length == 1 ? "" : "s")}: {string.Join(", ", record.Members.Select(m => m.Address.CoreId))}");
                return 0;
            }
            case "layout":
            {
                NoArgs(args, "layout");
                var table = await OnFos(() => KernelContext.Current.Call<LayoutCore[]>(WellKnownNames.Layout, new LayoutTable()));
                var rows = await SystemBoot.Layout(machine);
                foreach (var core in table)
                {
                    var servers = rows.Where(r => r.Core == core.Core).Select(r => r.Server).ToList();
                    await output.WriteLineAsync($"{core.Core,-7} {core.Role,-20} apps {core.Applications}  {string.Join(", ", servers)}");
                }
                return 0;
            }
            case "top":
            {
                NoArgs(args, "top");
                await Top(output);
                return 0;
            }
            default:
                await error.WriteLineAsync($"{command}: no such command (type help for the list)");
                return 127;
        }
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

    private async Task Top(TextWriter output)
    {
        await output.WriteLineAsync($"{"CORE",-7} {"MSG/S",10} {"HANDLED",10}  SERVERS");
        foreach (var row in await SampleTop())
            await output.WriteLineAsync($"{row.Core,-7} {row.MessagesPerSecond,10} {row.Handled,10}  {row.Servers}");
    }

    private async Task<Dictionary<CoreId, long>> Delivered()
    {
        var result = new Dictionary<CoreId, long>();
        foreach (var core in machine.Cores)
            result[core] = await machine.Execute(core, k => Task.FromResult(k.Stats.Delivered), Deadline);
        return result;
    }

    /// <summary>Runs shell work as code on the first system core, through Fos.Sys.</summary>
    private Task<T> OnFos<T>(Func<Task<T>> work) => machine.Execute(layout.SystemCores[0], _ => work(), Deadline);

    private static string Need(string[] args, int index, string usage, int max)
    {
        if (args.Length > max) throw new ArgumentException($"too many arguments; usage: {usage}");
        return index < args.Length ? args[index] : throw new ArgumentException($"missing argument; usage: {usage}");
    }

    private static string Arg(string[] args, int index, string fallback, int max)
    {
        if (args.Length > max) throw new ArgumentException("too many arguments");
        return index < args.Length ? args[index] : fallback;
    }

    private static void NoArgs(string[] args, string command)
    {
        if (args.Length > 0) throw new ArgumentException($"{command} takes no arguments");
    }

    /// <summary>Splits a command line into words; double or single quotes keep spaces.</summary>
    public static string[] Words(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        char? quote = null;
        foreach (var c in line)
        {
            if (quote is { } q)
            {
                if (c == q) quote = null;
                else current.Append(c);
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(current.ToString());
                current.Clear();
                inWord = false;
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }
        if (quote is not null) throw new FormatException($"unclosed {quote} quote");
        if (inWord) words.Add(current.ToString());
        return [.. words];
    }

    /// <summary>Splits "cmd; cmd" into commands (a ';' inside quotes stays).</summary>
    public static IEnumerable<string> Commands(string script)
    {
        var current = new StringBuilder();
        char? quote = null;
        foreach (var c in script)
        {
            if (quote is { } q && c == q) quote = null;
            else if (quote is null && c is '"' or '\'') quote = c;
            else if (quote is null && c is ';' or '\n')
            {
                yield return current.ToString();
                current.Clear();
                continue;
            }
            current.Append(c);
        }
        yield return current.ToString();
    }
}
