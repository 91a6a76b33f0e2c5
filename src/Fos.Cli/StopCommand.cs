using System.CommandLine;
using Fos.Cli.Node;

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
        command.SetAction(async result =>
        {
            var directory = Path.GetFullPath(result.GetValue(data)!);
            try
            {
                // The node answers once its machine has stopped and the data directory is free.
                using var client = await NodeProtocol.Client.Connect(directory);
                await using var stdout = Console.OpenStandardOutput();
                return await client.Run("stop", stdout, Console.Error);
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"fos stop: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
