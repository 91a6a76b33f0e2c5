using System.CommandLine;
using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary><c>fos stop</c>: asks a running node to shut down cleanly, and waits until it has.</summary>
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
                using (var client = await NodeProtocol.Client.Connect(directory))
                await using (var stdout = Console.OpenStandardOutput())
                    await client.Run("stop", stdout, Console.Error);
                // The node removes its socket as the last thing it does before its machine stops.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (File.Exists(NodeProtocol.SocketPath(directory)) && DateTime.UtcNow < deadline)
                    await Task.Delay(50);
                return 0;
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
