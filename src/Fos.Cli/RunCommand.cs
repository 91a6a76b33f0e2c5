using System.CommandLine;
using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary><c>fos run app.dll args</c>: runs an application on the running node and exits with its status.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var app = new Argument<string>("app") { Description = "the application's .dll (built with dotnet build)" };
        var args = new Argument<string[]>("args") { Description = "arguments for the application", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("run", "Run a fos application on the running node and wait for it") { data, app, args };
        command.SetAction(async result =>
        {
            try
            {
                using var client = await NodeProtocol.Client.Connect(Path.GetFullPath(result.GetValue(data)!));
                var words = new[] { "run", Path.GetFullPath(result.GetValue(app)!) }.Concat(result.GetValue(args) ?? []);
                await using var stdout = Console.OpenStandardOutput();
                return await client.Run(string.Join(' ', words.Select(Quote)), stdout, Console.Error);
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"fos run: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>A word as sh reads it back: plain if it is safe so, else in single quotes (a quote inside as '\'').</summary>
    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+=:,@%".Contains(c, StringComparison.Ordinal)) ? word
        : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
