using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary>What the one-line node commands (stop, status) share: send one command line to the running node, print its answer, exit with its status.</summary>
internal static class NodeCommand
{
    public static async Task<int> RunOne(string dataDirectory, string command, string line)
    {
        try
        {
            using var client = await NodeProtocol.Client.Connect(Path.GetFullPath(dataDirectory));
            await using var stdout = Console.OpenStandardOutput();
            return await client.Run(line, stdout, Console.Error);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"fos {command}: {ex.Message}");
            return 1;
        }
    }
}
