using System.Diagnostics;
using System.Text;

namespace Fos.Integration.Tests;

/// <summary>The real <c>fos</c> command as a child process, with its output captured line by line.</summary>
public sealed class FosCommand : IAsyncDisposable
{
    private readonly Process process;
    private readonly List<string> stdout = [];
    private readonly StringBuilder stderr = new();
    private readonly TaskCompletionSource exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource newLine = new(TaskCreationOptions.RunContinuationsAsynchronously); // completed by each line of stdout

    /// <summary>How to start fos beyond its arguments.</summary>
    public sealed record Setup
    {
        /// <summary>What to type on its standard input; null for nothing.</summary>
        public string? Input { get; init; }

        /// <summary>Leave standard input open after <see cref="Input"/>, as a terminal would.</summary>
        public bool KeepInputOpen { get; init; }

        /// <summary>Environment variables to set (or, with a null value, remove).</summary>
        public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

        /// <summary>Run as this user and group id (through setpriv; the tests must run as root).</summary>
        public int? AsUser { get; init; }

        /// <summary>A command that runs fos (for example <c>ip netns exec NAME</c>: fos on another host).</summary>
        public IReadOnlyList<string> Within { get; init; } = [];
    }

    private FosCommand(IEnumerable<string> args, Setup setup)
    {
        process = new Process { StartInfo = StartInfo(args, setup), EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            TaskCompletionSource arrived;
            lock (stdout)
            {
                stdout.Add(e.Data);
                arrived = newLine;
                newLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            arrived.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
        };
        process.Exited += (_, _) => exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // What a user would type; a command that reads its input sees it end here (unless kept open).
        if (setup.Input is not null) process.StandardInput.Write(setup.Input);
        if (setup.KeepInputOpen) process.StandardInput.Flush();
        else process.StandardInput.Close();
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args, Setup setup)
    {
        var fos = Path.Combine(AppContext.BaseDirectory, "fos.dll");
        if (!File.Exists(fos)) throw new FileNotFoundException("fos.dll was not built next to the tests", fos);
        var start = new ProcessStartInfo(setup.Within.Count > 0 ? setup.Within[0] : setup.AsUser is null ? "dotnet" : "setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (setup.Within.Count > 0)
        {
            if (setup.AsUser is not null) throw new ArgumentException("Within and AsUser do not go together", nameof(setup));
            foreach (var arg in setup.Within.Skip(1)) start.ArgumentList.Add(arg);
            start.ArgumentList.Add("dotnet");
        }
        if (setup.AsUser is { } user)
        {
            foreach (var arg in new[] { $"--reuid={user}", $"--regid={user}", "--clear-groups", "dotnet" }) start.ArgumentList.Add(arg);
            start.Environment["HOME"] = "/tmp";
            start.Environment["DOTNET_CLI_HOME"] = "/tmp";
        }
        start.ArgumentList.Add(fos);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["NO_COLOR"] = "1";
        start.Environment["COLUMNS"] = "200";
        start.Environment["XDG_RUNTIME_DIR"] = Runtime.Value;
        foreach (var (name, value) in setup.Environment)
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        return start;
    }

    /// <summary>Runs fos to its end and returns its exit code, its standard output byte for byte, and its errors.</summary>
    public static async Task<(int ExitCode, byte[] Stdout, string Stderr)> RunBytes(params string[] args)
    {
        using var process = Process.Start(StartInfo(args, new Setup())) ?? throw new InvalidOperationException("fos did not start");
        process.StandardInput.Close();
        var stdout = new MemoryStream();
        var copied = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(Deadline);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"fos did not exit within {Deadline.TotalSeconds:0} s");
        }
        await copied;
        return (process.ExitCode, stdout.ToArray(), await stderr);
    }

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The runtime directory every fos of this test run keeps its sockets in (unless a test sets
    /// its own), so that the sockets of nodes a test kills go with it instead of piling up in the
    /// user's own runtime directory.
    /// </summary>
    private static readonly Lazy<string> Runtime = new(() =>
    {
        var directory = Path.Combine(Path.GetTempPath(), $"fos-tests-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(directory, recursive: true);
        return directory;
    });

    public static FosCommand Start(params string[] args) => new(args, new Setup());

    public static FosCommand Start(Setup setup, params string[] args) => new(args, setup);

    /// <summary>Starts fos with <paramref name="input"/> on its standard input, then end of input.</summary>
    public static FosCommand StartWithInput(string input, params string[] args) => new(args, new Setup { Input = input });

    /// <summary>Runs fos to its end and returns its exit code and output.</summary>
    public static Task<(int ExitCode, IReadOnlyList<string> Stdout, string Stderr)> Run(params string[] args) => Run(new Setup(), args);

    public static async Task<(int ExitCode, IReadOnlyList<string> Stdout, string Stderr)> Run(Setup setup, params string[] args)
    {
        await using var fos = Start(setup, args);
        var code = await fos.WaitForExit(Deadline);
        return (code, fos.Stdout, fos.Stderr);
    }

    public int Pid => process.Id;

    public IReadOnlyList<string> Stdout
    {
        get { lock (stdout) return [.. stdout]; }
    }

    public string Stderr
    {
        get { lock (stderr) return stderr.ToString(); }
    }

    /// <summary>Waits until a line of stdout contains <paramref name="text"/>; fails with the output so far.</summary>
    public async Task<string> WaitForLine(string text, TimeSpan deadline)
    {
        using var cancel = new CancellationTokenSource(deadline);
        while (true)
        {
            Task next;
            lock (stdout)
            {
                var found = stdout.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
                if (found is not null) return found;
                next = newLine.Task;
            }
            if (exited.Task.IsCompleted)
            {
                await process.WaitForExitAsync(); // the readers have delivered every line by now
                return Stdout.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal))
                    ?? throw new InvalidOperationException($"fos exited ({process.ExitCode}) without printing '{text}'.\n{Describe()}");
            }
            try
            {
                await Task.WhenAny(next, exited.Task).WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"fos did not print '{text}' within {deadline.TotalSeconds:0} s.\n{Describe()}");
            }
        }
    }

    public async Task<int> WaitForExit(TimeSpan deadline)
    {
        using var cancel = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"fos did not exit within {deadline.TotalSeconds:0} s.\n{Describe()}");
        }
        return process.ExitCode;
    }

    /// <summary>Sends a signal, as a service manager or the shell's Ctrl+C would.</summary>
    public void Signal(int signal)
    {
        if (Kill(process.Id, signal) != 0) throw new InvalidOperationException($"kill({process.Id}, {signal}) failed");
    }

    /// <summary>The tests' user is root and setpriv is there, so a fos can be run as another user.</summary>
    public static bool CanRunAsAnotherUser => geteuid() == 0 && File.Exists("/usr/bin/setpriv");

    /// <summary>nobody: a user that owns nothing the tests make.</summary>
    public const int Nobody = 65534;

    /// <summary>Checks that a failed fos said why in one line of its own, not with a stack trace.</summary>
    public static void AssertOneClearLine(string stderr, string command, string says)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{stderr}");
        Assert.StartsWith($"fos {command}: ", lines[0]);
        Assert.Contains(says, lines[0], StringComparison.Ordinal);
    }

    public const int SigInt = 2;
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint geteuid();

    private string Describe() => $"stdout:\n{string.Join('\n', Stdout)}\nstderr:\n{Stderr}";

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
