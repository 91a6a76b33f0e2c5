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

    private FosCommand(IEnumerable<string> args, string? input = null)
    {
        process = new Process { StartInfo = StartInfo(args), EnableRaisingEvents = true };
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
        // What a user would type; a command that reads its input sees it end here.
        if (input is not null) process.StandardInput.Write(input);
        process.StandardInput.Close();
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var fos = Path.Combine(AppContext.BaseDirectory, "fos.dll");
        if (!File.Exists(fos)) throw new FileNotFoundException("fos.dll was not built next to the tests", fos);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(fos);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["NO_COLOR"] = "1";
        start.Environment["COLUMNS"] = "200";
        return start;
    }

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>Runs fos to its end and returns its exit code, its standard output byte for byte, and its errors.</summary>
    public static async Task<(int ExitCode, byte[] Stdout, string Stderr)> RunBytes(params string[] args)
    {
        using var process = Process.Start(StartInfo(args)) ?? throw new InvalidOperationException("fos did not start");
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

    public static FosCommand Start(params string[] args) => new(args);

    /// <summary>Starts fos with <paramref name="input"/> on its standard input, then end of input.</summary>
    public static FosCommand StartWithInput(string input, params string[] args) => new(args, input);

    /// <summary>Runs fos to its end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, IReadOnlyList<string> Stdout, string Stderr)> Run(params string[] args)
    {
        await using var fos = Start(args);
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

    public const int SigInt = 2;
    public const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

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
