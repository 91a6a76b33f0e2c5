// The application host: one fos application in a Linux process of its own. The machine starts it
// (in a sandbox where the host can make one) with the fds of its channel and eventfds; it maps
// the channel, runs a kernel for the process's core on this thread, runs the program's async Main
// on that kernel's loop, records how it ended in the channel, and exits with its status. A warm
// host (--warm) is started before its program is known: it loads what every program needs, says
// so on its output, and reads the rest of its command line from its input.
using Fos.AppHost;
using Fos.Kernel.Processes;
using Fos.Runtime;
using Fos.Runtime.Processes;

HostArguments options;
try
{
    if (args.Contains("--warm")) args = [.. args, .. WarmUp.ThenWaitForProgram()];
    options = HostArguments.Parse(args);
}
catch (EndOfStreamException)
{
    return 0; // let go before it was given a program
}
catch (Exception ex) when (ex is FormatException or InvalidDataException)
{
    Console.Error.WriteLine($"fos-apphost: {ex.Message}");
    Console.Error.WriteLine("the application host is started by a fos machine (fos run app.dll), not by hand");
    return 2;
}

using var channel = ProcessChannel.Open(options.Channel);
if (options.Cpu >= 0) Affinity.PinCurrentThread(options.Cpu);
if (options.Memory > 0) ResourceLimits.LimitMemory(options.Memory); // before any of the program's code
Func<string[], Task<int>> main;
try
{
    main = AssemblyProgram.Load(options.Program);
}
catch (CannotStart ex)
{
    Console.Error.WriteLine($"{options.Name}: {ex.Message}");
    channel.WriteEnd(127, ex.Message);
    return 127;
}
var host = new ProcessCoreHost(channel, EventFd.FromFd(options.Wake), [.. options.CoreWakes.Select(EventFd.FromFd)], options.SpinBeforePark,
    FdChannel.FromFd(options.Fds));
// Standard input read asynchronously (the console's own reader would block the core's loop).
var input = new StreamReader(Console.OpenStandardInput(), System.Text.Encoding.UTF8);
var context = new ProcessContext(channel.Pid, options.Name, options.Arguments, Console.Out, Console.Error, input);
ProcessContext.ProcessWide = context; // this process runs one program: no context need flow with its awaits
var end = host.Run(() => ProgramHost.Run(context, main));
channel.WriteEnd(end.ExitCode, end.Failure);
Console.Out.Flush();
Console.Error.Flush();
return end.ExitCode;
