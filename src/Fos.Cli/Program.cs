using System.CommandLine;
using Fos.Cli;

var root = new RootCommand("fos — the factored operating system for manycores and clouds")
{
    BootCommand.Create(),
    ShellCommand.Create(),
    RunCommand.Create(),
    StopCommand.Create(),
    FsckCommand.Create(),
    SimCommand.Create(),
    BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
