using System.CommandLine;
using Fos.Scenarios;

namespace Fos.Cli;

/// <summary><c>fos sim</c>: runs a scenario in the deterministic simulator; the last line is the trace digest.</summary>
internal static class SimCommand
{
    public static Command Create()
    {
        var seed = new Option<ulong>("--seed")
        {
            Description = "fixes every choice of the run; the same seed gives the same trace",
            DefaultValueFactory = _ => 1,
        };
        var scenario = new Option<string>("--scenario")
        {
            Description = $"what to run: {string.Join(", ", SimScenarios.All.Select(s => s.Name))}",
            DefaultValueFactory = _ => "pingpong",
        };
        scenario.AcceptOnlyFromAmong([.. SimScenarios.All.Select(s => s.Name)]);
        var verbose = new Option<bool>("--verbose") { Description = "print every delivered message" };
        var list = new Option<bool>("--list") { Description = "list the scenarios and exit" };
        var command = new Command("sim", "Run a scenario in the deterministic simulator and print its trace digest")
        {
            seed,
            scenario,
            verbose,
            list,
        };
        command.SetAction(async result =>
        {
            if (result.GetValue(list))
            {
                foreach (var s in SimScenarios.All) Console.WriteLine($"{s.Name,-10} {s.Description}");
                return 0;
            }
            var chosen = SimScenarios.Find(result.GetValue(scenario)!);
            var run = await chosen.Run(result.GetValue(seed), keepLog: result.GetValue(verbose));
            foreach (var line in run.Log) Console.WriteLine(line);
            Console.WriteLine($"scenario {run.Scenario}, seed {run.Seed}: {chosen.Description}");
            Console.WriteLine(run.Summary);
            Console.WriteLine($"{run.Delivered} messages delivered in {run.VirtualTime.TotalMilliseconds:0.###} ms of virtual time");
            foreach (var fault in run.Faults) Console.WriteLine($"fault: {fault}");
            Console.WriteLine($"trace {run.TraceDigest}");
            return 0;
        });
        return command;
    }
}
