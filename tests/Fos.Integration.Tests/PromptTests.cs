using System.Diagnostics;
using System.Text;

namespace Fos.Integration.Tests;

/// <summary>
/// The <c>fos&gt;</c> prompt on a real terminal (a pseudo-terminal made by <c>script</c>), where
/// Ctrl+C is a byte typed into the terminal and the line discipline turns it into SIGINT: it kills
/// the running program, at an empty prompt it gives a fresh one, and neither stops the node.
/// </summary>
public sealed class PromptTests : IAsyncDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-prompt-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly StringBuilder screen = new();
    private TaskCompletionSource shown = new(TaskCreationOptions.RunContinuationsAsynchronously); // completed by each read of the terminal
    private bool ended;
    private Process? terminal;

    private static string Hostile()
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        var (framework, configuration) = (bin.Name, bin.Parent!.Name);
        var tests = bin.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(tests, "Apps", "hostile", "bin", configuration, framework, "hostile.dll");
    }

    [Fact]
    public async Task Ctrl_C_at_the_prompt_kills_the_running_program_and_never_the_node()
    {
        if (!File.Exists("/usr/bin/script")) return; // no way to make a terminal here (util-linux's script)
        var fos = Path.Combine(AppContext.BaseDirectory, "fos.dll");
        // exec: script runs the command through $SHELL -c, and a shell that stays as the parent (dash
        // does) would itself die of the Ctrl+C the terminal sends to its foreground group.
        var boot = $"exec dotnet {fos} boot --cores 3 --data {data}";
        var start = new ProcessStartInfo("/usr/bin/script", ["-qfec", boot, "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment["TERM"] = "dumb";
        start.Environment["XDG_RUNTIME_DIR"] = Path.Combine(data, "run");
        Directory.CreateDirectory(Path.Combine(data, "run"));
        terminal = Process.Start(start)!;
        var reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await terminal.StandardOutput.ReadAsync(buffer)) > 0)
            {
                TaskCompletionSource arrived;
                lock (screen)
                {
                    screen.Append(buffer, 0, read);
                    arrived = shown;
                    shown = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                arrived.TrySetResult();
            }
            lock (screen)
            {
                ended = true; // nothing more will come
                shown.TrySetResult();
            }
        });

        await Until("fos> ", 1);
        await Type($"run {Hostile()} spin\r");
        await Until("spinning", 1);
        await Type("\u0003"); // Ctrl+C
        await Until("fos> ", 2); // the program was killed and the prompt is back
        await Type("\u0003"); // at an empty prompt: a fresh one
        await Until("fos> ", 3);
        await Type("ps\r");
        await Until("killed    137", 1); // the row ps shows for it
        await Type("exit\r");
        using var cancel = new CancellationTokenSource(FosCommand.Deadline);
        await terminal.WaitForExitAsync(cancel.Token);
        await reading.WaitAsync(cancel.Token); // everything it wrote, to the end
        Assert.Equal(0, terminal.ExitCode);
        Assert.Contains("fos stopped", Screen());
    }

    private string Screen()
    {
        lock (screen) return screen.ToString();
    }

    private async Task Type(string keys)
    {
        await terminal!.StandardInput.WriteAsync(keys);
        await terminal.StandardInput.FlushAsync();
    }

    /// <summary>Waits until <paramref name="text"/> has appeared <paramref name="times"/> times on the terminal.</summary>
    private async Task Until(string text, int times)
    {
        using var deadline = new CancellationTokenSource(FosCommand.Deadline);
        while (true)
        {
            Task next;
            string now;
            bool over;
            lock (screen)
            {
                now = screen.ToString();
                next = shown.Task;
                over = ended;
            }
            var count = 0;
            for (var at = now.IndexOf(text, StringComparison.Ordinal); at >= 0; at = now.IndexOf(text, at + text.Length, StringComparison.Ordinal)) count++;
            if (count >= times) return;
            if (over)
                throw new TimeoutException($"'{text}' did not appear {times} times before the terminal ended; it shows:\n{now}");
            try
            {
                await next.WaitAsync(deadline.Token); // the next thing the terminal shows
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"'{text}' did not appear {times} times within {FosCommand.Deadline.TotalSeconds:0} s; the terminal shows:\n{now}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (terminal is { HasExited: false })
        {
            terminal.Kill(entireProcessTree: true);
            await terminal.WaitForExitAsync();
        }
        terminal?.Dispose();
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
