using Fos.Kernel;
using Fos.Protocols.Processes;

namespace Fos.Services.Processes;

/// <summary>
/// A running program, as a server on its core: it runs the entry point in the process's context,
/// and when the entry point returns, throws or is killed, it reports the end to the process-fleet
/// member that started it and stops. A program that throws ends with status 1 and its exception in
/// its error output; the core and the system go on.
/// </summary>
internal sealed class ApplicationHost(long pid, AppProgram program, string[] args, Endpoint parent) : Server
{
    private ProcessContext? context;

    public static ServerImage Image(long pid, AppProgram program, string[] args, Endpoint parent) =>
        new($"app:{program.Name} (pid {pid})", () => new ApplicationHost(pid, program, args, parent));

    protected override Task OnStart()
    {
        _ = Run();
        return Task.CompletedTask;
    }

    private async Task Run()
    {
        context = new ProcessContext(pid, program.Name, args);
        ProcessContext.Current = context;
        ProcState state;
        int code;
        try
        {
            code = await program.Main(args);
            state = ProcState.Exited;
        }
        catch (Exception) when (context.Killed)
        {
            (state, code) = (ProcState.Killed, 137);
        }
        catch (Exception ex)
        {
            (state, code) = (ProcState.Failed, 1);
            context.Error.WriteLine($"{program.Name}: unhandled {ex.GetType().Name}: {ex.Message}");
        }
        await Withdraw(context);
        try
        {
            await Kernel.Call(parent, new ProcEnded(pid, state, code, context.Out.ToString(), context.Error.ToString(), context.SystemCalls));
        }
        catch (FosException)
        {
            // The process member is gone: nobody is left to tell.
        }
        await Kernel.Stop(Endpoint);
    }

    protected override async ValueTask<object?> Handle(Message message) => message.Body switch
    {
        ProcKill => await Kill(),
        ProcCalls => context?.SystemCalls ?? 0L,
        _ => throw new FosException(FosError.BadRequest, "a program's host takes only kill and a count of its calls"),
    };

    private async Task<Ack> Kill()
    {
        if (context is null) return Ack.Instance;
        context.Killed = true;
        await Withdraw(context);
        return Ack.Instance;
    }

    /// <summary>The names a process registered are withdrawn and its mailboxes closed, so nobody calls into a dead process.</summary>
    private async Task Withdraw(ProcessContext process)
    {
        foreach (var (name, member) in process.Names.ToList())
        {
            try
            {
                await Kernel.Unregister(name, member);
            }
            catch (FosException)
            {
                // The name service is gone; the name dies with it.
            }
        }
        process.Names.Clear();
        foreach (var mailbox in process.Mailboxes) Kernel.CloseMailbox(mailbox.Address);
        process.Mailboxes.Clear();
    }
}
