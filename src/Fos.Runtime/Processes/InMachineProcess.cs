using Fos.Kernel.Processes;

namespace Fos.Runtime.Processes;

/// <summary>
/// A program given as code, which only the system's own code can start (a test, a tool): it runs
/// on a process core of its own like any application, through the same channel, rings and codec,
/// but on a thread of the machine's process, since code cannot move into another one. It is
/// trusted: a kill stops its core's loop and fails its next system call, as it cannot be SIGKILLed.
/// </summary>
internal sealed class InMachineProcess : ApplicationProcess
{
    private readonly ProcessCoreHost host;
    private readonly ProcessContext context;
    private int ending;

    public InMachineProcess(Machine machine, RealCore starter, ProcessPort port, ProcessChannel channel, EventFd wake, FdChannel fds,
        ProcessLaunch launch, Func<string[], Task<int>> main, Action<ProcessStream, ReadOnlyMemory<byte>> output)
        : base(machine, starter, port, output)
    {
        host = new ProcessCoreHost(channel, wake, machine.CoreWakes, machine.SpinBeforePark, fds);
        context = new ProcessContext(launch.Pid, launch.Name, launch.Args,
            new ChunkWriter(bytes => Output(ProcessStream.Output, bytes)), new ChunkWriter(bytes => Output(ProcessStream.Error, bytes)));
        var thread = new Thread(() =>
        {
            ProcessEnd end;
            try
            {
                end = host.Run(() => ProgramHost.Run(context, main));
            }
            catch (Exception) when (context.Killed)
            {
                end = ProcessEnd.KilledNow;
            }
            catch (Exception ex)
            {
                end = new ProcessEnd(1, Killed: false, $"its core failed: {ex.GetType().Name}: {ex.Message}");
            }
            if (context.Killed) end = ProcessEnd.KilledNow;
            host.UnmapAll();
            fds.Dispose();
            if (Interlocked.Exchange(ref ending, 1) == 0) Finish(end);
        })
        { IsBackground = true, Name = $"fos {port.Core} ({launch.Name})" };
        thread.Start();
    }

    public override int HostPid => 0;

    public override void Kill()
    {
        context.Killed = true;
        host.Stop();
    }

    // A program given as code reads no standard input.
    public override Task WriteInput(ReadOnlyMemory<byte> data) => Task.CompletedTask;

    public override void CloseInput() { }
}
