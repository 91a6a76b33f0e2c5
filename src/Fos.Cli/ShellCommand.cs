using System.CommandLine;
using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary>
/// <c>fos shell</c>: attaches to a running node through its data directory. With <c>-c</c> it runs
/// the commands (separated by ';') and exits with the last one's status; without, it reads
/// commands until exit or end of input.
/// </summary>
internal static class ShellCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var script = new Option<string?>("-c") { Description = "commands to run, separated by ';' (then exit with the last one's status)" };
        var command = new Command("shell", "Attach a shell to a running fos node") { data, script };
        command.SetAction(async result =>
        {
            try
            {
                using var client = await NodeProtocol.Client.Connect(Path.GetFullPath(result.GetValue(data)!));
                await using var stdout = Console.OpenStandardOutput(); // bytes as the node sent them: cat of a binary file stays exact
                if (result.GetValue(script) is { } commands)
                {
                    var status = 0;
                    foreach (var line in Shell.Commands(commands))
                        if (!string.IsNullOrWhiteSpace(line)) status = await client.Run(line, stdout, Console.Error);
                    return status;
                }
                var interactive = !Console.IsInputRedirected;
                while (true)
                {
                    if (interactive) Console.Write("fos> ");
                    var line = await Console.In.ReadLineAsync();
                    if (line is null || line.Trim() is "exit" or "quit") return 0;
                    foreach (var one in Shell.Commands(line))
                        if (!string.IsNullOrWhiteSpace(one)) await client.Run(one, stdout, Console.Error);
                }
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"fos shell: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
