using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Fos.Kernel.Processes;

namespace Fos.Runtime.Processes;

/// <summary>
/// An application in a Linux process of its own: the application host (Fos.AppHost) runs its
/// program on the process core's kernel, joined to the machine only by its channel. Its standard
/// output and error are pipes read as they are written; a kill is SIGKILL to the whole tree; how
/// it ended comes from what it recorded in its channel, else from its exit status and the crash
/// report .NET printed.
/// </summary>
internal sealed class LinuxProcess : ApplicationProcess
{
    private static readonly string[] CrashReports = ["Unhandled exception.", "Process terminated.", "Stack overflow.", "Out of memory.", "Fatal error."];

    private readonly Process process;
    private readonly ProcessChannel channel;
    // At most this many writes wait for the process to read its input: past them the writer waits.
    private readonly Channel<ReadOnlyMemory<byte>?> input = System.Threading.Channels.Channel.CreateBounded<ReadOnlyMemory<byte>?>(16);
    private readonly StringBuilder crash = new();
    private volatile bool killed;
    private readonly Lock flow = new(); // one order of chunks and their positions, and the reader's
    private long produced;
    private long acknowledged = -1; // -1: nobody streams the output, so nothing holds it back
    private TaskCompletionSource caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="ready">For a warm host: completes once its "warm" marker has been read off its output, which is the program's from there on.</param>
    /// <param name="handover">For a warm host: the rest of its command line, the first bytes of its input.</param>
    public LinuxProcess(Machine machine, RealCore starter, ProcessPort port, ProcessChannel channel, Process process, Action<ProcessStream, ReadOnlyMemory<byte>> output,
        Task<bool>? ready, byte[]? handover)
        : base(machine, starter, port, output)
    {
        this.process = process;
        this.channel = channel;
        HostPid = process.Id;
        if (handover is not null) input.Writer.TryWrite(handover); // the channel is empty: this goes first
        var outputs = Task.WhenAll(Pump(process.StandardOutput.BaseStream, ProcessStream.Output, ready), Pump(process.StandardError.BaseStream, ProcessStream.Error, null));
        _ = FeedInput();
        _ = Watch(outputs);
    }

    public override int HostPid { get; }

    public override void Kill()
    {
        killed = true;
        Acknowledge(long.MaxValue); // a pump held back for a reader lets go: the process is ending
        Sandbox.End(process);
    }

    public override Task WriteInput(ReadOnlyMemory<byte> data) => OnStarter(input.Writer.WriteAsync(data).AsTask());

    public override void CloseInput() => _ = input.Writer.WriteAsync(null).AsTask().ContinueWith(_ => { }, TaskScheduler.Default);

    private async Task Pump(Stream from, ProcessStream stream, Task<bool>? after)
    {
        if (after is not null) await after;
        var buffer = new byte[64 << 10];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer)) > 0)
            {
                var chunk = buffer[..read];
                if (stream == ProcessStream.Error) NoteCrash(chunk);
                lock (flow)
                {
                    Output(stream, chunk);
                    produced += read;
                }
                await Behind();
            }
        }
        catch (IOException)
        {
            // The pipe broke with the process.
        }
    }

    public override void Acknowledge(long position)
    {
        TaskCompletionSource wake;
        lock (flow)
        {
            if (position <= acknowledged) return;
            acknowledged = position;
            wake = caughtUp;
            caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        wake.TrySetResult();
    }

    /// <summary>Holds the pipes' reading back while a streaming reader is more than a window behind.</summary>
    private async Task Behind()
    {
        while (true)
        {
            Task wait;
            lock (flow)
            {
                if (acknowledged < 0 || produced - acknowledged <= OutputWindow || killed) return;
                wait = caughtUp.Task;
            }
            await wait;
        }
    }

    private async Task FeedInput()
    {
        var stdin = process.StandardInput.BaseStream;
        try
        {
            await foreach (var data in input.Reader.ReadAllAsync())
            {
                if (data is not { } bytes) break;
                await stdin.WriteAsync(bytes);
                await stdin.FlushAsync();
            }
        }
        catch (IOException)
        {
            // The process stopped reading: what it did not take is lost, as with a pipe.
        }
        finally
        {
            try
            {
                stdin.Close();
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The first line of a crash report .NET writes to stderr before it aborts.</summary>
    private void NoteCrash(byte[] chunk)
    {
        lock (crash)
        {
            if (crash.Length > 0 && crash[^1] == '\0') return; // found already
            crash.Append(Encoding.UTF8.GetString(chunk));
            var text = crash.ToString();
            foreach (var line in text.Split('\n'))
            {
                var trimmed = line.Trim();
                if (!CrashReports.Any(r => trimmed.StartsWith(r, StringComparison.Ordinal))) continue;
                crash.Clear().Append(trimmed.Length > 300 ? trimmed[..300] : trimmed).Append('\0');
                return;
            }
            if (crash.Length > 8192) crash.Remove(0, crash.Length - 4096);
        }
    }

    private async Task Watch(Task outputs)
    {
        await process.WaitForExitAsync();
        await outputs; // everything it wrote is read before its end is told
        input.Writer.TryComplete();
        var status = process.ExitCode;
        var said = channel.ReadEnd();
        string? report;
        lock (crash) report = crash.Length > 0 && crash[^1] == '\0' ? crash.ToString(0, crash.Length - 1) : null;
        var end = killed ? ProcessEnd.KilledNow
            : said is { } record ? new ProcessEnd(record.ExitCode, Killed: false, record.Failure)
            : status >= 128 ? new ProcessEnd(status, Killed: false, $"crashed ({Signal(status - 128)}){(report is null ? "" : ": " + report)}")
            : new ProcessEnd(status, Killed: false, Failure: null); // it called exit itself
        process.Dispose();
        Finish(end);
    }

    private static string Signal(int number) => number switch
    {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => $"signal {number}",
    };
}
