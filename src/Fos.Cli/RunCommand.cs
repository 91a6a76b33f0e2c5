using System.CommandLine;
using System.Runtime.InteropServices;
using Fos.Cli.Node;

namespace Fos.Cli;

/// <summary>
/// <c>fos run [--machine M] app.dll args</c>: runs an application on the running node's cluster (on
/// machine M, else where the least busy application core is), its output printed as it
/// is written, this command's standard input as its input, Ctrl+C as a kill of that program (a
/// second one leaves at once), and exits with its status.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var data = DataOption.Create();
        var app = new Argument<string>("app") { Description = "the application's .dll (built with dotnet build)" };
        var args = new Argument<string[]>("args") { Description = "arguments for the application", Arity = ArgumentArity.ZeroOrMore };
        var machine = new Option<string?>("--machine", "-m") { Description = "the machine to run it on (m2, or 2); without it, the least busy machine of the cluster" };
        var command = new Command("run", "Run a fos application on the running node and wait for it") { data, machine, app, args };
        command.SetAction(async result =>
        {
            try
            {
                using var client = await NodeProtocol.Client.Connect(Path.GetFullPath(result.GetValue(data)!));
                var on = result.GetValue(machine) is { } m ? new[] { "--machine", m } : [];
                var words = new[] { "run" }.Concat(on).Append(Path.GetFullPath(result.GetValue(app)!)).Concat(result.GetValue(args) ?? []);
                await using var stdout = Console.OpenStandardOutput();
                await using var stdin = Console.OpenStandardInput();
                using var interrupt = new CancellationTokenSource();
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
                {
                    context.Cancel = !interrupt.IsCancellationRequested; // the second Ctrl+C ends fos run itself
                    interrupt.Cancel();
                });
                return await client.Run(string.Join(' ', words.Select(Quote)), stdout, Console.Error, stdin, interrupt.Token);
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
