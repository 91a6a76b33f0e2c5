namespace Fos.Integration.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix modes and signals
public sealed class BootTests : IDisposable
{
    private readonly string data = Path.Combine(Path.GetTempPath(), "fos-boot-" + Guid.NewGuid().ToString("N")[..8]);

    private readonly string runtime = Path.Combine(Path.GetTempPath(), "fos-run-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        if (File.Exists(data)) File.Delete(data);
        if (Directory.Exists(runtime)) Directory.Delete(runtime, recursive: true);
    }

    /// <summary>fos with its sockets under this test's own runtime directory.</summary>
    private FosCommand.Setup InRuntime(bool keepInputOpen = false)
    {
        Directory.CreateDirectory(runtime);
        return new()
        {
            Environment = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime },
            KeepInputOpen = keepInputOpen,
        };
    }

    private static async Task AssertBootFails(FosCommand.Setup setup, string data, string says)
    {
        var (code, stdout, stderr) = await FosCommand.Run(setup, "boot", "--headless", "--cores", "1", "--data", data);
        Assert.Equal(1, code);
        FosCommand.AssertOneClearLine(stderr, "boot", says);
        Assert.DoesNotContain(stdout, l => l.Contains("fos is up", StringComparison.Ordinal));
    }

    [Fact]
    public Task Boot_on_a_data_directory_that_cannot_be_created_says_so() =>
        AssertBootFails(new(), "/proc/nope", "cannot create the data directory /proc/nope");

    [Fact]
    public async Task Boot_on_a_data_directory_that_is_a_file_says_so_and_leaves_the_file_alone()
    {
        await File.WriteAllTextAsync(data, "mine");
        await AssertBootFails(new(), data, "is a file, not a directory");
        Assert.Equal("mine", await File.ReadAllTextAsync(data));
    }

    [Fact]
    public async Task Boot_on_a_data_directory_it_cannot_write_says_so()
    {
        Directory.CreateDirectory(data);
        if (FosCommand.CanRunAsAnotherUser)
        {
            // Root writes anywhere: the directory is root's, and fos runs as nobody.
            File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            await AssertBootFails(new() { AsUser = FosCommand.Nobody }, data, $"cannot write in the data directory {data} (permission denied)");
        }
        else
        {
            File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            await AssertBootFails(new(), data, $"cannot write in the data directory {data} (permission denied)");
        }
    }

    [Fact]
    public async Task Boot_where_the_socket_directory_cannot_be_made_says_so()
    {
        Directory.CreateDirectory(runtime);
        await File.WriteAllTextAsync(Path.Combine(runtime, "fos"), "in the way");
        await AssertBootFails(InRuntime(), data, $"cannot create the socket directory {runtime}/fos");
        Assert.False(File.Exists(Path.Combine(data, "fos.sock.path")));
    }

    [Fact]
    public async Task Boot_refuses_a_socket_directory_others_may_enter()
    {
        var socketDirectory = Path.Combine(runtime, "fos");
        Directory.CreateDirectory(socketDirectory);
        File.SetUnixFileMode(socketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        await AssertBootFails(InRuntime(), data, "is open to group or others (mode 707)");
    }

    [Fact]
    public async Task Boot_refuses_a_socket_directory_someone_else_owns()
    {
        if (!FosCommand.CanRunAsAnotherUser) return; // only root can give a directory away
        var socketDirectory = Path.Combine(runtime, "fos");
        Directory.CreateDirectory(socketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using (var chown = System.Diagnostics.Process.Start("chown", [FosCommand.Nobody.ToString(System.Globalization.CultureInfo.InvariantCulture), socketDirectory]))
            await chown.WaitForExitAsync();
        await AssertBootFails(InRuntime(), data, $"belongs to uid {FosCommand.Nobody}");
    }

    [Fact]
    public async Task Ctrl_c_at_the_interactive_prompt_stops_the_node_cleanly()
    {
        await using var fos = FosCommand.Start(InRuntime(keepInputOpen: true), "boot", "--cores", "2", "--data", data);
        await fos.WaitForLine("fos is up", FosCommand.Deadline);
        fos.Signal(FosCommand.SigInt);
        Assert.Equal(0, await fos.WaitForExit(FosCommand.Deadline));
        Assert.Contains(fos.Stdout, l => l.Contains("fos stopped", StringComparison.Ordinal));
        Assert.Equal("", fos.Stderr);
        // The stores were closed and the lock released: the next boot starts at once.
        await using var again = FosCommand.Start(InRuntime(), "boot", "--headless", "--cores", "1", "--data", data);
        await again.WaitForLine("fos is up", FosCommand.Deadline);
        again.Signal(FosCommand.SigTerm);
        Assert.Equal(0, await again.WaitForExit(FosCommand.Deadline));
    }

    [Fact]
    public async Task Boot_opens_a_shell_that_runs_what_is_typed_and_stops_at_exit()
    {
        await using var fos = FosCommand.StartWithInput("mkdir /typed\nls /\nfleets\nexit\n", "boot", "--data", data);
        Assert.Equal(0, await fos.WaitForExit(FosCommand.Deadline));
        var output = fos.Stdout;
        Assert.Contains(output, l => l.Contains("fos is up", StringComparison.Ordinal));
        Assert.Contains("typed/", output);
        Assert.Contains(output, l => l.StartsWith("/sys/fs", StringComparison.Ordinal));
        Assert.Contains(output, l => l.Contains("fos stopped", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(FosCommand.SigTerm)]
    [InlineData(FosCommand.SigInt)]
    public async Task Boot_prints_the_layout_stays_up_and_stops_cleanly_on_a_signal(int signal)
    {
        await using var fos = FosCommand.Start("boot", "--headless", "--cores", "2", "--data", data);
        await fos.WaitForLine("fos is up", FosCommand.Deadline);
        var layout = fos.Stdout;
        Assert.Contains(layout, l => l.Contains("name-server", StringComparison.Ordinal) && l.Contains("m1.c0", StringComparison.Ordinal));
        Assert.Contains(layout, l => l.Contains("fos machine m1", StringComparison.Ordinal));

        fos.Signal(signal);
        Assert.Equal(0, await fos.WaitForExit(FosCommand.Deadline));
        Assert.Contains(fos.Stdout, l => l.Contains("fos stopped", StringComparison.Ordinal));
        Assert.Equal("", fos.Stderr);
    }

    [Fact]
    public async Task Boot_with_more_cores_than_cpus_runs_oversubscribed_and_says_so()
    {
        var cores = (Environment.ProcessorCount * 4).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var fos = FosCommand.Start("boot", "--headless", "--cores", cores, "--data", data);
        await fos.WaitForLine("fos is up", FosCommand.Deadline);
        Assert.Contains(fos.Stdout, l => l.Contains("oversubscribed", StringComparison.Ordinal));
        Assert.Contains(fos.Stdout, l => l.Contains($"m1.c{Environment.ProcessorCount * 4 - 1}", StringComparison.Ordinal));
        fos.Signal(FosCommand.SigTerm);
        Assert.Equal(0, await fos.WaitForExit(FosCommand.Deadline));
    }

    [Theory]
    [InlineData("--cores", "0", "--cores must be between 1 and")]
    [InlineData("--cores", "lots", "lots")]
    [InlineData("--machine", "70000", "--machine must be between 1 and 65535")]
    [InlineData("--spin-us", "-5", "--spin-us must be between 0 and")]
    [InlineData("--frobnicate", "1", "--frobnicate")]
    [InlineData("--data", "", "--data must name a directory")]
    [InlineData("--engine", "floppy", "floppy")]
    [InlineData("--fs-quota-mb", "0", "--fs-quota-mb must be between 1 and")]
    public async Task Boot_with_bad_options_exits_nonzero_and_says_what_is_wrong(string option, string value, string says)
    {
        string[] args = option == "--data" ? ["boot", "--headless", option, value] : ["boot", "--headless", "--data", data, option, value];
        var (code, stdout, stderr) = await FosCommand.Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(says, stderr + string.Join('\n', stdout), StringComparison.Ordinal);
        Assert.DoesNotContain(stdout, l => l.Contains("fos is up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_command_exits_nonzero_and_points_at_help()
    {
        var (code, stdout, stderr) = await FosCommand.Run("frobnicate");
        Assert.NotEqual(0, code);
        Assert.Contains("frobnicate", stderr + string.Join('\n', stdout), StringComparison.Ordinal);
    }
}
