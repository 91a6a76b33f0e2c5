using System.CommandLine;

namespace Fos.Cli;

/// <summary><c>fos status</c>: the running node's machine and every machine of its cluster, as its links see them.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var command = new Command("status", "Show this machine and every machine of its cluster: address, link state, round trip") { data };
        command.SetAction(result => NodeCommand.RunOne(result.GetValue(data)!, "status", "status"));
        return command;
    }
}
