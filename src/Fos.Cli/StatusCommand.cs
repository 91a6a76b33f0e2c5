using System.CommandLine;
using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary><c>fos status</c>: the running node's machine and every machine of its cluster, as its links see them.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var command = new Command("status", "Show this machine and every machine of its cluster: address, link state, round trip") { data };
        command.SetAction(async result =>
        {
            try
            {
                using var client = await NodeProtocol.Client.Connect(Path.GetFullPath(result.GetValue(data)!));
                await using var stdout = Console.OpenStandardOutput();
                return await client.Run("status", stdout, Console.Error);
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"fos status: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
