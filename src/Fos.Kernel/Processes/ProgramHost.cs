namespace Fos.Kernel.Processes;

/// <summary>
/// Runs a program's asynchronous Main on its process core's loop: the one piece of code every way
/// of running an application shares (a Linux process of its own, a process core inside the
/// machine, a simulated core). A Main that throws ends the process as failed, with the exception
/// in its error output; a killed one ends with 137, as a shell reports SIGKILL.
/// </summary>
public static class ProgramHost
{
    public static async Task<ProcessEnd> Run(ProcessContext context, Func<string[], Task<int>> main)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(main);
        ProcessContext.Current = context;
        try
        {
            var code = await main(context.Args);
            return context.Killed ? ProcessEnd.KilledNow : new ProcessEnd(code, Killed: false, Failure: null);
        }
        catch (Exception) when (context.Killed)
        {
            return ProcessEnd.KilledNow;
        }
        catch (Exception ex)
        {
            var failure = $"unhandled {ex.GetType().Name}: {ex.Message}";
            context.Error.WriteLine($"{context.Name}: {failure}");
            return new ProcessEnd(1, Killed: false, failure);
        }
        finally
        {
            // Synchronously: a TextWriter's async flush runs on the thread pool, off the core's loop.
            context.Out.Flush();
            context.Error.Flush();
        }
    }
}
