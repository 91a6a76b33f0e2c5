using Fos.Kernel;
using Fos.Kernel.Processes;

namespace Fos.Runtime.Processes;

/// <summary>
/// What both kinds of application process share on the machine's side: a process core and its
/// port, output delivered on the core that started the process, and an end that is reported there
/// only once every machine core has let go of the port, so the rings and the mapping are gone
/// before anyone hears the process ended.
/// </summary>
internal abstract class ApplicationProcess : ProcessHandle
{
    private readonly TaskCompletionSource<ProcessEnd> ended = new();
    private readonly Action<ProcessStream, ReadOnlyMemory<byte>> output;
    private ProcessEnd? end;
    private int finishing;

    protected ApplicationProcess(Machine machine, RealCore starter, ProcessPort port, Action<ProcessStream, ReadOnlyMemory<byte>> output)
    {
        Machine = machine;
        Starter = starter;
        Port = port;
        this.output = output;
        port.OnBroken = broken => Abort($"broke the rules of its ring: {broken.Broken}");
        // A machine that stops lets go of its ports before a running process's end is known: it was killed.
        port.OnReleased = () => starter.Inject(() => ended.TrySetResult(end ?? ProcessEnd.KilledNow));
    }

    protected Machine Machine { get; }

    protected RealCore Starter { get; }

    protected ProcessPort Port { get; }

    public override CoreId Core => Port.Core;

    public override Task<ProcessEnd> Ended => ended.Task;

    public override long MessagesSent => Port.Received;

    /// <summary>Why the machine ended the process itself (it broke a ring's rules), if it did.</summary>
    protected string? AbortReason { get; private set; }

    /// <summary>A task that completes on the starting core when <paramref name="work"/> does (failed: the process has ended).</summary>
    protected Task OnStarter(Task work)
    {
        if (work.IsCompletedSuccessfully) return work;
        var done = new TaskCompletionSource();
        work.ContinueWith(t => Starter.Inject(() =>
        {
            if (t.IsCompletedSuccessfully) done.TrySetResult();
            else done.TrySetException(new FosException(FosError.ServiceError, "EPIPE: the process has ended", "EPIPE"));
        }), TaskScheduler.Default);
        return done.Task;
    }

    /// <summary>Output of the process, handed to the starting core in order.</summary>
    protected void Output(ProcessStream stream, byte[] bytes) => Starter.Inject(() => output(stream, bytes));

    /// <summary>The machine ends a process that broke the rules of its channel.</summary>
    private void Abort(string reason)
    {
        AbortReason = reason;
        Kill();
    }

    /// <summary>The process is over: its port closes and every core lets go of it; then the end is told.</summary>
    protected void Finish(ProcessEnd processEnd)
    {
        if (Interlocked.Exchange(ref finishing, 1) != 0) return;
        end = AbortReason is { } reason ? new ProcessEnd(processEnd.ExitCode, Killed: false, $"ended by the machine: it {reason}") : processEnd;
        Machine.RemovePort(Port);
    }
}
