using Fos.Kernel;
using Fos.Kernel.Processes;

namespace Fos.Simulation;

/// <summary>
/// An application process in the simulator: a program given as code, on a simulated process core
/// of its own, run by the same <see cref="ProgramHost"/> as a real one. Its output and its end reach
/// the core that started it as events in virtual time, like any message; a kill ends it at once
/// (its core dies), so nothing it would still do happens.
/// </summary>
internal sealed class SimProcess : ProcessHandle
{
    private readonly SimulatedSystem system;
    private readonly SimCore core;
    private readonly SimCore starter;
    private readonly ProcessContext context;
    private readonly TaskCompletionSource<ProcessEnd> ended = new();
    private readonly Action<ProcessStream, ReadOnlyMemory<byte>> output;
    private bool over;

    public SimProcess(SimulatedSystem system, SimCore core, SimCore starter, ProcessLaunch launch, Action<ProcessStream, ReadOnlyMemory<byte>> output)
    {
        this.system = system;
        this.core = core;
        this.starter = starter;
        this.output = output;
        context = new ProcessContext(launch.Pid, launch.Name, launch.Args, new ChunkWriter(bytes => Written(ProcessStream.Output, bytes)),
            new ChunkWriter(bytes => Written(ProcessStream.Error, bytes)));
    }

    public override CoreId Core => core.Core;

    public override int HostPid => 0;

    public override Task<ProcessEnd> Ended => ended.Task;

    public override long MessagesSent => core.Sent;

    /// <summary>Runs the program on its core (called there).</summary>
    public async Task Run(Func<string[], Task<int>> main)
    {
        var end = await ProgramHost.Run(context, main);
        End(end);
    }

    public override void Kill()
    {
        context.Killed = true;
        End(ProcessEnd.KilledNow);
    }

    private void End(ProcessEnd end)
    {
        if (over) return;
        over = true;
        system.RemoveProcessCore(core);
        system.After(starter, TimeSpan.Zero, () => ended.TrySetResult(end));
    }

    /// <summary>Each write reaches the starter as a chunk, in order, while the process lives.</summary>
    private void Written(ProcessStream stream, byte[] bytes)
    {
        if (!over) system.After(starter, TimeSpan.Zero, () => output(stream, bytes));
    }

    // A program started as code has no standard input to read.
    public override Task WriteInput(ReadOnlyMemory<byte> data) => Task.CompletedTask;

    public override void CloseInput() { }
}
