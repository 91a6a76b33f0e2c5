using System.CommandLine;
using Fos.Cli;

var root = new RootCommand("fos — the factored operating system for manycores and clouds")
{
    BootCommand.Create(),
    ShellCommand.Create(),
    RunCommand.Create(),
    StopCommand.Create(),
    StatusCommand.Create(),
    ClusterCommand.Create(),
    FsckCommand.Create(),
    SimCommand.Create(),
    BenchCommand.Create(),
};
// No forced exit on Ctrl+C or SIGTERM: boot stops its node cleanly on those signals itself (a second
// one ends the process), and the other commands end at once as any program does.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
