using System.CommandLine;

namespace Fos.Cli;

/// <summary>
/// <c>fos stop</c>: asks a running node to shut down cleanly, and returns once it has: its stores are
/// closed and its data directory is free for the next <c>fos boot</c>.
/// </summary>
internal static class StopCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var command = new Command("stop", "Stop a running fos node cleanly") { data };
        // The node answers once its machine has stopped and the data directory is free.
        command.SetAction(result => NodeCommand.RunOne(result.GetValue(data)!, "stop", "stop"));
        return command;
    }
}
