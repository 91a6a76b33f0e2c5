using System.Diagnostics;

namespace Fos.Integration.Tests;

/// <summary>
/// <c>fos run</c> as a user at a terminal has it: output as the program writes it, standard input
/// piped in, the program's exit status, and Ctrl+C that kills the program and nothing else.
/// </summary>
public sealed class RunTests : IAsyncLifetime
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-run-" + Guid.NewGuid().ToString("N")[..8]);
    private FosCommand? node;

    public async Task InitializeAsync()
    {
        node = FosCommand.Start("boot", "--headless", "--cores", "3", "--data", data);
        await node.WaitForLine("fos is up", FosCommand.Deadline);
    }

    /// <summary>tests/Fos.Integration.Tests/bin/CONFIG/net10.0/ → tests/Apps/NAME/bin/CONFIG/net10.0/NAME.dll, or a sample's.</summary>
    private static string App(string name, bool sample = false)
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        var (framework, configuration) = (bin.Name, bin.Parent!.Name);
        var tests = bin.Parent!.Parent!.Parent!.Parent!.FullName;
        return sample
            ? Path.Combine(Path.GetDirectoryName(tests)!, "samples", name, "bin", configuration, framework, name + ".dll")
            : Path.Combine(tests, "Apps", name, "bin", configuration, framework, name + ".dll");
    }

    [Fact]
    public async Task Standard_input_pipes_into_the_program_and_its_status_comes_back()
    {
        var grep = await FosCommand.Run(new FosCommand.Setup { Input = "apple\nbanana\navocado\n" }, "run", "--data", data, App("grep", sample: true), "^a");
        Assert.Equal(0, grep.ExitCode);
        Assert.Equal(["apple", "avocado"], grep.Stdout);
        var none = await FosCommand.Run(new FosCommand.Setup { Input = "banana\n" }, "run", "--data", data, App("grep", sample: true), "^a");
        Assert.Equal(1, none.ExitCode);
        var exit = await FosCommand.Run("run", "--data", data, App("hostile"), "exit", "42");
        Assert.Equal(42, exit.ExitCode);
    }

    [Fact]
    public async Task Megabytes_of_input_pass_through_whole_and_in_order()
    {
        // More than the node queues for a program: the client is held back, nothing is lost.
        var lines = Enumerable.Range(0, 65_536).Select(i => $"{i:D8} {new string('x', 54)}").ToList();
        var cat = await FosCommand.Run(new FosCommand.Setup { Input = string.Join('\n', lines) + "\n" }, "run", "--data", data, App("hostile"), "cat");
        Assert.Equal(0, cat.ExitCode);
        Assert.Equal(lines.Count, cat.Stdout.Count);
        Assert.Equal(lines, cat.Stdout);
    }

    [Fact]
    public async Task Output_arrives_as_the_program_writes_it()
    {
        await using var run = FosCommand.Start("run", "--data", data, App("hostile"), "print-slowly", "3", "1000");
        await run.WaitForLine("line 1", FosCommand.Deadline);
        var exit = run.WaitForExit(FosCommand.Deadline);
        Assert.False(exit.IsCompleted, "the first line came while the program still ran");
        Assert.Equal(0, await exit);
        Assert.Equal(["line 1", "line 2", "line 3"], run.Stdout);
    }

    [Fact]
    public async Task Ctrl_C_kills_the_program_and_only_it()
    {
        await using var run = FosCommand.Start(new FosCommand.Setup { KeepInputOpen = true }, "run", "--data", data, App("hostile"), "spin");
        await run.WaitForLine("spinning", FosCommand.Deadline);
        using (var signal = Process.Start("kill", ["-INT", run.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await signal.WaitForExitAsync();
        Assert.Equal(137, await run.WaitForExit(FosCommand.Deadline));
        var ps = await FosCommand.Run("shell", "--data", data, "-c", "ps");
        Assert.Contains(ps.Stdout, l => l.Contains("hostile", StringComparison.Ordinal) && l.Contains("killed", StringComparison.Ordinal));
        Assert.DoesNotContain(ps.Stdout, l => l.Contains("running", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        if (node is not null)
        {
            await FosCommand.Run("stop", "--data", data);
            await node.WaitForExit(FosCommand.Deadline);
            await node.DisposeAsync();
        }
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
